//! The feed parser (`cartable-feed`): any bytes give items or a `FeedError`, never a
//! panic; what is kept is safe to put in a page.
//!
//! Titles are text (no tag), links are absolute http(s) URLs, summaries went through
//! the sanitizer (no script, style or frame element survives).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example/feeds/main.xml").expect("a valid URL"));

fuzz_target!(|data: &[u8]| {
    match cartable_feed::fuzz_parse_feed(data, &BASE) {
        Ok(items) => {
            assert!(items.len() <= 50, "{} items kept", items.len());
            for (title, link, summary) in items {
                assert!(!title.contains('<'), "a tag in the title: {title:?}");
                if let Some(link) = link {
                    let url = Url::parse(&link).expect("links are absolute URLs");
                    assert!(
                        matches!(url.scheme(), "http" | "https"),
                        "link {link:?} is not http(s)"
                    );
                }
                if let Some(summary) = summary {
                    let lower = summary.to_ascii_lowercase();
                    for tag in ["<script", "<style", "<iframe", "<object", "<embed", "<img"] {
                        assert!(!lower.contains(tag), "{tag} in the summary: {summary:?}");
                    }
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
