//! Memoized theme renders: a streamed page's chrome (head, banner, tabs, footer) and each
//! window's frame (title bar, controls) are pure functions of their template values, and
//! those values repeat from one page to the next. Rendering them through minijinja on
//! every page was most of a page's cost; here each distinct value is rendered once.
//!
//! A render is kept as [`Segments`]: text around two holes filled per page, the session's
//! CSRF token and (in a window frame) the portlet's markup. Templates are rendered with a
//! per-process placeholder in each hole, so a kept render never holds anyone's token. A
//! lookup compares the whole key value, not only its hash: a hit is exactly the render
//! the template would give.
//!
//! The key of a window frame holds only the page values the theme's `window.html` reads
//! (minijinja lists a template's undeclared variables), so frames are shared between
//! users; a `window.html` that includes or imports other templates is keyed on every page
//! value. `t` (the UI strings) is keyed by `lang`, which determines it.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use minijinja::Value;

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

/// Kept renders by the hash of their key (keys that collide share a bucket).
type Buckets = HashMap<u64, Vec<(Value, Arc<Segments>)>>;

/// Renders kept by key value, and how many bytes they hold.
#[derive(Debug)]
struct Kept {
    hasher: RandomState,
    entries: Mutex<(Buckets, usize)>,
}

impl Kept {
    fn new() -> Self {
        Kept {
            hasher: RandomState::new(),
            entries: Mutex::new((HashMap::new(), 0)),
        }
    }

    fn get_or_render(
        &self,
        key: Value,
        render: impl FnOnce() -> Result<Segments, ThemeError>,
    ) -> Result<Arc<Segments>, ThemeError> {
        let hash = self.hasher.hash_one(&key);
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(hit) = entries
                .0
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|(k, _)| *k == key))
            {
                return Ok(hit.1.clone());
            }
        }
        let rendered = Arc::new(render()?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (map, bytes) = &mut *entries;
        if *bytes + rendered.len() > BUDGET {
            map.clear();
            *bytes = 0;
        }
        *bytes += rendered.len();
        map.entry(hash).or_default().push((key, rendered.clone()));
        Ok(rendered)
    }
}

/// The theme renders of streamed pages, kept by their values.
#[derive(Debug)]
pub(crate) struct Memo {
    csrf: String,
    markup: String,
    /// The page values `window.html` reads, or `None` when it may read any.
    window_globals: Option<Vec<String>>,
    pages: Kept,
    windows: Kept,
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

    /// The page chrome for `ctx` (the values of `page.html`, the CSRF token included).
    pub fn page(
        &self,
        theme: &Theme,
        mut ctx: BTreeMap<&'static str, Value>,
    ) -> Result<Arc<Segments>, ThemeError> {
        ctx.insert("csrf", Value::from(self.csrf.as_str()));
        let key = Value::from_pairs(
            ctx.iter()
                .filter(|(k, _)| **k != "t")
                .map(|(k, v)| (*k, v.clone())),
        );
        self.pages.get_or_render(key, || {
            let html = theme.render("page.html", Value::from_pairs(ctx))?;
            Ok(Segments::parse(&html, &self.csrf, &self.markup))
        })
    }

    /// The frame of one window: `w` is the window's value (its markup is left out),
    /// `globals` the page's values.
    pub fn window(
        &self,
        theme: &Theme,
        globals: &BTreeMap<&'static str, Value>,
        mut w: BTreeMap<&'static str, Value>,
    ) -> Result<Arc<Segments>, ThemeError> {
        w.insert("markup", Value::from_safe_string(self.markup.clone()));
        let w = Value::from_pairs(w);
        let read = |k: &str| match &self.window_globals {
            Some(names) => names.iter().any(|n| n == k || (k == "lang" && n == "t")),
            None => true,
        };
        let key = Value::from_pairs(
            globals
                .iter()
                .filter(|(k, _)| **k != "t" && **k != "csrf" && read(k))
                .map(|(k, v)| (*k, v.clone()))
                .chain([("w", w.clone())]),
        );
        self.windows.get_or_render(key, || {
            let mut ctx = globals.clone();
            ctx.insert("csrf", Value::from(self.csrf.as_str()));
            ctx.insert("w", w);
            let html = theme.render("window.html", Value::from_pairs(ctx))?;
            Ok(Segments::parse(&html, &self.csrf, &self.markup))
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
    fn a_frame_is_shared_between_users_and_carries_each_ones_token() {
        let (_dir, theme) = theme(
            "<form><input name=_csrf value=\"{{ csrf }}\"></form><h2>{{ w.title }}</h2>{{ w.markup }}",
        );
        let memo = Memo::new(&theme);
        let mut globals = BTreeMap::new();
        globals.insert("csrf", Value::from("LEA"));
        globals.insert("user", Value::from("Léa"));
        let w = || BTreeMap::from([("title", Value::from("Notes <1>"))]);
        let a = memo.window(&theme, &globals, w()).unwrap();
        globals.insert("user", Value::from("Tom"));
        let b = memo.window(&theme, &globals, w()).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "user is not read by this window.html");
        assert_eq!(
            filled(&b, "TOM", "<b>m</b>"),
            "<form><input name=_csrf value=\"TOM\"></form><h2>Notes &lt;1&gt;</h2><b>m</b>"
        );
        let other = BTreeMap::from([("title", Value::from("Autre"))]);
        let c = memo.window(&theme, &globals, other).unwrap();
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
        let a = memo.window(&theme, &globals, w()).unwrap();
        globals.insert("heading", Value::from("deux"));
        let b = memo.window(&theme, &globals, w()).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(filled(&b, "", "").contains("deux"));
    }
}
