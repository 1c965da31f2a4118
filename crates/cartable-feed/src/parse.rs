//! Reading RSS 2.0 and Atom 1.0 documents into items ready to show.
//!
//! # Entities and DTDs
//!
//! `rss` and `atom_syndication` read XML with `quick-xml`, which has no DTD processor:
//! it reports a `<!DOCTYPE …>` as one opaque event and never loads an external DTD or
//! entity. Both crates resolve only the five predefined entities (`&amp;`…) and
//! character references; any other `&name;` is kept as literal text (see
//! `rss::util::element_text` and `atom_syndication::util::atom_text`). So a billion-laughs
//! document cannot blow up and `<!ENTITY x SYSTEM "file:///etc/passwd">` reads nothing;
//! the tests below check both on the crates alone.
//!
//! We still refuse, before handing the document to either crate, any document whose
//! DOCTYPE has an internal subset (`<!DOCTYPE x [ … ]>`, the only place entities can be
//! declared): feeds never need one, and this keeps us safe should a future version of
//! those crates (or of `quick-xml`) start expanding custom entities. A DOCTYPE with only an
//! external identifier (old RSS 0.91 feeds) is accepted and, as said, never fetched.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;
use url::Url;

use crate::FeedError;
use crate::sanitize::{Sanitizer, text_to_html};

/// The most items kept from one feed (users choose at most 20).
pub(crate) const MAX_ITEMS: usize = 50;
/// The longest title kept, in characters.
const MAX_TITLE_CHARS: usize = 300;
/// The longest item HTML sanitized, in bytes (longer input is cut, then repaired).
const MAX_SUMMARY_BYTES: usize = 64 * 1024;

/// The two formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Rss,
    Atom,
}

/// One item, sanitized, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedItem {
    /// The title as safe HTML (text only: escaped text or tags stripped).
    pub title_html: String,
    /// An absolute `http(s)` link, if the item has one.
    pub link: Option<String>,
    /// Its publication (or update) date.
    pub date: Option<DateTime<FixedOffset>>,
    /// The summary as sanitized HTML.
    pub summary_html: Option<String>,
    /// How many characters of text the summary has.
    pub summary_chars: usize,
}

/// A parsed feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedFeed {
    /// RSS or Atom.
    pub format: Format,
    /// The items, in the feed's order, at most [`MAX_ITEMS`].
    pub items: Vec<FeedItem>,
}

/// Check the document's structure with `quick-xml` alone (no entity is resolved) and tell
/// its format; refuse a DTD internal subset.
pub(crate) fn inspect(bytes: &[u8]) -> Result<Format, FeedError> {
    let mut reader = Reader::from_reader(bytes);
    let mut root: Option<Format> = None;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(XmlEvent::DocType(doctype)) => {
                // The internal subset is between brackets; entity declarations can only be
                // there. Any bracket is refused, even one inside a quoted literal.
                if doctype.contains(&b'[') || contains_ci(&doctype, b"<!ENTITY") {
                    return Err(FeedError::Dtd);
                }
            }
            Ok(XmlEvent::Start(element)) => {
                if depth == 0 && root.is_none() {
                    root = Some(format_of(element.local_name().as_ref())?);
                }
                depth += 1;
            }
            Ok(XmlEvent::Empty(element)) => {
                if depth == 0 && root.is_none() {
                    root = Some(format_of(element.local_name().as_ref())?);
                }
            }
            Ok(XmlEvent::End(_)) => depth = depth.saturating_sub(1),
            Ok(XmlEvent::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(FeedError::Malformed(format!(
                    "{e} (at byte {})",
                    reader.error_position()
                )));
            }
        }
    }
    if depth != 0 {
        return Err(FeedError::Malformed("the document ends too early".into()));
    }
    root.ok_or_else(|| FeedError::Malformed("no root element (empty document?)".into()))
}

fn format_of(local_name: &[u8]) -> Result<Format, FeedError> {
    match local_name {
        b"rss" | b"RDF" => Ok(Format::Rss),
        b"feed" => Ok(Format::Atom),
        other => Err(FeedError::Malformed(format!(
            "the root element is <{}>, not <rss> or <feed>",
            String::from_utf8_lossy(&other[..other.len().min(40)])
        ))),
    }
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Parse a feed fetched from `base` (relative links are resolved against it).
pub(crate) fn parse_feed(bytes: &[u8], base: &Url) -> Result<ParsedFeed, FeedError> {
    let format = inspect(bytes)?;
    let sanitizer = Sanitizer::new(base);
    let items = match format {
        Format::Rss => {
            let channel = rss::Channel::read_from(bytes)
                .map_err(|e| FeedError::Malformed(format!("RSS: {e}")))?;
            channel
                .items()
                .iter()
                .take(MAX_ITEMS)
                .map(|item| rss_item(item, base, &sanitizer))
                .collect()
        }
        Format::Atom => {
            let feed = atom_syndication::Feed::read_from(bytes)
                .map_err(|e| FeedError::Malformed(format!("Atom: {e}")))?;
            feed.entries()
                .iter()
                .take(MAX_ITEMS)
                .map(|entry| atom_entry(entry, base, &sanitizer))
                .collect()
        }
    };
    Ok(ParsedFeed { format, items })
}

fn rss_item(item: &rss::Item, base: &Url, sanitizer: &Sanitizer) -> FeedItem {
    let link = item
        .link()
        .or_else(|| {
            item.guid()
                .filter(|g| g.is_permalink())
                .map(rss::Guid::value)
        })
        .and_then(|l| web_link(l, base));
    let date = item.pub_date().and_then(parse_date).or_else(|| {
        item.dublin_core_ext()
            .and_then(|dc| dc.dates().iter().find_map(|d| parse_date(d)))
    });
    // RSS descriptions are HTML (escaped or in CDATA); content:encoded is the full text.
    let html = item.description().or(item.content());
    let (summary_html, summary_chars) = summary(html.map(Cow::Borrowed), sanitizer);
    FeedItem {
        title_html: text_to_html(&limit_chars(item.title().unwrap_or(""), MAX_TITLE_CHARS)),
        link,
        date,
        summary_html,
        summary_chars,
    }
}

fn atom_entry(entry: &atom_syndication::Entry, base: &Url, sanitizer: &Sanitizer) -> FeedItem {
    use atom_syndication::TextType;

    let link = entry
        .links()
        .iter()
        .filter(|l| l.rel() == "alternate")
        .chain(entry.links().iter())
        .find_map(|l| web_link(l.href(), base));
    // A missing <updated> reads as 1970-01-01: no date rather than a wrong one.
    let date = entry
        .published()
        .or(Some(entry.updated()))
        .copied()
        .filter(|d| d.timestamp() != 0);
    let title = entry.title();
    let title_html = match title.r#type {
        TextType::Text => text_to_html(&limit_chars(&title.value, MAX_TITLE_CHARS)),
        TextType::Html | TextType::Xhtml => {
            sanitizer.text_only(&limit_chars(&title.value, MAX_TITLE_CHARS * 4))
        }
    };
    let html: Option<Cow<'_, str>> = match entry.summary() {
        Some(text) => Some(match text.r#type {
            TextType::Text => Cow::Owned(text_to_html(&text.value)),
            TextType::Html | TextType::Xhtml => Cow::Borrowed(text.value.as_str()),
        }),
        None => entry.content().and_then(|content| {
            let value = content.value()?;
            match content.content_type() {
                None | Some("text") => Some(Cow::Owned(text_to_html(value))),
                Some("html" | "xhtml") => Some(Cow::Borrowed(value)),
                // Other media types (base64 images…) are not shown.
                Some(_) => None,
            }
        }),
    };
    let (summary_html, summary_chars) = summary(html, sanitizer);
    FeedItem {
        title_html,
        link,
        date,
        summary_html,
        summary_chars,
    }
}

fn summary(html: Option<Cow<'_, str>>, sanitizer: &Sanitizer) -> (Option<String>, usize) {
    let Some(html) = html else {
        return (None, 0);
    };
    let html = cut_bytes(&html, MAX_SUMMARY_BYTES);
    let clean = sanitizer.clean(html);
    let chars = sanitizer.text_chars(&clean);
    if chars == 0 {
        (None, 0)
    } else {
        (Some(clean), chars)
    }
}

/// An item link as an absolute `http(s)` URL, resolved against the feed's URL; anything
/// else (`javascript:`, `data:`, `file:`…) is dropped.
pub(crate) fn web_link(link: &str, base: &Url) -> Option<String> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    let url = base.join(link).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// RFC 2822 (RSS) or RFC 3339 (Dublin Core, some RSS feeds).
fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
}

/// At most `max` characters, white space collapsed.
fn limit_chars(s: &str, max: usize) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &collapsed[..i]),
        None => collapsed,
    }
}

/// At most `max` bytes, cut on a character boundary.
fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
