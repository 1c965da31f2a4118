//! Making feed HTML safe to put in a page, with `ammonia` (html5ever underneath).
//!
//! What survives: formatting (`p`, `em`, `ul`, `table`…), links to `http`, `https` and
//! `mailto` URLs with `rel="noopener noreferrer"`, relative links made absolute against the
//! feed's URL. What goes: `<script>`, `<style>` and their content, `<iframe>`, `<object>`,
//! forms, every `on…=` handler, `style` and `id` attributes, `javascript:`/`data:` URLs,
//! images (the portal's Content-Security-Policy would block remote images anyway, and they
//! would tell the feed's host who reads it), headings (the window's outline starts at
//! `h3`; their text stays) and comments.

use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use cartable_portlet::markup::escape;
use url::Url;

/// Tags whose content goes with them.
const DROP_WITH_CONTENT: [&str; 6] = ["script", "style", "template", "noscript", "svg", "math"];

/// Sanitizers for one feed (relative URLs are resolved against its address).
pub(crate) struct Sanitizer {
    html: Builder<'static>,
    text: Builder<'static>,
}

impl Sanitizer {
    /// Sanitizers for a feed fetched from `base`.
    pub(crate) fn new(base: &Url) -> Self {
        let mut html = Builder::default();
        html.rm_tags(["img", "h1", "h2", "h3", "h4", "h5", "h6"])
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .url_relative(UrlRelative::RewriteWithBase(base.clone()))
            .link_rel(Some("noopener noreferrer"))
            .strip_comments(true);
        // Tags dropped with their content must not be allowed tags at the same time.
        let allowed: Vec<&str> = DROP_WITH_CONTENT
            .into_iter()
            .filter(|t| !html.clone_tags().contains(t))
            .collect();
        html.clean_content_tags(allowed.into_iter().collect());
        let mut text = Builder::empty();
        text.clean_content_tags(HashSet::from(DROP_WITH_CONTENT))
            .strip_comments(true);
        Sanitizer { html, text }
    }

    /// Sanitized HTML.
    pub(crate) fn clean(&self, html: &str) -> String {
        self.html.clean(html).to_string().trim().to_string()
    }

    /// The text of some HTML, as safe HTML (every tag stripped, text escaped).
    pub(crate) fn text_only(&self, html: &str) -> String {
        let text = self.text.clean(html).to_string();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// How many characters of text some HTML shows (an entity counts as one).
    pub(crate) fn text_chars(&self, html: &str) -> usize {
        let text = self.text.clean(html).to_string();
        let mut count = 0;
        let mut in_entity = false;
        for c in text.trim().chars() {
            match c {
                '&' => {
                    in_entity = true;
                    count += 1;
                }
                ';' if in_entity => in_entity = false,
                _ if in_entity => {}
                _ => count += 1,
            }
        }
        count
    }
}

/// Plain text as HTML: escaped, white space collapsed.
pub(crate) fn text_to_html(text: &str) -> String {
    escape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        Sanitizer::new(&Url::parse("https://news.example/blog/feed.xml").unwrap()).clean(html)
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let out = clean(r#"<p>ok</p><script>alert(1)</script><img src=x onerror="alert(2)">"#);
        assert_eq!(out, "<p>ok</p>");
        let out = clean(r#"<p onclick="alert(1)" onmouseover='x()'>texte</p>"#);
        assert_eq!(out, "<p>texte</p>");
        let out = clean(r#"<svg onload="alert(1)"><script>alert(1)</script></svg><b>b</b>"#);
        assert_eq!(out, "<b>b</b>");
    }

    #[test]
    fn javascript_links_lose_their_href() {
        for href in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java&#x73;cript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
        ] {
            let out = clean(&format!(r#"<a href="{href}">lien</a>"#));
            assert!(!out.contains("href"), "{href} → {out}");
            assert!(!out.to_ascii_lowercase().contains("script:"), "{out}");
        }
    }

    #[test]
    fn links_get_rel_and_absolute_urls() {
        let out = clean(r#"<a href="https://ok.example/a" target="_blank">a</a>"#);
        assert_eq!(
            out,
            r#"<a href="https://ok.example/a" rel="noopener noreferrer">a</a>"#
        );
        let out = clean(r#"<a href="../page?x=1" rel="opener">b</a>"#);
        assert_eq!(
            out,
            r#"<a href="https://news.example/page?x=1" rel="noopener noreferrer">b</a>"#
        );
    }

    #[test]
    fn iframes_styles_and_expressions_are_removed() {
        let out = clean(r#"<iframe src="https://evil.example"></iframe><p>après</p>"#);
        assert_eq!(out, "<p>après</p>");
        let out = clean(
            r#"<div style="width: expression(alert(1)); background:url(javascript:alert(2))">x</div>"#,
        );
        assert_eq!(out, "<div>x</div>");
        let out = clean(r#"<style>body{background:url("javascript:alert(1)")}</style><p>p</p>"#);
        assert_eq!(out, "<p>p</p>");
        let out = clean(
            r#"<object data="x.swf"></object><embed src="x"><form action="/x"><input name="a"></form>t"#,
        );
        assert_eq!(out, "t");
    }

    #[test]
    fn headings_ids_and_comments_go_text_stays() {
        let out = clean(r#"<h1 id="w-x">Titre</h1><!-- secret --><p id="main">p</p>"#);
        assert_eq!(out, "Titre<p>p</p>");
    }

    #[test]
    fn text_only_and_length() {
        let s = Sanitizer::new(&Url::parse("https://a.example/").unwrap());
        assert_eq!(
            s.text_only("<b>Gras</b> &amp; <script>x()</script> <i>fin</i>"),
            "Gras &amp; fin"
        );
        assert_eq!(s.text_chars("<p>a &amp; b</p>"), 5);
        assert_eq!(text_to_html("a < b\n  c"), "a &lt; b c");
    }
}
