//! HTML markup that is safe by construction.
//!
//! A [`Markup`] made from text is escaped; raw HTML has to be asked for by name with
//! [`Markup::trusted_html`], so an XSS needs a visible decision in the code.

use std::fmt;

use serde::Serialize;

/// A fragment of HTML that is safe to put in a page.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Markup(String);

impl Markup {
    /// Empty markup.
    pub const fn empty() -> Self {
        Markup(String::new())
    }

    /// Text, escaped for HTML (`<`, `>`, `&`, `"`, `'`).
    pub fn text(text: &str) -> Self {
        Markup(escape(text))
    }

    /// HTML the caller vouches for: it came from the portlet's own template or was
    /// sanitized. Never pass user or remote input here.
    pub fn trusted_html(html: impl Into<String>) -> Self {
        Markup(html.into())
    }

    /// The HTML source.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consume into the HTML source.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Append another fragment.
    pub fn push(&mut self, other: &Markup) {
        self.0.push_str(&other.0);
    }

    /// Append text, escaped.
    pub fn push_text(&mut self, text: &str) {
        escape_into(text, &mut self.0);
    }

    /// Whether there is no markup.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Markup({:?})", self.0)
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text becomes escaped markup.
impl From<&str> for Markup {
    fn from(text: &str) -> Self {
        Markup::text(text)
    }
}

/// Text becomes escaped markup.
impl From<String> for Markup {
    fn from(text: String) -> Self {
        Markup::text(&text)
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(text, &mut out);
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_by_default() {
        let m: Markup = "<script>alert('x')</script> & \"q\"".into();
        assert_eq!(
            m.as_str(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let owned: Markup = String::from("<b>").into();
        assert_eq!(owned.as_str(), "&lt;b&gt;");
    }

    #[test]
    fn trusted_html_is_kept() {
        let mut m = Markup::trusted_html("<p>");
        m.push_text("a<b");
        m.push(&Markup::trusted_html("</p>"));
        assert_eq!(m.as_str(), "<p>a&lt;b</p>");
    }
}
