//! The feed portlet: the latest items of an RSS 2.0 or Atom 1.0 feed chosen from a list
//! the établissement approves (SDET integration level 2b).
//!
//! - **Fetching** goes through a [`cartable_fetch::Fetcher`], so only hosts of the
//!   établissement's [`HostPolicy`](cartable_fetch::HostPolicy) are reached (every redirect
//!   hop is checked again), within `timeout_ms`, and reading stops at `max_bytes`.
//! - **Caching**: one copy per feed URL, shared by every user, refreshed after
//!   `refresh_seconds` with a conditional GET (`If-None-Match` / `If-Modified-Since`; a
//!   `304` keeps the copy); concurrent renders of a stale feed fetch it once.
//! - **Safety**: documents declaring a DTD internal subset (entities) are refused before
//!   parsing and no entity is ever expanded (see the `parse` module); item HTML is
//!   sanitized with `ammonia` (no script, handler, `style`, iframe, image, `javascript:`
//!   URL; links get `rel="noopener noreferrer"`); item links must be `http(s)`.
//! - **Failures** (malformed, oversized, hanging or refused feed) show a message in the
//!   window, in French or English, over the last good copy, marked as possibly out of date.
//! - **Preferences**: `items` (3, 5, 10 or 20) and, with two or more approved feeds, `feed`
//!   (one of their names; the établissement may lock it).
//!
//! ```no_run
//! use std::sync::Arc;
//! use cartable_feed::{ApprovedFeed, FeedConfig, FeedPortlet};
//! use cartable_fetch::{Fetcher, HostPolicy};
//!
//! let config = FeedConfig::new(
//!     "actualites",
//!     "Actualités",
//!     vec![ApprovedFeed::new("Académie", "https://www.ac-lyon.fr/rss.xml")],
//! );
//! let fetcher = Fetcher::new(HostPolicy::new().allow("www.ac-lyon.fr"));
//! let portlet = Arc::new(FeedPortlet::new(config, fetcher)?);
//! # Ok::<(), cartable_feed::ConfigError>(())
//! ```

mod cache;
mod config;
mod error;
mod parse;
mod render;
mod sanitize;

use std::sync::Arc;
use std::time::SystemTime;

use cartable_fetch::Fetcher;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, markup_value};
use cartable_socle::{Clock, SystemClock};
use minijinja::context;
use url::Url;

pub use config::{ApprovedFeed, FeedConfig, ITEM_CHOICES, MAX_NAME_LEN};
pub use error::{ConfigError, FeedError};

use cache::{FeedCache, Snapshot};
use render::{HELP_EN, HELP_FR, SHORT_SUMMARY_CHARS, ShownItem, VIEW, human_date, human_duration};

/// Parse a fetched feed as the portlet does, `base` being its URL: each item's title
/// (HTML), link and summary (sanitized HTML). For the fuzz targets (`fuzz/`), not part of
/// the API.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn fuzz_parse_feed(
    bytes: &[u8],
    base: &Url,
) -> Result<Vec<(String, Option<String>, Option<String>)>, FeedError> {
    Ok(parse::parse_feed(bytes, base)?
        .items
        .into_iter()
        .map(|item| (item.title_html, item.link, item.summary_html))
        .collect())
}

/// The name of the preference holding the number of items shown.
pub const ITEMS_PREFERENCE: &str = "items";
/// The name of the preference holding the chosen feed's name.
pub const FEED_PREFERENCE: &str = "feed";

/// The feed portlet (see the crate documentation).
#[derive(Debug)]
pub struct FeedPortlet {
    descriptor: Descriptor,
    /// The approved feeds: name and URL, the default first.
    feeds: Vec<(String, Url)>,
    default_items: usize,
    refresh_seconds: u64,
    cache: FeedCache,
    templates: Templates,
}

impl FeedPortlet {
    /// The portlet for this configuration, fetching with `fetcher`.
    ///
    /// Fails, saying what to change, when the configuration is inconsistent or when the
    /// fetcher's host policy refuses one of the approved feeds.
    ///
    /// # Panics
    /// Never: the templates are constants checked by the tests.
    pub fn new(config: FeedConfig, fetcher: Fetcher) -> Result<Self, ConfigError> {
        let feeds = config.validate()?;
        for (name, url) in &feeds {
            fetcher
                .policy()
                .check(url)
                .map_err(|e| ConfigError::BadUrl {
                    id: config.id.clone(),
                    name: name.clone(),
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
        }
        let title = LocalizedText::fr(config.title.trim()).with(
            "en",
            config.title_en.as_deref().unwrap_or(config.title.trim()),
        );
        let mut descriptor = Descriptor::new(&config.id, title)
            .description(
                LocalizedText::fr("Les derniers articles d’un flux d’actualités (RSS, Atom)")
                    .with("en", "The latest items of a news feed (RSS, Atom)"),
            )
            .category("communication")
            .mode(Mode::Help)
            .preference(
                PreferenceSpec::new(
                    ITEMS_PREFERENCE,
                    LocalizedText::fr("Nombre d’articles affichés").with("en", "Items shown"),
                    &config.default_items.to_string(),
                )
                .choices(ITEM_CHOICES.map(|n| n.to_string())),
            );
        if feeds.len() > 1 {
            descriptor = descriptor.preference(
                PreferenceSpec::new(
                    FEED_PREFERENCE,
                    LocalizedText::fr("Flux d’actualités").with("en", "News feed"),
                    &feeds[0].0,
                )
                .max_len(MAX_NAME_LEN)
                .choices(feeds.iter().map(|(name, _)| name.clone())),
            );
        }
        let cache = FeedCache::new(
            feeds.iter().map(|(_, url)| url),
            fetcher,
            Arc::new(SystemClock),
            config.refresh(),
            config.timeout(),
            config.max_bytes,
        );
        let templates =
            Templates::new([("view", VIEW), ("help_fr", HELP_FR), ("help_en", HELP_EN)])
                .expect("the feed templates compile");
        Ok(FeedPortlet {
            descriptor,
            feeds,
            default_items: config.default_items,
            refresh_seconds: config.refresh_seconds,
            cache,
            templates,
        })
    }

    /// Read the time from this clock (tests pass a `ManualClock` to pass the refresh
    /// interval without waiting).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.cache.set_clock(clock);
        self
    }

    /// The feed the window shows: the `feed` preference if it names an approved feed, else
    /// the first one.
    fn chosen_feed(&self, ctx: &PortletContext) -> &(String, Url) {
        ctx.preferences
            .get(FEED_PREFERENCE)
            .and_then(|name| self.feeds.iter().find(|(n, _)| n == name.trim()))
            .unwrap_or(&self.feeds[0])
    }

    async fn view(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let (name, url) = self.chosen_feed(ctx);
        let snapshot = self.cache.get(url).await;
        self.view_of(ctx, name, &snapshot)
    }

    fn view_of(
        &self,
        ctx: &PortletContext,
        source: &str,
        snapshot: &Snapshot,
    ) -> Result<Markup, PortletError> {
        let english = ctx.is_english();
        let limit = ctx
            .preferences
            .parse_or(ITEMS_PREFERENCE, self.default_items)
            .clamp(1, ITEM_CHOICES[ITEM_CHOICES.len() - 1]);
        let maximized = ctx.window().state == WindowState::Maximized;
        let mut hidden_summaries = false;
        let items: Vec<ShownItem> = snapshot
            .good
            .iter()
            .flat_map(|good| good.feed.items.iter().take(limit))
            .map(|item| {
                let show_summary = maximized || item.summary_chars <= SHORT_SUMMARY_CHARS;
                hidden_summaries |= item.summary_html.is_some() && !show_summary;
                let title = if item.title_html.is_empty() {
                    Markup::text(ctx.tr("(sans titre)", "(untitled)"))
                } else {
                    Markup::trusted_html(item.title_html.clone())
                };
                ShownItem {
                    title: markup_value(&title),
                    link: item.link.clone(),
                    date: item.date.map(|d| human_date(&d, english)),
                    iso: item.date.map(|d| d.to_rfc3339()),
                    summary: item
                        .summary_html
                        .as_ref()
                        .filter(|_| show_summary)
                        .map(|html| markup_value(&Markup::trusted_html(html.clone()))),
                }
            })
            .collect();
        let notice = snapshot
            .error
            .as_ref()
            .map(|e| notice(ctx, source, e, snapshot.good.as_ref().map(|g| g.fetched)));
        let more = hidden_summaries.then(|| {
            ctx.urls()
                .render()
                .state(WindowState::Maximized)
                .to_string()
        });
        self.templates.render(
            "view",
            context! {
                notice,
                has_copy => snapshot.good.is_some(),
                source,
                items => minijinja::value::Serde(&items),
                more,
                ns => ctx.window().namespace(),
                t => context! {
                    empty => ctx.tr("Ce flux ne contient aucun article pour l’instant.",
                                    "This feed has no items for now."),
                    more => ctx.tr("Afficher les résumés des articles",
                                   "Show the items' summaries"),
                },
            },
        )
    }

    fn help(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let english = ctx.is_english();
        let feeds = self
            .feeds
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        self.templates.render(
            if english { "help_en" } else { "help_fr" },
            context! {
                refresh => human_duration(self.refresh_seconds, english),
                choice => self.feeds.len() > 1,
                locked => self.feeds.len() > 1 && ctx.preferences.is_locked(FEED_PREFERENCE),
                feeds,
            },
        )
    }
}

/// The message over the window when the last attempt failed.
fn notice(
    ctx: &PortletContext,
    source: &str,
    error: &FeedError,
    last_good: Option<SystemTime>,
) -> String {
    let english = ctx.is_english();
    let reason = error.user_message(english);
    match last_good {
        Some(at) => {
            let date = chrono::DateTime::<chrono::Utc>::from(at);
            let when = if english {
                format!(
                    "{} at {} UTC",
                    human_date(&date.fixed_offset(), true),
                    date.format("%H:%M")
                )
            } else {
                format!(
                    "{} à {} UTC",
                    human_date(&date.fixed_offset(), false),
                    date.format("%H:%M")
                )
            };
            if english {
                format!(
                    "The feed “{source}” could not be updated: {reason}. Below is the copy of {when}; it may be out of date."
                )
            } else {
                format!(
                    "Le flux « {source} » n’a pas pu être mis à jour : {reason}. Voici la version du {when}, qui n’est peut-être plus à jour."
                )
            }
        }
        None => {
            if english {
                format!("The feed “{source}” is unavailable: {reason}. Try again later.")
            } else {
                format!("Le flux « {source} » est indisponible : {reason}. Réessayez plus tard.")
            }
        }
    }
}

#[async_trait]
impl Portlet for FeedPortlet {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Edit => Ok(preference_form(ctx, &self.descriptor.preferences).into()),
            Mode::Help => Ok(self.help(ctx)?.into()),
            Mode::View => Ok(self.view(ctx).await?.into()),
        }
    }
}

#[cfg(test)]
mod tests;
