//! A small, tolerant HTML reader for assertions: the text of a fragment, and a smoke check
//! of the accessibility and security rules every Cartable fragment must follow.
//!
//! It is no HTML parser and no replacement for axe-core in a browser; it reads the markup a
//! portlet writes well enough to catch the usual mistakes early, in a unit test.

use std::collections::{BTreeMap, BTreeSet};

/// One attribute list, names in lower case, values with entities decoded.
type Attrs = Vec<(String, String)>;

#[derive(Debug)]
enum Token {
    /// `<name …>` or `<name … />`.
    Open { name: String, attrs: Attrs },
    /// `</name>`.
    Close { name: String },
    /// Text between tags, entities decoded.
    Text(String),
}

fn attr<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Elements whose content is not markup.
const RAW_TEXT: &[&str] = &["script", "style"];

fn tokenize(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let next = rest[1..].chars().next();
        let is_tag = match next {
            Some('/') => rest[2..].starts_with(|c: char| c.is_ascii_alphabetic()),
            Some('!' | '?') => {
                // Doctype or processing instruction: skip it.
                rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
                continue;
            }
            Some(c) => c.is_ascii_alphabetic(),
            None => false,
        };
        if !is_tag {
            text.push('<');
            rest = &rest[1..];
            continue;
        }
        if !text.is_empty() {
            tokens.push(Token::Text(decode_entities(&std::mem::take(&mut text))));
        }
        let (token, after) = read_tag(rest);
        rest = after;
        if let Token::Open { name, .. } = &token
            && RAW_TEXT.contains(&name.as_str())
        {
            let close = format!("</{name}");
            let end = rest.to_ascii_lowercase().find(&close).unwrap_or(rest.len());
            let name = name.clone();
            tokens.push(token);
            rest = &rest[end..];
            rest = rest.find('>').map_or("", |e| &rest[e + 1..]);
            tokens.push(Token::Close { name });
            continue;
        }
        tokens.push(token);
    }
    text.push_str(rest);
    if !text.is_empty() {
        tokens.push(Token::Text(decode_entities(&text)));
    }
    tokens
}

/// Read one tag starting at `<`; returns it and what follows.
fn read_tag(s: &str) -> (Token, &str) {
    let closing = s.starts_with("</");
    let mut rest = if closing { &s[2..] } else { &s[1..] };
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let name = rest[..name_len].to_ascii_lowercase();
    rest = &rest[name_len..];
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix("/>") {
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix('/') {
            rest = after;
            continue;
        }
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len())
            .max(1);
        let attr_name = rest[..len].to_ascii_lowercase();
        rest = rest[len..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            rest = after.trim_start();
            if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &rest[1..];
                let end = body.find(q).unwrap_or(body.len());
                value = decode_entities(&body[..end]);
                rest = body.get(end + 1..).unwrap_or("");
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(rest.len());
                value = decode_entities(&rest[..end]);
                rest = &rest[end..];
            }
        }
        attrs.push((attr_name, value));
    }
    let token = if closing {
        Token::Close { name }
    } else {
        Token::Open { name, attrs }
    };
    (token, rest)
}

/// Decode the character references Cartable's escaping produces, plus numeric ones and
/// `&nbsp;`; others are left as they are.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Elements that do not separate words.
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "label",
    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
];

/// The text a reader sees in an HTML fragment: tags removed (block elements separate
/// words), entities decoded, scripts and styles dropped, runs of white space (non-breaking
/// spaces included) collapsed into one space.
///
/// ```
/// use cartable_testkit::html_to_text;
/// let text = html_to_text("<h3>Bonjour <b>Léa</b></h3><p>1 &lt; 2</p>");
/// assert_eq!(text, "Bonjour Léa 1 < 2");
/// ```
pub fn html_to_text(html: &str) -> String {
    let mut raw = String::new();
    let mut skip = 0usize;
    for token in tokenize(html) {
        match token {
            Token::Open { name, .. } if RAW_TEXT.contains(&name.as_str()) => skip += 1,
            Token::Close { name } if RAW_TEXT.contains(&name.as_str()) => {
                skip = skip.saturating_sub(1);
            }
            Token::Open { name, .. } | Token::Close { name } => {
                if !INLINE.contains(&name.as_str()) {
                    raw.push(' ');
                }
            }
            Token::Text(text) if skip == 0 => raw.push_str(&text),
            Token::Text(_) => {}
        }
    }
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Form controls that need a label.
fn needs_label(name: &str, attrs: &Attrs) -> bool {
    match name {
        "select" | "textarea" => true,
        "input" => !matches!(
            attr(attrs, "type").map(str::to_ascii_lowercase).as_deref(),
            Some("hidden" | "submit" | "button" | "reset" | "image")
        ),
        _ => false,
    }
}

/// An element whose accessible name comes from its content (`<a href>`, `<button>`).
struct Named {
    tag: String,
    has_name: bool,
    what: String,
}

/// What the portal's CSRF rule refuses in a fragment: each POST form without the `_csrf`
/// field (every post of it would be refused), as [`accessibility_problems`] reports it.
pub fn post_forms_without_csrf(html: &str) -> Vec<String> {
    accessibility_problems(html, "")
        .into_iter()
        .filter(|p| p.contains(CSRF_PROBLEM))
        .collect()
}

/// How [`accessibility_problems`] names a POST form without the `_csrf` field.
const CSRF_PROBLEM: &str = "a POST form without the _csrf field";

/// Check a fragment against the rules of a Cartable window and return the problems found,
/// each as a sentence (empty when all is well). `namespace` is the window's
/// [`namespace`](cartable_portlet::WindowInfo::namespace).
///
/// The rules: headings start at `h3` (the window title is the `h2`) and never skip a
/// level; ids are unique, start with `{namespace}-` and are not the window's own ids;
/// every form control has a label (`<label for>`, an enclosing `<label>`, `aria-label` or
/// `aria-labelledby`) and every `label for`, `aria-labelledby` and `aria-describedby`
/// points to an element of the fragment; links and buttons have an accessible name;
/// images have an `alt`; POST forms carry the `_csrf` field; links never use `javascript:`;
/// no inline event handlers (`onclick`…) or `<script>` (the Content-Security-Policy
/// blocks them).
pub fn accessibility_problems(html: &str, namespace: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut label_fors: Vec<String> = Vec::new();
    let mut references: Vec<(String, String)> = Vec::new();
    let mut controls: Vec<(String, Option<String>)> = Vec::new();
    let mut label_depth = 0usize;
    let mut heading_level = 2u8;
    let mut named: Vec<Named> = Vec::new();
    // (method, has csrf) of the open form.
    let mut form: Option<(String, bool)> = None;
    let prefix = format!("{namespace}-");
    let reserved: BTreeSet<String> = [namespace.to_string(), format!("{namespace}-title")]
        .into_iter()
        .collect();

    for token in tokenize(html) {
        match token {
            Token::Text(text) => {
                if !text.trim().is_empty() {
                    for n in &mut named {
                        n.has_name = true;
                    }
                }
            }
            Token::Open { name, attrs } => {
                let tag = name.as_str();
                if let Some(id) = attr(&attrs, "id") {
                    *ids.entry(id.to_string()).or_default() += 1;
                    if reserved.contains(id) {
                        problems.push(format!(
                            "id {id:?} is used by the portal for the window itself"
                        ));
                    } else if !id.starts_with(&prefix) {
                        problems.push(format!(
                            "id {id:?} does not start with the window namespace {prefix:?}"
                        ));
                    }
                }
                for (attr_name, value) in &attrs {
                    if attr_name.starts_with("on") && attr_name.len() > 2 {
                        problems.push(format!(
                            "<{tag}> has an inline event handler {attr_name}= (blocked by the CSP)"
                        ));
                    }
                    if matches!(attr_name.as_str(), "aria-labelledby" | "aria-describedby") {
                        for id in value.split_whitespace() {
                            references.push((attr_name.clone(), id.to_string()));
                        }
                    }
                }
                if let Some(level) = tag
                    .strip_prefix('h')
                    .and_then(|l| l.parse::<u8>().ok())
                    .filter(|l| (1..=6).contains(l))
                {
                    if level < 3 {
                        problems.push(format!(
                            "<h{level}> in a window: headings start at <h3> (the window title is the <h2>)"
                        ));
                    } else if level > heading_level + 1 {
                        problems.push(format!("<h{level}> skips a level after <h{heading_level}>"));
                    }
                    heading_level = level.max(2);
                }
                let has_aria_name = attr(&attrs, "aria-label")
                    .is_some_and(|v| !v.trim().is_empty())
                    || attr(&attrs, "aria-labelledby").is_some_and(|v| !v.trim().is_empty());
                match tag {
                    "script" => problems.push(
                        "<script> in a fragment: ask for a HeadResource::Script instead".into(),
                    ),
                    "label" => {
                        label_depth += 1;
                        if let Some(target) = attr(&attrs, "for") {
                            label_fors.push(target.to_string());
                        }
                    }
                    "form" => {
                        let method = attr(&attrs, "method").unwrap_or("get").to_ascii_lowercase();
                        if method == "post" && attr(&attrs, "action").is_none_or(str::is_empty) {
                            problems.push("a POST form without an action URL".into());
                        }
                        form = Some((method, false));
                    }
                    "a" => {
                        if let Some(href) = attr(&attrs, "href") {
                            if href
                                .trim_start()
                                .to_ascii_lowercase()
                                .starts_with("javascript:")
                            {
                                problems.push(format!("a link to {href:?}"));
                            }
                            named.push(Named {
                                tag: name.clone(),
                                has_name: has_aria_name,
                                what: format!("link to {href:?}"),
                            });
                        }
                    }
                    "button" => named.push(Named {
                        tag: name.clone(),
                        has_name: has_aria_name,
                        what: "button".into(),
                    }),
                    "img" => match attr(&attrs, "alt") {
                        None => problems.push(format!(
                            "<img src={:?}> without alt (use alt=\"\" if it is decorative)",
                            attr(&attrs, "src").unwrap_or("")
                        )),
                        Some(alt) if !alt.trim().is_empty() => {
                            for n in &mut named {
                                n.has_name = true;
                            }
                        }
                        Some(_) => {}
                    },
                    "input"
                        if attr(&attrs, "type")
                            .is_some_and(|t| t.eq_ignore_ascii_case("hidden"))
                            && attr(&attrs, "name") == Some("_csrf")
                            && attr(&attrs, "value").is_some_and(|v| !v.is_empty()) =>
                    {
                        if let Some((_, csrf)) = form.as_mut() {
                            *csrf = true;
                        }
                    }
                    _ => {}
                }
                if needs_label(tag, &attrs) && label_depth == 0 && !has_aria_name {
                    let what = match attr(&attrs, "name") {
                        Some(n) => format!("<{tag} name={n:?}>"),
                        None => format!("<{tag}>"),
                    };
                    controls.push((what, attr(&attrs, "id").map(str::to_string)));
                }
            }
            Token::Close { name } => match name.as_str() {
                "label" => label_depth = label_depth.saturating_sub(1),
                "form" => {
                    if let Some((method, csrf)) = form.take()
                        && method == "post"
                        && !csrf
                    {
                        problems.push(format!("{CSRF_PROBLEM} (use ctx.csrf_field())"));
                    }
                }
                "a" | "button" => {
                    if let Some(pos) = named.iter().rposition(|n| n.tag == name) {
                        let n = named.remove(pos);
                        if !n.has_name {
                            problems.push(format!("{} with no accessible name", n.what));
                        }
                    }
                }
                _ => {}
            },
        }
    }
    if let Some((method, false)) = &form
        && method == "post"
    {
        problems.push(format!("{CSRF_PROBLEM} (use ctx.csrf_field())"));
    }
    for (id, count) in &ids {
        if *count > 1 {
            problems.push(format!("id {id:?} is used {count} times"));
        }
    }
    for (what, id) in controls {
        let labelled = id.as_ref().is_some_and(|id| label_fors.contains(id));
        if !labelled {
            problems.push(format!("{what} has no label"));
        }
    }
    for target in &label_fors {
        if !ids.contains_key(target) {
            problems.push(format!("<label for={target:?}> points to no element"));
        }
    }
    for (attr_name, target) in references {
        if !ids.contains_key(&target) {
            problems.push(format!("{attr_name}={target:?} points to no element"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strips_tags_and_decodes() {
        assert_eq!(
            html_to_text(
                "<p>Bonjour <strong>L\u{e9}a</strong>&nbsp;!</p><ul><li>a &amp; b</li><li>&#60;c&#x3e;</li></ul>\
                 <script>var x = '<p>';</script><!-- <p>hidden</p> -->"
            ),
            "Bonjour L\u{e9}a ! a & b <c>"
        );
        assert_eq!(html_to_text("a < b &unknown; & c"), "a < b &unknown; & c");
    }

    #[test]
    fn attributes_are_read_in_every_syntax() {
        let tokens = tokenize(r#"<input type=text id='w-x-a' disabled name="a&amp;b"/>"#);
        let Token::Open { name, attrs } = &tokens[0] else {
            panic!("{tokens:?}")
        };
        assert_eq!(name, "input");
        assert_eq!(attr(attrs, "type"), Some("text"));
        assert_eq!(attr(attrs, "id"), Some("w-x-a"));
        assert_eq!(attr(attrs, "disabled"), Some(""));
        assert_eq!(attr(attrs, "name"), Some("a&b"));
    }

    #[test]
    fn a_good_fragment_passes() {
        let html = r#"<h3>Titre</h3><h4>Sous-titre</h4><h3>Autre</h3>
            <form method="post" action="/action/t/w"><input type="hidden" name="_csrf" value="tok">
            <label for="w-x-text">Texte</label> <textarea id="w-x-text" name="text"></textarea>
            <label>Case <input type="checkbox" name="c"></label>
            <input type="search" aria-label="Chercher" name="q">
            <button type="submit">Envoyer</button></form>
            <a href="/x"><img src="/i.png" alt="Accueil"></a> <img src="/d.png" alt="">
            <form action="/search"><label for="w-x-q">Q</label><input id="w-x-q" name="q"></form>"#;
        assert_eq!(accessibility_problems(html, "w-x"), Vec::<String>::new());
    }

    #[test]
    fn the_usual_mistakes_are_reported() {
        let html = r#"<h2>Titre</h2><h3>a</h3><h5>b</h5>
            <form method="POST" action="/a"><input name="x" id="x"><select id="w-x-s"></select>
            <label for="w-x-none">?</label><button type="submit"></button></form>
            <a href="/y"></a><a href="javascript:alert(1)">go</a><img src="/i.png">
            <p id="w-x-p" onclick="f()" aria-describedby="w-x-missing">a</p><p id="w-x-p">b</p>
            <div id="w-x-title"></div><script>alert(1)</script>"#;
        let problems = accessibility_problems(html, "w-x");
        let expected = [
            "<h2> in a window",
            "<h5> skips a level after <h3>",
            "id \"x\" does not start with the window namespace",
            "<input name=\"x\"> has no label",
            "<select> has no label",
            "<label for=\"w-x-none\"> points to no element",
            "button with no accessible name",
            "link to \"/y\" with no accessible name",
            "a link to \"javascript:alert(1)\"",
            "<img src=\"/i.png\"> without alt",
            "inline event handler onclick=",
            "aria-describedby=\"w-x-missing\" points to no element",
            "id \"w-x-p\" is used 2 times",
            "id \"w-x-title\" is used by the portal",
            "<script> in a fragment",
            "a POST form without the _csrf field",
        ];
        for e in expected {
            assert!(
                problems.iter().any(|p| p.contains(e)),
                "missing {e:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }
}
