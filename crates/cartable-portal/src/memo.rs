//! Memoized theme renders: a streamed page's chrome (head, banner, tabs, footer) and each
//! window's frame (title bar, controls) are pure functions of their template values, and
//! those values repeat from one page to the next. Rendering them through minijinja on
//! every page was most of a page's cost; here each distinct value is rendered once.
//!
//! A render is kept as [`Segments`]: text around two holes filled per page, the session's
//! CSRF token and (in a window frame) the portlet's markup. Templates are rendered with a
//! per-process placeholder in each hole, so a kept render never holds anyone's token. A
//! lookup compares the whole key, not only its hash: a hit is exactly the render the
//! template would give. Keys are the values written out (`key_of`), so a lookup
//! hashes and compares flat text.
//!
//! The key of a window frame is what determines the window's value (its caller writes it
//! out, so the value is only built on a miss) and only the page values the theme's
//! `window.html` reads (minijinja lists a template's undeclared variables), so frames are
//! shared between users; a `window.html` that includes or imports other templates is keyed on every page
//! value. `t` (the UI strings) is keyed by `lang`, which determines it.
//!
//! The page chrome is shared between users too: the user's name and profiles (the only
//! values of a page that are the user's own) are holes like the CSRF token, filled with
//! her values, escaped as the template would. A theme may do more with them than print
//! them (a filter, a test): the first render of each chrome is therefore checked against
//! a render with the real values, and if they differ the memo keys every later chrome on
//! the user's values instead (one render kept per user, as before this sharing).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use minijinja::Value;
use minijinja::value::ValueKind;

use crate::theme::{Theme, ThemeError};

/// Bytes of kept renders per memo before it is emptied. Chromes are shared between users
/// (one per tab bar, language and page), so this holds thousands; a theme that keeps them
/// per user (see the module's doc) fits some 5,000 users' pages of ~3 kB and their keys.
const BUDGET: usize = 24 * 1024 * 1024;

/// One piece of a kept render.
#[derive(Debug, Clone)]
enum Segment {
    Text(Bytes),
    Csrf,
    Markup,
    /// The user's own value number `n` (see [`PERSONAL`]), escaped.
    Personal(usize),
}

/// The user's values that are holes in a kept page chrome, by their place in `user`.
const PERSONAL: [&str; 2] = ["name", "profiles"];

/// A render with its holes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segments {
    parts: Vec<Segment>,
    len: usize,
}

impl Segments {
    /// Split `html` at every placeholder of `holes`.
    fn parse(html: &str, holes: &[(&str, Segment)]) -> Self {
        let mut parts = Vec::new();
        let mut rest = html;
        loop {
            let next = holes
                .iter()
                .filter_map(|(placeholder, hole)| {
                    rest.find(placeholder)
                        .map(|at| (at, placeholder.len(), hole))
                })
                .min_by_key(|(at, _, _)| *at);
            let Some((at, len, hole)) = next else {
                if !rest.is_empty() {
                    parts.push(Segment::Text(Bytes::copy_from_slice(rest.as_bytes())));
                }
                break;
            };
            if at > 0 {
                parts.push(Segment::Text(Bytes::copy_from_slice(
                    &rest.as_bytes()[..at],
                )));
            }
            parts.push(hole.clone());
            rest = &rest[at + len..];
        }
        Segments {
            parts,
            len: html.len(),
        }
    }

    /// Append the render with the holes filled (a window frame has no personal holes).
    pub fn write(&self, out: &mut Vec<u8>, csrf: &str, markup: &str) {
        self.write_with(out, csrf, markup, &[]);
    }

    /// Append the render with the holes filled, `personal` in the user's holes.
    pub fn write_with(&self, out: &mut Vec<u8>, csrf: &str, markup: &str, personal: &[String]) {
        for part in &self.parts {
            match part {
                Segment::Text(t) => out.extend_from_slice(t),
                Segment::Csrf => out.extend_from_slice(csrf.as_bytes()),
                Segment::Markup => out.extend_from_slice(markup.as_bytes()),
                Segment::Personal(n) => {
                    out.extend_from_slice(personal.get(*n).map_or("", String::as_str).as_bytes())
                }
            }
        }
    }

    /// The render split where `marker` text occurs (a streamed page's window places);
    /// holes are kept in whichever piece they fall.
    pub fn split_text(&self, marker: &str) -> Vec<Segments> {
        let mut pieces = vec![Segments::default()];
        for part in &self.parts {
            let Segment::Text(text) = part else {
                if let Some(last) = pieces.last_mut() {
                    last.parts.push(part.clone());
                }
                continue;
            };
            let text = std::str::from_utf8(text).unwrap_or_default();
            let mut chunks = text.split(marker);
            if let Some(first) = chunks.next()
                && let Some(last) = pieces.last_mut()
                && !first.is_empty()
            {
                last.len += first.len();
                last.parts
                    .push(Segment::Text(Bytes::copy_from_slice(first.as_bytes())));
            }
            for chunk in chunks {
                let mut piece = Segments::default();
                if !chunk.is_empty() {
                    piece.len = chunk.len();
                    piece
                        .parts
                        .push(Segment::Text(Bytes::copy_from_slice(chunk.as_bytes())));
                }
                pieces.push(piece);
            }
        }
        pieces
    }

    /// About how many bytes a filled render takes.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// The memo's hasher: foldhash, randomly seeded per process, not std's SipHash. Keys
/// are long texts (a chrome's key holds every value of the page) and SipHash over them
/// was 16,000 instructions a page. Part of a key comes from the request (a window's
/// parameters), so it must not be easy to aim collisions at: foldhash's seed is random and
/// never shown, a lookup compares whole keys, and the map is emptied at [`BUDGET`], so
/// even keys that did collide would cost a bounded scan, not a growing one.
type KeyHasher = foldhash::fast::RandomState;

/// Kept renders by key.
type ByKey<V> = HashMap<String, Arc<V>, KeyHasher>;

/// Renders kept by key, and how many bytes they hold.
#[derive(Debug)]
struct Kept<V> {
    entries: Mutex<(ByKey<V>, usize)>,
}

impl<V> Kept<V> {
    fn new() -> Self {
        Kept {
            entries: Mutex::new((HashMap::default(), 0)),
        }
    }

    /// The render kept for `key`, or `render`'s (a value, its size in bytes, and whether
    /// it may be kept), kept.
    fn get_or_render(
        &self,
        key: String,
        render: impl FnOnce() -> Result<(V, usize, bool), ThemeError>,
    ) -> Result<Arc<V>, ThemeError> {
        if let Some(hit) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let (rendered, len, keep) = render()?;
        let rendered = Arc::new(rendered);
        if !keep {
            return Ok(rendered);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (map, bytes) = &mut *entries;
        let size = len + key.len();
        if *bytes + size > BUDGET {
            map.clear();
            *bytes = 0;
        }
        *bytes += size;
        map.insert(key, rendered.clone());
        Ok(rendered)
    }
}

/// Append a template value to a key, unambiguously: every string is length-prefixed,
/// every kind tagged. Safe and plain strings are not told apart: the portal's code, not
/// the data, decides which fields are safe.
fn key_of(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v.kind() {
        ValueKind::Undefined => out.push('u'),
        ValueKind::None => out.push('n'),
        ValueKind::Bool => out.push(if v.is_true() { 'T' } else { 'F' }),
        ValueKind::String => {
            out.push('s');
            push_text(out, v.as_str().unwrap_or_default());
        }
        ValueKind::Number => {
            let _ = write!(out, "d{v};");
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    key_of(out, &k);
                    key_of(out, &v.get_item(&k).unwrap_or_default());
                }
            }
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(items) = v.try_iter() {
                for item in items {
                    key_of(out, &item);
                }
            }
            out.push(']');
        }
        // Not made by the portal: keyed by its text, tagged apart.
        _ => {
            out.push('o');
            push_text(out, &v.to_string());
        }
    }
}

/// Append `text` to a key, prefixed by its length (`5:hello`), so that no text can be
/// read as the end of another. Called for every string of every key: the length is
/// written without `fmt`.
pub(crate) fn push_text(out: &mut String, text: &str) {
    out.push_str(itoa::Buffer::new().format(text.len()));
    out.push(':');
    out.push_str(text);
}

/// Append named values to a key.
fn key_of_fields<'a>(
    out: &mut String,
    fields: impl Iterator<Item = (&'a &'static str, &'a Value)>,
) {
    for (name, value) in fields {
        out.push_str(name);
        out.push('=');
        key_of(out, value);
    }
}

/// The theme renders of streamed pages, kept by their values.
#[derive(Debug)]
pub(crate) struct Memo {
    csrf: String,
    markup: String,
    /// The page values `window.html` reads, or `None` when it may read any.
    window_globals: Option<Vec<String>>,
    pages: Kept<Vec<Segments>>,
    windows: Kept<Segments>,
    /// The placeholders of the user's values in a shared chrome, as in [`PERSONAL`].
    personal: [String; 2],
    /// The theme does more with the user's values than print them: chromes are kept
    /// per user.
    per_user: AtomicBool,
}

/// A page's chrome from the memo, and the user's values that fill its holes.
#[derive(Debug)]
pub(crate) struct Chrome {
    /// The chrome, in pieces split where the windows go.
    pub pieces: Arc<Vec<Segments>>,
    /// The user's escaped values, for [`Segments::write_with`].
    pub personal: Vec<String>,
}

impl Memo {
    /// A memo for `theme`.
    pub fn new(theme: &Theme) -> Self {
        let token = cartable_socle::random_token();
        Memo {
            csrf: format!("cartable-memo-csrf-{token}"),
            markup: format!("<!--cartable-memo-markup-{token}-->"),
            window_globals: theme.variables_of("window.html"),
            pages: Kept::new(),
            windows: Kept::new(),
            personal: PERSONAL.map(|field| format!("cartable-memo-user-{field}-{token}")),
            per_user: AtomicBool::new(false),
        }
    }

    /// The page chrome for `ctx` (the values of `page.html`, the CSRF token included),
    /// in pieces split where `marker` is (a streamed page's window places).
    pub fn page(
        &self,
        theme: &Theme,
        mut ctx: BTreeMap<&'static str, Value>,
        marker: &str,
    ) -> Result<Chrome, ThemeError> {
        ctx.insert("csrf", Value::from(self.csrf.as_str()));
        // The user's values, when the chrome is shared: escaped as minijinja would.
        let own: Option<Vec<String>> = match ctx.get("user") {
            Some(user) if !self.per_user.load(Ordering::Relaxed) => PERSONAL
                .iter()
                .map(|field| {
                    let v = user.get_attr(field).ok()?;
                    Some(minijinja::HtmlEscape(v.as_str()?).to_string())
                })
                .collect(),
            _ => None,
        };
        let real_user = match own {
            Some(_) => {
                let placeholders = PERSONAL
                    .iter()
                    .zip(&self.personal)
                    .map(|(field, p)| (*field, Value::from(p.as_str())));
                ctx.insert("user", Value::from_pairs(placeholders))
            }
            None => None,
        };
        let mut key = String::with_capacity(1024);
        key_of_fields(&mut key, ctx.iter().filter(|(k, _)| **k != "t"));
        let mut holes = vec![
            (self.csrf.as_str(), Segment::Csrf),
            (self.markup.as_str(), Segment::Markup),
        ];
        if own.is_some() {
            holes.extend(
                self.personal
                    .iter()
                    .enumerate()
                    .map(|(n, p)| (p.as_str(), Segment::Personal(n))),
            );
        }
        let personal = own.clone().unwrap_or_default();
        let pieces = self.pages.get_or_render(key, || {
            let html = theme.render("page.html", Value::from_pairs(ctx.clone()))?;
            let len = html.len();
            let segments = Segments::parse(&html, &holes);
            if let (Some(own), Some(user)) = (&own, real_user) {
                // Kept for every user only if it is exactly this user's page.
                ctx.insert("user", user);
                let real = theme.render("page.html", Value::from_pairs(ctx))?;
                let mut filled = Vec::with_capacity(real.len());
                segments.write_with(&mut filled, &self.csrf, &self.markup, own);
                if filled != real.as_bytes() {
                    tracing::debug!(
                        "the theme's page.html transforms the user's values: chromes kept per user"
                    );
                    self.per_user.store(true, Ordering::Relaxed);
                    let holes = &holes[..2];
                    return Ok((Segments::parse(&real, holes).split_text(marker), len, false));
                }
            }
            Ok((segments.split_text(marker), len, true))
        })?;
        Ok(Chrome { pieces, personal })
    }

    /// What every window frame's key of a page starts with: the page values
    /// `window.html` reads, written out once per page rather than once per window.
    pub fn window_scope(&self, globals: &BTreeMap<&'static str, Value>) -> String {
        let read = |k: &str| match &self.window_globals {
            Some(names) => names.iter().any(|n| n == k || (k == "lang" && n == "t")),
            None => true,
        };
        let mut key = String::with_capacity(256);
        key_of_fields(
            &mut key,
            globals
                .iter()
                .filter(|(k, _)| **k != "t" && **k != "csrf" && read(k)),
        );
        key.push_str("w=");
        key
    }

    /// The frame of one window. `inputs` determines the window's value `w` (its markup
    /// left out), which `fields` computes when the frame is not kept yet; `globals` are
    /// the page's values and `scope` their [`window_scope`](Self::window_scope).
    pub fn window(
        &self,
        theme: &Theme,
        globals: &BTreeMap<&'static str, Value>,
        scope: &str,
        inputs: &str,
        fields: impl FnOnce() -> BTreeMap<&'static str, Value>,
    ) -> Result<Arc<Segments>, ThemeError> {
        let mut key = String::with_capacity(scope.len() + inputs.len());
        key.push_str(scope);
        key.push_str(inputs);
        self.windows.get_or_render(key, || {
            let mut ctx = globals.clone();
            ctx.insert("csrf", Value::from(self.csrf.as_str()));
            let mut w = fields();
            w.insert("markup", Value::from_safe_string(self.markup.clone()));
            ctx.insert("w", Value::from_pairs(w));
            let html = theme.render("window.html", Value::from_pairs(ctx))?;
            let segments = Segments::parse(
                &html,
                &[
                    (self.csrf.as_str(), Segment::Csrf),
                    (self.markup.as_str(), Segment::Markup),
                ],
            );
            let len = segments.len();
            Ok((segments, len, true))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(window: &str) -> (tempfile::TempDir, Theme) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("window.html"), window).unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        (dir, theme)
    }

    fn filled(s: &Segments, csrf: &str, markup: &str) -> String {
        let mut out = Vec::new();
        s.write(&mut out, csrf, markup);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn segments_fill_every_hole() {
        let s = Segments::parse(
            "a[C]b[M]c[C]",
            &[("[C]", Segment::Csrf), ("[M]", Segment::Markup)],
        );
        assert_eq!(filled(&s, "tok", "<p>x</p>"), "atokb<p>x</p>ctok");
        let pieces = s.split_text("b");
        assert_eq!(pieces.len(), 2);
        assert_eq!(filled(&pieces[0], "T", "M"), "aT");
        assert_eq!(filled(&pieces[1], "T", "M"), "McT");
    }

    #[test]
    fn keys_tell_values_apart() {
        let key = |v: Value| {
            let mut out = String::new();
            key_of(&mut out, &v);
            out
        };
        let pairs = |a: &str, b: &str| Value::from(vec![Value::from(a), Value::from(b)]);
        assert_ne!(key(pairs("ab", "c")), key(pairs("a", "bc")));
        assert_ne!(key(Value::from(true)), key(Value::from("T")));
        assert_ne!(key(Value::from(1)), key(Value::from("1")));
        assert_ne!(key(Value::from(())), key(Value::UNDEFINED));
        let map = |k: &str, v: &str| Value::from_pairs([(k, v)]);
        assert_ne!(key(map("a", "b")), key(map("ab", "")));
        assert_eq!(key(map("a", "b")), key(map("a", "b")));
    }

    #[test]
    fn a_frame_is_shared_between_users_and_carries_each_ones_token() {
        let (_dir, theme) = theme(
            "<form><input name=_csrf value=\"{{ csrf }}\"></form><h2>{{ w.title }}</h2>{{ w.markup }}",
        );
        let memo = Memo::new(&theme);
        let mut globals = BTreeMap::new();
        globals.insert("csrf", Value::from("LEA"));
        globals.insert("user", Value::from("Léa"));
        let w = || BTreeMap::from([("title", Value::from("Notes <1>"))]);
        let a = memo
            .window(&theme, &globals, &memo.window_scope(&globals), "notes", w)
            .unwrap();
        globals.insert("user", Value::from("Tom"));
        let b = memo
            .window(
                &theme,
                &globals,
                &memo.window_scope(&globals),
                "notes",
                || unreachable!("kept"),
            )
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b), "user is not read by this window.html");
        assert_eq!(
            filled(&b, "TOM", "<b>m</b>"),
            "<form><input name=_csrf value=\"TOM\"></form><h2>Notes &lt;1&gt;</h2><b>m</b>"
        );
        let other = || BTreeMap::from([("title", Value::from("Autre"))]);
        let c = memo
            .window(
                &theme,
                &globals,
                &memo.window_scope(&globals),
                "autre",
                other,
            )
            .unwrap();
        assert!(filled(&c, "", "").contains("Autre"));
    }

    #[test]
    fn a_window_template_that_includes_is_keyed_on_every_value() {
        let (dir, _) = theme("");
        std::fs::write(dir.path().join("part.html"), "<p>{{ heading }}</p>").unwrap();
        std::fs::write(
            dir.path().join("window.html"),
            "{% include \"part.html\" %}{{ w.title }}",
        )
        .unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        let memo = Memo::new(&theme);
        let mut globals = BTreeMap::new();
        globals.insert("heading", Value::from("un"));
        let w = || BTreeMap::from([("title", Value::from("T"))]);
        let a = memo
            .window(&theme, &globals, &memo.window_scope(&globals), "t", w)
            .unwrap();
        globals.insert("heading", Value::from("deux"));
        let b = memo
            .window(&theme, &globals, &memo.window_scope(&globals), "t", w)
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(filled(&b, "", "").contains("deux"));
    }

    fn page_with(template: &str) -> (tempfile::TempDir, Theme) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html"), template).unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        (dir, theme)
    }

    fn chrome_of(memo: &Memo, theme: &Theme, name: &str, csrf: &str) -> String {
        let mut ctx = BTreeMap::new();
        ctx.insert("heading", Value::from("Accueil"));
        ctx.insert(
            "user",
            Value::from_pairs([
                ("name", Value::from(name)),
                ("profiles", Value::from("élève")),
            ]),
        );
        let chrome = memo.page(theme, ctx, "[W]").unwrap();
        let mut out = Vec::new();
        for piece in chrome.pieces.iter() {
            piece.write_with(&mut out, csrf, "", &chrome.personal);
            out.extend_from_slice(b"|");
        }
        String::from_utf8(out).unwrap()
    }

    fn kept(memo: &Memo) -> usize {
        memo.pages.entries.lock().unwrap().0.len()
    }

    #[test]
    fn a_chrome_is_shared_between_users_and_carries_each_ones_name() {
        let (_dir, theme) = page_with(
            "<p>{{ user.name }} ({{ user.profiles }})</p><i>{{ csrf }}</i>[W]{{ heading }}",
        );
        let memo = Memo::new(&theme);
        assert_eq!(
            chrome_of(&memo, &theme, "Léa", "LEA"),
            "<p>Léa (élève)</p><i>LEA</i>|Accueil|"
        );
        assert_eq!(
            chrome_of(&memo, &theme, "Tom <b>&", "TOM"),
            "<p>Tom &lt;b&gt;&amp; (élève)</p><i>TOM</i>|Accueil|"
        );
        assert_eq!(kept(&memo), 1, "one chrome for both users");
    }

    #[test]
    fn a_theme_that_transforms_the_name_gets_one_chrome_per_user() {
        let (_dir, theme) = page_with(
            "<p>{{ user.name|upper }}</p>[W]{% if user.name|length > 3 %}long{% endif %}",
        );
        let memo = Memo::new(&theme);
        assert_eq!(chrome_of(&memo, &theme, "Léa", ""), "<p>LÉA</p>||");
        assert_eq!(chrome_of(&memo, &theme, "Tom", ""), "<p>TOM</p>||");
        assert_eq!(chrome_of(&memo, &theme, "Anouk", ""), "<p>ANOUK</p>|long|");
        assert_eq!(chrome_of(&memo, &theme, "Léa", ""), "<p>LÉA</p>||");
        assert_eq!(
            kept(&memo),
            3,
            "kept per user once the theme is seen to transform"
        );
    }
}
