//! The superposed view, kept rendered while nothing it shows has changed.
//!
//! A week of five agendas is a few hundred events: reading, expanding and writing them
//! is milliseconds of work (docs/performance.md, scenario W), while the same person
//! looks at the same week again and again between two changes. A view is kept under
//! everything it is made of: who asks (and her session's CSRF token, which
//! its forms carry), her language, the day, what she asked (view, date, window, filter),
//! the agendas she reads with her rights on each, and the revision of each shown agenda,
//! which every change of its events moves (the same revision CalDAV clients poll). A
//! change anywhere gives another key: an entry is never stale, it is only no longer
//! asked for. The key is those parts written out whole (each after its length), not a
//! digest of them: a hit compares every part, and writing them out costs a page far less
//! than a SHA-256 of them did (docs/performance.md, scenario W). What a calendar source publishes has no revision, so a view showing a
//! source is rendered every time, as is the maximized window (its forms) and a view
//! with a notice.
//!
//! At most [`MAX_BYTES`] of markup are kept per process; past it, it starts again.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use cartable_portlet::Markup;

/// The most markup kept, in bytes.
pub const MAX_BYTES: usize = 32 << 20;

/// A rendered view: its markup and its title.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub markup: Markup,
    pub title: String,
}

#[derive(Default)]
struct Kept {
    views: HashMap<String, Arc<Rendered>>,
    bytes: usize,
}

static KEPT: LazyLock<Mutex<Kept>> = LazyLock::new(|| Mutex::new(Kept::default()));

/// The key of a view's parts: each part after its length (`5:hello`), so two lists of
/// parts never give the same key.
pub(crate) fn key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    use std::fmt::Write as _;
    let mut key = String::with_capacity(1024);
    for part in parts {
        let _ = write!(key, "{}:", part.len());
        key.push_str(part);
    }
    key
}

/// The view kept under `key`, if any.
pub(crate) fn get(key: &str) -> Option<Arc<Rendered>> {
    KEPT.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .views
        .get(key)
        .cloned()
}

/// Keep a view under `key`.
pub(crate) fn put(key: String, rendered: Rendered) {
    let size = rendered.markup.as_str().len() + rendered.title.len() + key.len() + 64;
    if size > MAX_BYTES / 8 {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    if kept.bytes + size > MAX_BYTES {
        kept.views.clear();
        kept.bytes = 0;
    }
    if kept.views.insert(key, Arc::new(rendered)).is_none() {
        kept.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_told_apart_by_their_lengths() {
        assert_ne!(key(["ab", "c"]), key(["a", "bc"]));
        assert_eq!(key(["a", "bc"]), key(["a", "bc"]));
    }

    #[test]
    fn a_view_kept_is_found_by_its_key_only() {
        let k = key(["view_cache test", "1"]);
        put(
            k.clone(),
            Rendered {
                markup: Markup::trusted_html("<p>semaine</p>".to_string()),
                title: "Agenda".into(),
            },
        );
        assert_eq!(get(&k).map(|r| r.title.clone()), Some("Agenda".into()));
        assert!(get(&key(["view_cache test", "2"])).is_none());
    }
}
