//! Remote markup as the consumer receives it from a producer (`cartable_remote::markup`):
//! any fragment is rewritten and, from an untrusted producer, sanitized, never a panic.
//!
//! A sanitized fragment keeps no script, style or frame, and carries the reader's CSRF
//! token only where the sanitizer put it (never more times than the fragment has form
//! fields). (The internal token slot marker is `cartable-token-slot-` and a random token
//! the producer cannot know; its prefix alone can show, e.g. from text the sanitizer
//! joins, and is harmless, so it is not checked.) Placeholder URLs
//! (`cartable-remote:/…`) become this window's portal URLs or nothing.

#![no_main]

use std::sync::LazyLock;

use cartable_portlet::PortletUrls;
use cartable_remote::markup::{Rewriter, rewrite_url};
use libfuzzer_sys::fuzz_target;

const CSRF: &str = "Csrf0Token1Of2The3Reader4";

static URLS: LazyLock<PortletUrls> = LazyLock::new(|| PortletUrls::new("/ent", "accueil", "w1"));
static REWRITER: LazyLock<Rewriter> = LazyLock::new(|| Rewriter::new(URLS.clone(), CSRF, "w-w1"));

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let sanitized = REWRITER.sanitized(html);
    let lower = sanitized.to_ascii_lowercase();
    for tag in ["<script", "<style", "<iframe", "<object", "<embed"] {
        assert!(!lower.contains(tag), "{tag} survived: {sanitized:?}");
    }
    let tokens = sanitized.matches(CSRF).count();
    let fields = lower.matches("<input").count()
        + lower.matches("<textarea").count()
        + lower.matches("<button").count()
        + lower.matches("<option").count();
    // A fragment that writes the token itself is not a leak: skip the count then (the
    // token is alphanumeric; the sanitizer may join its pieces by dropping what separates
    // them, such as NULs, comments or tags).
    let written: String = html.chars().filter(char::is_ascii_alphanumeric).collect();
    assert!(
        written.contains(CSRF) || tokens <= fields,
        "{tokens} tokens for {fields} form fields: {sanitized:?}"
    );

    let _ = REWRITER.trusted(html);
    let prepared = REWRITER.prepare(html, false);
    assert!(prepared.is_for(&URLS, "w-w1"));
    assert_eq!(prepared.personalize(CSRF), sanitized);

    if let Some(url) = rewrite_url(html, &URLS) {
        assert!(url.starts_with("/ent/"), "{html:?} became {url:?}");
    }
});
