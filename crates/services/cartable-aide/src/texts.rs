//! The help the établissement writes: the portal-wide help (`portail`) and one tutorial
//! per profile, each in French and English, rows of `aide_text`.
//!
//! **Format: a safe subset of Markdown.** Staff type plain text; blank lines make
//! paragraphs, `- ` lists, `## ` headings, `[text](https://…)` links, `**bold**`. It is
//! read as CommonMark by `pulldown-cmark` with no extension, and the text is stored as
//! typed. What is shown is made safe twice: raw HTML in the text is turned into text
//! before the HTML is written (a `<script>` shows as typed), and the HTML is then cleaned
//! by `ammonia` with a short allow-list (paragraphs, headings, lists, links to `http`,
//! `https` or `mailto` and relative ones, emphasis, code, quotes; no image, no style, no
//! attribute but `href`). Markdown rather than HTML because a help is prose that staff
//! write without an editor (no JavaScript needed), and because no markup the editor
//! types is ever passed on: the sanitizer is a second gate, not the only one.

use cartable_portlet::sqlx;
use cartable_portlet::{Database, PortletError, expect_changed};
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// The portal-wide help's topic; the other topics are profile names.
pub const PORTAL: &str = "portail";
/// The topics an établissement writes: the portal-wide help, then one tutorial per
/// profile.
pub const TOPICS: [&str; 7] = [
    PORTAL,
    "eleve",
    "parent",
    "enseignant",
    "personnel",
    "invite",
    "admin",
];
/// The languages a text is written in.
pub const LANGS: [&str; 2] = ["fr", "en"];
/// The longest help text, in characters.
pub const MAX_TEXT_LEN: usize = 20_000;

/// A stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Its language.
    pub lang: String,
    /// The Markdown as typed.
    pub body: String,
    /// Its version (1 for the first save).
    pub version: i64,
}

/// The text of `topic` for a reader of `lang`: in her language, else in the other one;
/// `None` when the établissement wrote neither.
pub(crate) async fn for_reader(
    db: &Database,
    topic: &str,
    lang: &str,
) -> Result<Option<Stored>, PortletError> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT lang, body, version FROM aide_text WHERE topic = $1")
            .bind(topic)
            .fetch_all(db.pool())
            .await?;
    let mut texts: Vec<Stored> = rows
        .into_iter()
        .map(|(lang, body, version)| Stored {
            lang,
            body,
            version,
        })
        .collect();
    // Hers first, then French, then anything.
    texts.sort_by_key(|t| (t.lang != lang, t.lang != "fr"));
    Ok(texts.into_iter().next())
}

/// The text of `topic` in exactly `lang`.
pub(crate) async fn get(
    db: &Database,
    topic: &str,
    lang: &str,
) -> Result<Option<Stored>, PortletError> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT body, version FROM aide_text WHERE topic = $1 AND lang = $2")
            .bind(topic)
            .bind(lang)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(body, version)| Stored {
        lang: lang.to_string(),
        body,
        version,
    }))
}

/// Save `body` as the text of `topic` in `lang`, if the stored one is still at
/// `expected` (0: none); an empty `body` deletes it (the built-in text comes back).
/// Anything else is [`PortletError::Conflict`]: someone saved meanwhile.
pub(crate) async fn save(
    db: &Database,
    topic: &str,
    lang: &str,
    body: &str,
    by: &str,
    at: i64,
    expected: i64,
) -> Result<(), PortletError> {
    let what = || format!("the help text {topic}/{lang}");
    let changed = if body.is_empty() {
        sqlx::query("DELETE FROM aide_text WHERE topic = $1 AND lang = $2 AND version = $3")
            .bind(topic)
            .bind(lang)
            .bind(expected)
            .execute(db.pool())
            .await?
            .rows_affected()
    } else if expected == 0 {
        sqlx::query(
            "INSERT INTO aide_text (topic, lang, body, updated_at, updated_by, version) \
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (topic, lang) DO NOTHING",
        )
        .bind(topic)
        .bind(lang)
        .bind(body)
        .bind(at)
        .bind(by)
        .execute(db.pool())
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE aide_text SET body = $3, updated_at = $4, updated_by = $5, \
             version = version + 1 WHERE topic = $1 AND lang = $2 AND version = $6",
        )
        .bind(topic)
        .bind(lang)
        .bind(body)
        .bind(at)
        .bind(by)
        .bind(expected)
        .execute(db.pool())
        .await?
        .rows_affected()
    };
    // Deleting what is already gone is not a conflict.
    if body.is_empty() && changed == 0 && get(db, topic, lang).await?.is_none() {
        return Ok(());
    }
    expect_changed(changed, what)?;
    Ok(())
}

/// The HTML of a help text: its Markdown read as CommonMark, raw HTML kept as text,
/// headings moved two levels down (the window's title is an `h2`), then cleaned by
/// ammonia (see the module's documentation).
pub fn to_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, Options::empty()).map(|event| match event {
        // Raw HTML is shown as the text it is, never passed on.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: lower(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lower(level))),
        // An image is its description: no request leaves the page for it.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {
            Event::Text(CowStr::Borrowed(""))
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    cleaner().clean(&html).to_string()
}

/// `#` becomes `h3`, `##` `h4`, `###` `h5`, the rest `h6`.
fn lower(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// The allow-list the help's HTML goes through.
fn cleaner() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "h3",
            "h4",
            "h5",
            "h6",
            "ul",
            "ol",
            "li",
            "a",
            "strong",
            "em",
            "code",
            "pre",
            "blockquote",
            "hr",
        ])
        .add_tag_attributes("a", ["href"])
        .add_url_schemes(["http", "https", "mailto"])
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"));
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_safe_html() {
        let html = to_html(
            "# Bienvenue\n\nLisez **ceci** et [le guide](https://example.org/guide).\n\n- un\n- deux\n",
        );
        assert!(html.contains("<h3>Bienvenue</h3>"), "{html}");
        assert!(html.contains("<strong>ceci</strong>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.org/guide" rel="noopener noreferrer">le guide</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<li>deux</li>"), "{html}");
    }

    #[test]
    fn html_scripts_and_bad_links_never_pass() {
        for evil in [
            "<script>alert(1)</script>",
            "a <img src=x onerror=alert(1)> b",
            "[x](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "![x](https://tracker.example/pixel.png)",
            "<style>body{display:none}</style>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
        ] {
            let html = to_html(evil);
            // Raw HTML is inert text (`&lt;img …`); no element, attribute or link survives.
            for bad in [
                "<script",
                "<img",
                "<a href=\"javascript",
                "<style",
                "<a href=\"data",
            ] {
                assert!(!html.contains(bad), "{evil:?} gave {html}");
            }
        }
        // Raw HTML shows as what was typed.
        assert_eq!(to_html("<b>gras</b>"), "<p>&lt;b&gt;gras&lt;/b&gt;</p>\n");
        // Relative links to the portal are kept.
        assert!(to_html("[mes notes](/page/accueil)").contains(r#"href="/page/accueil""#));
    }
}
