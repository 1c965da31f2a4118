//! The feed cache: one entry per feed URL, shared by every user and window of the portlet.
//!
//! An entry keeps the last good copy of the feed (with its `ETag` and `Last-Modified`), the
//! last error and when the server was last asked. A copy younger than the refresh interval
//! is used as it is. Once it is older, the first render to notice takes the entry's fetch
//! lock and asks the server again with `If-None-Match` / `If-Modified-Since`; a `304` keeps
//! the copy. Renders arriving meanwhile use the stale copy at once if there is one, or wait
//! for that same fetch if there is none: concurrent renders never fetch a feed twice.
//!
//! The fetch runs in a task of its own holding the lock, so a render aborted by the
//! portal's deadline does not abort it: its outcome is recorded for the next render.
//! After a failure the server is asked again after a minute (or the refresh interval, if
//! shorter) and the window shows the error over the last good copy meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_fetch::{FetchError, Fetcher, OutboundRequest};
use cartable_socle::Clock;
use http::StatusCode;
use http::header::{ACCEPT, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use tokio::sync::{Mutex, OwnedMutexGuard, RwLock};
use url::Url;

use crate::FeedError;
use crate::parse::{ParsedFeed, parse_feed};

/// The longest validator (`ETag`, `Last-Modified`) kept.
const MAX_VALIDATOR_LEN: usize = 512;
/// The longest wait before asking a failing server again.
const MAX_RETRY: Duration = Duration::from_secs(60);
/// What we ask for.
const ACCEPT_FEEDS: &str =
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1";

/// A copy of a feed that parsed.
#[derive(Debug, Clone)]
pub(crate) struct GoodCopy {
    /// The items.
    pub feed: Arc<ParsedFeed>,
    /// The `ETag` the server sent with it.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent with it.
    pub last_modified: Option<String>,
    /// When it was fetched (a `304` does not change it).
    pub fetched: SystemTime,
}

/// What the cache knows of one feed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    /// The last good copy.
    pub good: Option<GoodCopy>,
    /// The error of the last attempt, if it failed.
    pub error: Option<FeedError>,
    /// When the server was last asked.
    pub checked: Option<SystemTime>,
}

impl Snapshot {
    fn is_fresh(&self, now: SystemTime, refresh: Duration) -> bool {
        let Some(checked) = self.checked else {
            return false;
        };
        let interval = if self.error.is_some() {
            refresh.min(MAX_RETRY)
        } else {
            refresh
        };
        // A clock going backwards counts as no time passed.
        now.duration_since(checked)
            .map_or(true, |age| age < interval)
    }
}

#[derive(Debug, Default)]
struct Slot {
    state: RwLock<Snapshot>,
    fetching: Arc<Mutex<()>>,
}

/// The limits and services every fetch uses.
struct Settings {
    fetcher: Fetcher,
    clock: Arc<dyn Clock>,
    refresh: Duration,
    timeout: Duration,
    max_bytes: usize,
}

/// The cache of one portlet (see the module documentation).
pub(crate) struct FeedCache {
    slots: HashMap<Url, Arc<Slot>>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for FeedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedCache")
            .field(
                "feeds",
                &self.slots.keys().map(Url::as_str).collect::<Vec<_>>(),
            )
            .field("refresh", &self.settings.refresh)
            .field("timeout", &self.settings.timeout)
            .field("max_bytes", &self.settings.max_bytes)
            .finish_non_exhaustive()
    }
}

impl FeedCache {
    /// A cache for these feed URLs (the approved list: nothing else is ever fetched).
    pub(crate) fn new<'a>(
        urls: impl IntoIterator<Item = &'a Url>,
        fetcher: Fetcher,
        clock: Arc<dyn Clock>,
        refresh: Duration,
        timeout: Duration,
        max_bytes: usize,
    ) -> Self {
        FeedCache {
            slots: urls
                .into_iter()
                .map(|u| (u.clone(), Arc::default()))
                .collect(),
            settings: Arc::new(Settings {
                fetcher,
                clock,
                refresh,
                timeout,
                max_bytes,
            }),
        }
    }

    /// Use another clock (tests).
    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        let old = &self.settings;
        self.settings = Arc::new(Settings {
            fetcher: old.fetcher.clone(),
            clock,
            refresh: old.refresh,
            timeout: old.timeout,
            max_bytes: old.max_bytes,
        });
    }

    /// The feed at `url` as fresh as the refresh interval wants it, fetching if needed.
    pub(crate) async fn get(&self, url: &Url) -> Snapshot {
        let Some(slot) = self.slots.get(url) else {
            return Snapshot {
                error: Some(FeedError::Internal(format!(
                    "{url} is not an approved feed"
                ))),
                ..Snapshot::default()
            };
        };
        let now = self.settings.clock.now();
        {
            let state = slot.state.read().await;
            if state.is_fresh(now, self.settings.refresh) {
                return state.clone();
            }
        }
        let guard = match slot.fetching.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                // Someone is fetching it: a stale copy now beats waiting for them.
                {
                    let state = slot.state.read().await;
                    if state.good.is_some() {
                        return state.clone();
                    }
                }
                slot.fetching.clone().lock_owned().await
            }
        };
        {
            // It may have been refreshed while we waited for the lock.
            let state = slot.state.read().await;
            if state.is_fresh(self.settings.clock.now(), self.settings.refresh) {
                return state.clone();
            }
        }
        let task = tokio::spawn(refresh(
            slot.clone(),
            self.settings.clone(),
            url.clone(),
            guard,
        ));
        match task.await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                let state = slot.state.read().await;
                Snapshot {
                    error: Some(FeedError::Internal(e.to_string())),
                    ..state.clone()
                }
            }
        }
    }
}

/// Fetch and record the outcome; `_guard` is the entry's fetch lock, held until the end.
async fn refresh(
    slot: Arc<Slot>,
    settings: Arc<Settings>,
    url: Url,
    _guard: OwnedMutexGuard<()>,
) -> Snapshot {
    let previous = slot.state.read().await.good.clone();
    let outcome = fetch(&settings, &url, previous.as_ref()).await;
    let now = settings.clock.now();
    let mut state = slot.state.write().await;
    match outcome {
        Ok(Some(copy)) => {
            state.good = Some(copy);
            state.error = None;
        }
        Ok(None) => state.error = None,
        Err(e) => {
            tracing::warn!(feed = %url, error = %e, "feed refresh failed");
            state.error = Some(e);
        }
    }
    state.checked = Some(now);
    state.clone()
}

/// Ask the server: `Ok(None)` when it says our copy is still good (`304`).
async fn fetch(
    settings: &Settings,
    url: &Url,
    previous: Option<&GoodCopy>,
) -> Result<Option<GoodCopy>, FeedError> {
    let mut request = OutboundRequest::get(url.clone())
        .timeout(settings.timeout)
        .max_body(settings.max_bytes)
        .max_redirects(3)
        .header(ACCEPT, ACCEPT_FEEDS);
    if let Some(previous) = previous {
        if let Some(etag) = &previous.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = &previous.last_modified {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
    }
    let response = settings.fetcher.send(request).await?;
    if response.status == StatusCode::NOT_MODIFIED && previous.is_some() {
        return Ok(None);
    }
    if !response.status.is_success() {
        return Err(FeedError::Status(response.status.as_u16()));
    }
    if response.body.len() > settings.max_bytes {
        return Err(FeedError::TooLarge {
            limit: settings.max_bytes,
        });
    }
    let validator = |name: &str| {
        response
            .header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= MAX_VALIDATOR_LEN)
            .map(str::to_string)
    };
    let etag = validator("etag");
    let last_modified = validator("last-modified");
    let base = response.url.clone();
    let body = response.body;
    // Parsing and sanitizing take a few milliseconds of CPU: off the async workers.
    let feed = tokio::task::spawn_blocking(move || parse_feed(&body, &base))
        .await
        .map_err(|e| FeedError::Internal(format!("the feed parser stopped: {e}")))??;
    Ok(Some(GoodCopy {
        feed: Arc::new(feed),
        etag,
        last_modified,
        fetched: settings.clock.now(),
    }))
}

impl From<FetchError> for FeedError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Timeout(d) => FeedError::Timeout(d),
            FetchError::TooLarge { limit } => FeedError::TooLarge { limit },
            FetchError::Refused { url, reason } => FeedError::Refused { url, reason },
            FetchError::InvalidUrl(url) => FeedError::Refused {
                url,
                reason: "not a valid URL".into(),
            },
            FetchError::TooManyRedirects => FeedError::TooManyRedirects,
            FetchError::Connect(e) | FetchError::Http(e) => FeedError::Unreachable(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_follows_refresh_and_retry_intervals() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let refresh = Duration::from_secs(900);
        let mut s = Snapshot::default();
        assert!(!s.is_fresh(t0, refresh), "never fetched");
        s.checked = Some(t0);
        assert!(s.is_fresh(t0 + Duration::from_secs(899), refresh));
        assert!(!s.is_fresh(t0 + Duration::from_secs(900), refresh));
        assert!(
            s.is_fresh(t0 - Duration::from_secs(10), refresh),
            "clock went back"
        );
        s.error = Some(FeedError::Status(500));
        assert!(s.is_fresh(t0 + Duration::from_secs(59), refresh));
        assert!(
            !s.is_fresh(t0 + Duration::from_secs(60), refresh),
            "retried after a minute"
        );
        assert!(!s.is_fresh(t0 + Duration::from_secs(5), Duration::from_secs(5)));
    }

    #[test]
    fn fetch_errors_map_to_feed_errors() {
        assert_eq!(
            FeedError::from(FetchError::Timeout(Duration::from_secs(3))),
            FeedError::Timeout(Duration::from_secs(3))
        );
        assert_eq!(
            FeedError::from(FetchError::TooLarge { limit: 10 }),
            FeedError::TooLarge { limit: 10 }
        );
        assert!(matches!(
            FeedError::from(FetchError::Connect("refused".into())),
            FeedError::Unreachable(_)
        ));
        assert!(matches!(
            FeedError::from(FetchError::Refused {
                url: "http://10.0.0.1/".into(),
                reason: "private".into()
            }),
            FeedError::Refused { .. }
        ));
    }
}
