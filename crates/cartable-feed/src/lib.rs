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
//!   window, in the page language, over the last good copy, marked as possibly out of
//!   date.
//! - **Preferences**: `items` (3, 5, 10 or 20) and, with two or more approved feeds, `feed`
//!   (one of their names; the établissement may lock it).
//! - **Languages**: the window's text is the crate's Fluent messages, `locales/fr.ftl` and
//!   `locales/en.ftl` ([`MESSAGES`], domain `cartable-feed`); dates are written in the page
//!   language and the établissement's time zone.
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

use std::sync::{Arc, LazyLock};

use cartable_fetch::Fetcher;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, markup_value};
use cartable_socle::{Clock, SystemClock};
use minijinja::context;
use url::Url;

pub use config::{ApprovedFeed, FeedConfig, ITEM_CHOICES, MAX_NAME_LEN};
pub use error::{ConfigError, FeedError};

use cache::{FeedCache, Snapshot};
use render::{HELP, SHORT_SUMMARY_CHARS, ShownItem, VIEW, human_duration, notice};

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

/// The portlet's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-feed`:
/// another language is a file `<lang>/cartable-feed.ftl` in the ENT's locale directory).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

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
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("communication")
            .mode(Mode::Help)
            .preference(
                PreferenceSpec::new(
                    ITEMS_PREFERENCE,
                    LocalizedText::from_messages(&MESSAGES, "pref-items"),
                    &config.default_items.to_string(),
                )
                .choices(ITEM_CHOICES.map(|n| n.to_string())),
            );
        if feeds.len() > 1 {
            descriptor = descriptor.preference(
                PreferenceSpec::new(
                    FEED_PREFERENCE,
                    LocalizedText::from_messages(&MESSAGES, "pref-feed"),
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
        let templates = Templates::new([("view", VIEW), ("help", HELP)])
            .expect("the feed templates compile")
            .with_messages(&MESSAGES);
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
                    Markup::text(&ctx.t(&MESSAGES, "untitled"))
                } else {
                    Markup::trusted_html(item.title_html.clone())
                };
                ShownItem {
                    title: markup_value(&title),
                    link: item.link.clone(),
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
        self.templates.render_for(
            ctx,
            "view",
            context! {
                notice,
                has_copy => snapshot.good.is_some(),
                source,
                items => minijinja::value::Serde(&items),
                more,
            },
        )
    }

    fn help(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let feeds = self
            .feeds
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        self.templates.render_for(
            ctx,
            "help",
            context! {
                refresh => human_duration(ctx.locale(), self.refresh_seconds),
                choice => self.feeds.len() > 1,
                locked => self.feeds.len() > 1 && ctx.preferences.is_locked(FEED_PREFERENCE),
                feeds,
            },
        )
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
