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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use minijinja::Value;
use minijinja::value::ValueKind;

use crate::theme::{Theme, ThemeError};

/// Bytes of kept renders per memo before it is emptied (a page's chrome is ~3 kB, so
/// 15,000 users' pages fit twice).
const BUDGET: usize = 96 * 1024 * 1024;

/// One piece of a kept render.
#[derive(Debug, Clone)]
enum Segment {
    Text(Bytes),
    Csrf,
    Markup,
}

/// A render with its holes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segments {
    parts: Vec<Segment>,
    len: usize,
}

impl Segments {
    /// Split `html` at every `csrf` and `markup` placeholder.
    fn parse(html: &str, csrf: &str, markup: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = html;
        loop {
            let next_csrf = rest.find(csrf).map(|i| (i, csrf.len(), Segment::Csrf));
            let next_markup = rest
                .find(markup)
                .map(|i| (i, markup.len(), Segment::Markup));
            let next = match (next_csrf, next_markup) {
                (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                (a, b) => a.or(b),
            };
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
            parts.push(hole);
            rest = &rest[at + len..];
        }
        Segments {
            parts,
            len: html.len(),
        }
    }

    /// Append the render with the holes filled.
    pub fn write(&self, out: &mut Vec<u8>, csrf: &str, markup: &str) {
        for part in &self.parts {
            match part {
                Segment::Text(t) => out.extend_from_slice(t),
                Segment::Csrf => out.extend_from_slice(csrf.as_bytes()),
                Segment::Markup => out.extend_from_slice(markup.as_bytes()),
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

/// Renders kept by key, and how many bytes they hold.
#[derive(Debug)]
struct Kept<V> {
    entries: Mutex<(HashMap<String, Arc<V>>, usize)>,
}

impl<V> Kept<V> {
    fn new() -> Self {
        Kept {
            entries: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// The render kept for `key`, or `render`'s (a value and its size in bytes), kept.
    fn get_or_render(
        &self,
        key: String,
        render: impl FnOnce() -> Result<(V, usize), ThemeError>,
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
        let (rendered, len) = render()?;
        let rendered = Arc::new(rendered);
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
        }
    }

    /// The page chrome for `ctx` (the values of `page.html`, the CSRF token included),
    /// in pieces split where `marker` is (a streamed page's window places).
    pub fn page(
        &self,
        theme: &Theme,
        mut ctx: BTreeMap<&'static str, Value>,
        marker: &str,
    ) -> Result<Arc<Vec<Segments>>, ThemeError> {
        ctx.insert("csrf", Value::from(self.csrf.as_str()));
        let mut key = String::with_capacity(1024);
        key_of_fields(&mut key, ctx.iter().filter(|(k, _)| **k != "t"));
        self.pages.get_or_render(key, || {
            let html = theme.render("page.html", Value::from_pairs(ctx))?;
            let len = html.len();
            Ok((
                Segments::parse(&html, &self.csrf, &self.markup).split_text(marker),
                len,
            ))
        })
    }

    /// The frame of one window. `inputs` determines the window's value `w` (its markup
    /// left out), which `fields` computes when the frame is not kept yet; `globals` are
    /// the page's values.
    pub fn window(
        &self,
        theme: &Theme,
        globals: &BTreeMap<&'static str, Value>,
        inputs: &str,
        fields: impl FnOnce() -> BTreeMap<&'static str, Value>,
    ) -> Result<Arc<Segments>, ThemeError> {
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
        key.push_str(inputs);
        self.windows.get_or_render(key, || {
            let mut ctx = globals.clone();
            ctx.insert("csrf", Value::from(self.csrf.as_str()));
            let mut w = fields();
            w.insert("markup", Value::from_safe_string(self.markup.clone()));
            ctx.insert("w", Value::from_pairs(w));
            let html = theme.render("window.html", Value::from_pairs(ctx))?;
            let segments = Segments::parse(&html, &self.csrf, &self.markup);
            let len = segments.len();
            Ok((segments, len))
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
        let s = Segments::parse("a[C]b[M]c[C]", "[C]", "[M]");
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
        let a = memo.window(&theme, &globals, "notes", w).unwrap();
        globals.insert("user", Value::from("Tom"));
        let b = memo
            .window(&theme, &globals, "notes", || unreachable!("kept"))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b), "user is not read by this window.html");
        assert_eq!(
            filled(&b, "TOM", "<b>m</b>"),
            "<form><input name=_csrf value=\"TOM\"></form><h2>Notes &lt;1&gt;</h2><b>m</b>"
        );
        let other = || BTreeMap::from([("title", Value::from("Autre"))]);
        let c = memo.window(&theme, &globals, "autre", other).unwrap();
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
        let a = memo.window(&theme, &globals, "t", w).unwrap();
        globals.insert("heading", Value::from("deux"));
        let b = memo.window(&theme, &globals, "t", w).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(filled(&b, "", "").contains("deux"));
    }
}
