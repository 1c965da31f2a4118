//! The consumer: remote portlets shown in this portal like any other.
//!
//! [`RemoteProducer::connect`] reads a producer's service description and gives one
//! [`RemotePortlet`] per portlet offered; each implements [`Portlet`], so the portal
//! places, guards and lays them out like in-process ones. Every call is signed, bounded
//! by `timeout_ms` (keep it under the portal's `deadline_ms`), never retried; markup
//! answers are cached as the producer's `Cache-Control` and `ETag` say; a remote portlet
//! that keeps failing is left alone for `open_seconds` (circuit breaker, one per remote
//! portlet: its siblings of the same producer go on rendering) while its windows show a
//! short notice at once.
//!
//! ```no_run
//! # async fn wire() -> Result<(), Box<dyn std::error::Error>> {
//! use cartable_fetch::{Fetcher, HostPolicy};
//! use cartable_remote::{RemoteConfig, RemoteProducer};
//!
//! let config: RemoteConfig = toml::from_str(r#"
//!     id = "lumiere"
//!     url = "https://ent.lycee-lumiere.fr/remote/"
//!     key_id = "ent-voisin"
//!     key = "a shared secret of at least 32 bytes!!"
//! "#)?;
//! let fetcher = Fetcher::new(HostPolicy::new().allow("ent.lycee-lumiere.fr"));
//! let producer = RemoteProducer::connect(config, fetcher).await?;
//! let portlets = producer.portlets(); // ids "lumiere-bienvenue", …: give them to PortalBuilder
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::prelude::*;
use bytes::Bytes;
use cartable_fetch::{FetchError, Fetcher, OutboundRequest, OutboundResponse};
use cartable_portlet::markup::escape;
use cartable_portlet::{
    ActionRequest, ActionResponse, Descriptor, Event, Markup, Params, Portlet, PortletContext,
    PortletError, RenderResponse, ResourceRequest, ResourceResponse, is_valid_id,
};
use cartable_portlet::{Mode, Preference, WindowState};
use cartable_socle::{Person, Profile, SocleError};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::breaker::{Breaker, Permit};
use crate::cache::{CacheDirectives, DEFAULT_CAPACITY, Lookup, MarkupCache, cache_key_of_digest};
use crate::markup::{Prepared, Rewriter};
use crate::protocol::{
    ActionCall, ActionResult, CallContext, DescriptionError, ErrorBody, ErrorCode, EventCall,
    EventResult, HEADER_ATTACHMENT, HEADER_EXPIRES, HEADER_KEY_ID, HEADER_NONCE,
    HEADER_RESOURCE_STATUS, HEADER_SIGNATURE, MarkupResponse, PROTOCOL, PreferenceValue,
    ResourceCall, ServiceDescription, WindowRef, endpoints,
};
use crate::signing::{KeyError, Nonce, SigningKey, body_digest, unix_now};

/// The consumer's words in the window, `locales/*.ftl` (domain `cartable-remote`).
static MESSAGES: std::sync::LazyLock<cartable_portlet::i18n::Messages> =
    std::sync::LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The largest markup answer read.
const MAX_MARKUP: usize = 1024 * 1024;
/// The largest service description read.
const MAX_DESCRIPTION: usize = 1024 * 1024;
/// The signature headers, parsed once.
const KEY_ID: HeaderName = HeaderName::from_static(HEADER_KEY_ID);
const EXPIRES: HeaderName = HeaderName::from_static(HEADER_EXPIRES);
const SIGNATURE: HeaderName = HeaderName::from_static(HEADER_SIGNATURE);
const NONCE: HeaderName = HeaderName::from_static(HEADER_NONCE);
/// How long the signature of each call is valid.
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(60);

/// One remote producer in the consumer's configuration (e.g. a `[[remote]]` table).
///
/// ```toml
/// id = "lumiere"                       # local ids become "lumiere-<portlet>"
/// url = "https://ent.lycee-lumiere.fr/remote/"
/// key_id = "ent-voisin"                # names this ENT to the producer
/// key = "…64 hex characters…"          # the shared secret
/// trusted = false                      # sanitize its markup (the default)
/// timeout_ms = 2000                    # per call; keep it under the portal's deadline_ms
/// failures_before_open = 3             # failures in a row that open a portlet's breaker
/// open_seconds = 30                    # how long it stays open
/// ```
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// The producer's local name, `[a-z0-9-]`: prefix of its portlets' local ids.
    pub id: String,
    /// The producer's base URL (its endpoints are relative to it).
    #[schemars(with = "String")]
    pub url: Url,
    /// The id of the key shared with the producer; it names this consumer there.
    pub key_id: String,
    /// The shared secret (at least 32 bytes).
    pub key: String,
    /// Show its markup as it is (an établissement's own producer), instead of sanitized.
    #[serde(default)]
    pub trusted: bool,
    /// The deadline of each call, in milliseconds (2000 by default).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Failures in a row of one remote portlet after which that portlet is not called for
    /// a while (3); the producer's other portlets are not affected.
    #[serde(default = "default_failures_before_open")]
    pub failures_before_open: u32,
    /// How long the portlet is not called after that, in seconds (30).
    #[serde(default = "default_open_seconds")]
    pub open_seconds: u64,
    /// Only these remote portlets (by the producer's ids); all when absent.
    #[serde(default)]
    pub portlets: Option<Vec<String>>,
    /// Local ids for some remote portlets (remote id → local id), instead of
    /// `<id>-<remote id>`.
    #[serde(default)]
    pub local_ids: BTreeMap<String, String>,
    /// The user attributes passed to the producer (case-insensitive names; `"*"` for
    /// all). By default: mail, structures, classes and levels (see
    /// [`DEFAULT_ATTRIBUTES`]).
    #[serde(default = "default_attributes")]
    pub attributes: Vec<String>,
    /// The largest resource answer relayed, in bytes (2 MiB).
    #[serde(default = "default_max_resource_bytes")]
    pub max_resource_bytes: usize,
}

/// The user attributes passed to producers unless configured otherwise: enough to know
/// who and where (mail, établissement, classes, subjects), nothing more.
pub const DEFAULT_ATTRIBUTES: [&str; 10] = [
    "mail",
    "ENTPersonStructRattach",
    "ENTPersonEtablissements",
    "ENTEleveClasses",
    "ENTEleveNiveau",
    "ENTAuxEnsClasses",
    "ENTAuxEnsMatiereEnseignEtab",
    "supannEtablissement",
    "supannEntiteAffectation",
    "eduPersonAffiliation",
];

fn default_timeout_ms() -> u64 {
    2000
}
fn default_failures_before_open() -> u32 {
    3
}
fn default_open_seconds() -> u64 {
    30
}
fn default_attributes() -> Vec<String> {
    DEFAULT_ATTRIBUTES.iter().map(|s| s.to_string()).collect()
}
fn default_max_resource_bytes() -> usize {
    2 * 1024 * 1024
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("id", &self.id)
            .field("url", &self.url.as_str())
            .field("key_id", &self.key_id)
            .field("key", &"<redacted>")
            .field("trusted", &self.trusted)
            .field("timeout_ms", &self.timeout_ms)
            .field("failures_before_open", &self.failures_before_open)
            .field("open_seconds", &self.open_seconds)
            .field("portlets", &self.portlets)
            .field("local_ids", &self.local_ids)
            .field("attributes", &self.attributes)
            .field("max_resource_bytes", &self.max_resource_bytes)
            .finish()
    }
}

impl RemoteConfig {
    /// A configuration with the defaults.
    pub fn new(id: &str, url: Url, key_id: &str, key: &str) -> Self {
        RemoteConfig {
            id: id.to_string(),
            url,
            key_id: key_id.to_string(),
            key: key.to_string(),
            trusted: false,
            timeout_ms: default_timeout_ms(),
            failures_before_open: default_failures_before_open(),
            open_seconds: default_open_seconds(),
            portlets: None,
            local_ids: BTreeMap::new(),
            attributes: default_attributes(),
            max_resource_bytes: default_max_resource_bytes(),
        }
    }

    /// Check the values that serde cannot.
    pub fn validate(&self) -> Result<(), RemoteError> {
        let fail = |reason: String| RemoteError::InvalidConfig {
            producer: self.id.clone(),
            reason,
        };
        if !is_valid_id(&self.id) {
            return Err(fail("`id` must be 1 to 64 of [a-z0-9-]".into()));
        }
        if !matches!(self.url.scheme(), "http" | "https") || self.url.host_str().is_none() {
            return Err(fail(format!(
                "`url` {} must be an http or https URL with a host",
                self.url
            )));
        }
        if self.url.query().is_some() || self.url.fragment().is_some() {
            return Err(fail("`url` must have no query and no fragment".into()));
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err(fail("`timeout_ms` must be between 1 and 60000".into()));
        }
        if self.failures_before_open == 0 {
            return Err(fail("`failures_before_open` must be at least 1".into()));
        }
        if self.open_seconds == 0 || self.open_seconds > 86_400 {
            return Err(fail("`open_seconds` must be between 1 and 86400".into()));
        }
        if self.max_resource_bytes == 0 {
            return Err(fail("`max_resource_bytes` must be at least 1".into()));
        }
        SigningKey::new(&self.key_id, &self.key)?;
        Ok(())
    }
}

/// Why a remote producer cannot be wired.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A configuration value is wrong.
    #[error("remote producer {producer:?}: {reason}")]
    InvalidConfig {
        /// The producer's configured id.
        producer: String,
        /// What to fix.
        reason: String,
    },
    /// The key is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The producer could not be reached.
    #[error(
        "cannot reach remote producer {producer:?} at {url}: {source}; check `url`, the host policy and that the producer runs"
    )]
    Unreachable {
        /// The producer's configured id.
        producer: String,
        /// The URL called.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
    /// The producer refused the service description call.
    #[error("remote producer {producer:?} answered {status} to the service description: {message}")]
    Refused {
        /// The producer's configured id.
        producer: String,
        /// The HTTP status.
        status: u16,
        /// The producer's message, with a hint.
        message: String,
    },
    /// The service description is not what the protocol says.
    #[error("remote producer {producer:?} sent an invalid service description: {reason}")]
    InvalidDescription {
        /// The producer's configured id.
        producer: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration names a portlet the producer does not offer.
    #[error(
        "remote producer {producer:?} offers no portlet {id:?} (it offers: {offered}); fix `portlets` or `local_ids`"
    )]
    UnknownPortlet {
        /// The producer's configured id.
        producer: String,
        /// The missing portlet.
        id: String,
        /// What it offers.
        offered: String,
    },
    /// A portlet's description cannot become a local descriptor.
    #[error(transparent)]
    Description(#[from] DescriptionError),
}

/// A producer this portal shows portlets of.
#[derive(Debug)]
pub struct RemoteProducer {
    link: Arc<Link>,
    description: ServiceDescription,
    portlets: Vec<Arc<RemotePortlet>>,
}

impl RemoteProducer {
    /// Read the producer's service description and prepare its portlets. Fails when the
    /// producer is unreachable or refuses us: log it and start without its portlets, or
    /// stop, as the établissement prefers.
    pub async fn connect(config: RemoteConfig, fetcher: Fetcher) -> Result<Self, RemoteError> {
        config.validate()?;
        let link = Arc::new(Link::new(config, fetcher)?);
        let description = link.description().await?;
        let producer = link.config.id.clone();
        let offered: Vec<&str> = description.portlets.iter().map(|p| p.id.as_str()).collect();
        let wanted: Vec<&str> = match &link.config.portlets {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => offered.clone(),
        };
        for id in wanted
            .iter()
            .copied()
            .chain(link.config.local_ids.keys().map(String::as_str))
        {
            if !offered.contains(&id) {
                return Err(RemoteError::UnknownPortlet {
                    producer,
                    id: id.to_string(),
                    offered: offered.join(", "),
                });
            }
        }
        let mut portlets = Vec::new();
        for remote in description
            .portlets
            .iter()
            .filter(|p| wanted.contains(&p.id.as_str()))
        {
            let local_id = link
                .config
                .local_ids
                .get(&remote.id)
                .cloned()
                .unwrap_or_else(|| format!("{}-{}", link.config.id, remote.id));
            let markup = link
                .endpoint(&["portlets", remote.id.as_str(), endpoints::MARKUP])
                .map_err(|e| RemoteError::InvalidConfig {
                    producer: producer.clone(),
                    reason: e.to_string(),
                })?;
            portlets.push(Arc::new(RemotePortlet {
                descriptor: remote.to_descriptor(&local_id)?,
                remote_id: remote.id.clone(),
                breaker: Mutex::new(link.new_breaker()),
                markup: Endpoint::new(markup),
                link: link.clone(),
            }));
        }
        Ok(RemoteProducer {
            link,
            description,
            portlets,
        })
    }

    /// The producer's configured id.
    pub fn id(&self) -> &str {
        &self.link.config.id
    }

    /// The service description it sent.
    pub fn description(&self) -> &ServiceDescription {
        &self.description
    }

    /// Its portlets, for `PortalBuilder::portlets`.
    pub fn portlets(&self) -> Vec<Arc<dyn Portlet>> {
        self.portlets
            .iter()
            .map(|p| p.clone() as Arc<dyn Portlet>)
            .collect()
    }

    /// Its portlets as [`RemotePortlet`]s.
    pub fn remote_portlets(&self) -> &[Arc<RemotePortlet>] {
        &self.portlets
    }

    /// Whether calls to at least one of its portlets are refused right now because that
    /// portlet kept failing (each remote portlet has its own breaker: see
    /// [`RemotePortlet::is_open`]).
    pub fn is_open(&self) -> bool {
        self.portlets.iter().any(|p| p.is_open())
    }
}

/// One portlet of a remote producer, shown in this portal.
#[derive(Debug)]
pub struct RemotePortlet {
    descriptor: Descriptor,
    remote_id: String,
    link: Arc<Link>,
    /// This portlet's own circuit breaker: a portlet of the producer that hangs or fails
    /// does not turn off its siblings.
    breaker: Mutex<Breaker>,
    /// Its markup endpoint, built once.
    markup: Endpoint,
}

/// A markup answer as the consumer's cache keeps it: ready to serve to its window.
#[derive(Debug)]
struct Fragment {
    /// The producer's markup as it came (to prepare it for another window, should one
    /// ask).
    markup: String,
    /// The title, without control characters.
    title: Option<String>,
    /// The markup rewritten (and sanitized) for the window it was asked for, without the
    /// reader's token.
    prepared: Prepared,
}

impl RemotePortlet {
    /// The producer's id of the portlet.
    pub fn remote_id(&self) -> &str {
        &self.remote_id
    }

    /// Whether calls to this portlet are refused right now because it kept failing.
    pub fn is_open(&self) -> bool {
        self.breaker().is_open(Instant::now())
    }

    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The producer's configured id.
    pub fn producer_id(&self) -> &str {
        &self.link.config.id
    }

    /// What the window shows while the producer cannot be reached.
    fn fallback(&self, ctx: &PortletContext) -> RenderResponse {
        let text = ctx.t(&MESSAGES, "unavailable");
        Markup::trusted_html(format!(
            r#"<p class="remote-unavailable" role="status">{}</p>"#,
            escape(&text)
        ))
        .into()
    }

    /// A markup answer made fit for this window (not yet for its reader).
    fn prepare(&self, ctx: &PortletContext, answer: MarkupResponse) -> Fragment {
        let prepared = Rewriter::for_context(ctx).prepare(&answer.markup, self.link.config.trusted);
        Fragment {
            title: answer
                .title
                .map(|t| t.chars().filter(|c| !c.is_control()).take(200).collect()),
            markup: answer.markup,
            prepared,
        }
    }

    /// A prepared fragment with this reader's CSRF token put in.
    fn present(&self, ctx: &PortletContext, fragment: &Fragment) -> RenderResponse {
        let token = ctx.csrf_token();
        let html = if fragment
            .prepared
            .is_for(ctx.urls(), &ctx.window().namespace())
        {
            fragment.prepared.personalize(token)
        } else {
            // Kept for another window (another portal base): prepare it again.
            Rewriter::for_context(ctx)
                .prepare(&fragment.markup, self.link.config.trusted)
                .personalize(token)
        };
        let mut response = RenderResponse::new(Markup::trusted_html(html));
        response.title = fragment.title.clone();
        response
    }

    fn endpoint(&self, last: &[&str]) -> Result<Endpoint, PortletError> {
        let mut segments = vec!["portlets", self.remote_id.as_str()];
        segments.extend_from_slice(last);
        self.link.endpoint(&segments).map(Endpoint::new)
    }

    /// Ask the breaker; refused calls fail at once.
    fn admit(&self) -> Result<(), PortletError> {
        match self.breaker().permit(Instant::now()) {
            Permit::Call | Permit::Probe => Ok(()),
            Permit::Refuse(left) => Err(self.link.unavailable(format!(
                "not called for {} s more after repeated failures",
                left.as_secs() + 1
            ))),
        }
    }
}

#[async_trait]
impl Portlet for RemotePortlet {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let body = to_json(&self.link.call_context_ref(ctx))?;
        let digest = body_digest(&body);
        let key = cache_key_of_digest(&self.remote_id, &digest);
        let lookup = self.link.cache().lookup(&key, Instant::now());
        let etag = match lookup {
            Lookup::Fresh(fragment) => return Ok(self.present(ctx, &fragment)),
            Lookup::Stale(etag) => Some(etag),
            Lookup::Miss => None,
        };
        if self.admit().is_err() {
            return Ok(self.fallback(ctx));
        }
        let extra = etag.map(|e| (header::IF_NONE_MATCH, e));
        let sent = self
            .link
            .send(
                &self.breaker,
                &self.markup,
                Signed::new(body, digest),
                extra,
                MAX_MARKUP,
            )
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(failure) => {
                tracing::warn!(producer = %self.link.config.id, portlet = %self.remote_id, "markup failed: {failure}");
                return Ok(self.fallback(ctx));
            }
        };
        let directives = CacheDirectives::parse(response.header("cache-control"));
        let now = Instant::now();
        match response.status {
            StatusCode::OK => {
                let answer: MarkupResponse = match self.link.parse(&self.breaker, &response) {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(producer = %self.link.config.id, "unreadable markup answer: {e}");
                        return Ok(self.fallback(ctx));
                    }
                };
                let etag = response.header("etag").map(str::to_string);
                let fragment = Arc::new(self.prepare(ctx, answer));
                let out = self.present(ctx, &fragment);
                self.link.cache().store(
                    key,
                    &self.remote_id,
                    &ctx.user().id,
                    fragment,
                    directives,
                    etag,
                    now,
                );
                Ok(out)
            }
            StatusCode::NOT_MODIFIED => {
                let kept = self.link.cache().revalidated(&key, directives, now);
                match kept {
                    Some(fragment) => Ok(self.present(ctx, &fragment)),
                    None => Ok(self.fallback(ctx)),
                }
            }
            _ => Err(self.link.error_of(&response)),
        }
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        self.admit()?;
        let call = ActionCall {
            context: self.link.call_context(ctx),
            form: request.form,
        };
        let endpoint = self.endpoint(&[endpoints::ACTION])?;
        // Never retried: an action may have happened even if its answer was lost.
        let body = Signed::of(to_json(&call)?);
        let response = self
            .link
            .send(&self.breaker, &endpoint, body, None, MAX_MARKUP)
            .await?;
        self.link
            .cache()
            .invalidate(&self.remote_id, &ctx.user().id);
        if response.status != StatusCode::OK {
            return Err(self.link.error_of(&response));
        }
        let result: ActionResult = self.link.parse(&self.breaker, &response)?;
        apply_preferences(ctx, &result.preferences)?;
        Ok(ActionResponse {
            params: result.params,
            mode: result.mode,
            state: result.state,
            events: result.events,
        })
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        self.admit()?;
        let call = ResourceCall {
            context: self.link.call_context(ctx),
            method: request.method.as_str().to_string(),
            params: request.params,
            body: BASE64_STANDARD.encode(&request.body),
        };
        let endpoint = self.endpoint(&[endpoints::RESOURCE, &request.id])?;
        let limit = self.link.config.max_resource_bytes;
        let body = Signed::of(to_json(&call)?);
        let response = self
            .link
            .send(&self.breaker, &endpoint, body, None, limit)
            .await?;
        if response.status != StatusCode::OK {
            return Err(self.link.error_of(&response));
        }
        let status = response
            .header(HEADER_RESOURCE_STATUS)
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let content_type = response
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        let attachment = response.header(HEADER_ATTACHMENT).map(|a| {
            percent_encoding::percent_decode_str(a)
                .decode_utf8_lossy()
                .into_owned()
        });
        let mut out = ResourceResponse::bytes(&content_type, response.body.clone());
        out.status = status;
        out.attachment = attachment;
        if !self.link.config.trusted {
            out = confine_resource(out, &Rewriter::for_context(ctx));
        }
        Ok(out)
    }

    async fn event(
        &self,
        ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        self.admit()?;
        let call = EventCall {
            context: self.link.call_context(ctx),
            event: event.clone(),
        };
        let endpoint = self.endpoint(&[endpoints::EVENT])?;
        let body = Signed::of(to_json(&call)?);
        let response = self
            .link
            .send(&self.breaker, &endpoint, body, None, MAX_MARKUP)
            .await?;
        self.link
            .cache()
            .invalidate(&self.remote_id, &ctx.user().id);
        if response.status != StatusCode::OK {
            return Err(self.link.error_of(&response));
        }
        let result: EventResult = self.link.parse(&self.breaker, &response)?;
        apply_preferences(ctx, &result.preferences)?;
        Ok(result.events)
    }
}

/// What one producer's portlets share: configuration, key, client and cache (each
/// portlet has its own breaker).
struct Link {
    config: RemoteConfig,
    key: SigningKey,
    fetcher: Fetcher,
    base: Url,
    cache: Mutex<MarkupCache<Arc<Fragment>>>,
    /// The headers every POST carries: content type, accept, key id.
    post_headers: HeaderMap,
    /// Whether every user attribute is passed (`attributes = ["*"]`).
    all_attributes: bool,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A call that got no usable answer: the producer counts as failing.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Fetch(FetchError),
    #[error("the producer answered {0}")]
    Status(StatusCode),
}

impl Link {
    fn new(config: RemoteConfig, fetcher: Fetcher) -> Result<Self, RemoteError> {
        let key = SigningKey::new(&config.key_id, &config.key)?;
        let mut base = config.url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let json = HeaderValue::from_static("application/json");
        let mut post_headers = HeaderMap::new();
        post_headers.insert(header::CONTENT_TYPE, json.clone());
        post_headers.insert(header::ACCEPT, json);
        let key_id = HeaderValue::from_str(key.id())
            .map_err(|_| RemoteError::Key(KeyError::InvalidId(key.id().to_string())))?;
        post_headers.insert(KEY_ID, key_id);
        Ok(Link {
            cache: Mutex::new(MarkupCache::new(DEFAULT_CAPACITY)),
            post_headers,
            all_attributes: config.attributes.iter().any(|a| a == "*"),
            key,
            fetcher,
            base,
            config,
        })
    }

    /// A closed breaker with the configured threshold and period, for one portlet.
    fn new_breaker(&self) -> Breaker {
        Breaker::new(
            self.config.failures_before_open,
            Duration::from_secs(self.config.open_seconds),
        )
    }

    fn cache(&self) -> MutexGuard<'_, MarkupCache<Arc<Fragment>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.timeout_ms)
    }

    /// An endpoint URL: the base and percent-encoded segments.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, PortletError> {
        let path: Vec<String> = segments
            .iter()
            .map(|s| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect();
        self.base
            .join(&path.join("/"))
            .map_err(|e| PortletError::Internal(format!("cannot build the producer URL: {e}")))
    }

    fn unavailable(&self, detail: String) -> PortletError {
        PortletError::Socle(SocleError::Unavailable {
            backend: "remote producer",
            detail: format!("{}: {detail}", self.config.id),
        })
    }

    /// `GET description`, signed.
    async fn description(&self) -> Result<ServiceDescription, RemoteError> {
        let producer = self.config.id.clone();
        let url = self
            .endpoint(&[crate::protocol::endpoints::DESCRIPTION])
            .map_err(|e| RemoteError::InvalidConfig {
                producer: producer.clone(),
                reason: e.to_string(),
            })?;
        let path = path_and_query(&url);
        let mut request = OutboundRequest::get(url.clone())
            .timeout(self.timeout().max(Duration::from_secs(5)))
            .max_body(MAX_DESCRIPTION)
            .max_redirects(0)
            .header(header::ACCEPT, "application/json");
        for (name, value) in self
            .key
            .headers(&Method::GET, &path, b"", SIGNATURE_LIFETIME)
        {
            request = request.header(HeaderName::from_static(name), &value);
        }
        let response =
            self.fetcher
                .send(request)
                .await
                .map_err(|source| RemoteError::Unreachable {
                    producer: producer.clone(),
                    url: url.to_string(),
                    source,
                })?;
        if response.status != StatusCode::OK {
            let mut message = error_message(&response);
            if response.status == StatusCode::UNAUTHORIZED {
                message.push_str(" (check `key_id` and `key` against the producer's registration)");
            }
            return Err(RemoteError::Refused {
                producer,
                status: response.status.as_u16(),
                message,
            });
        }
        let description: ServiceDescription =
            serde_json::from_slice(&response.body).map_err(|e| {
                RemoteError::InvalidDescription {
                    producer: producer.clone(),
                    reason: e.to_string(),
                }
            })?;
        if description.protocol != PROTOCOL {
            return Err(RemoteError::InvalidDescription {
                producer,
                reason: format!(
                    "protocol {:?}, this consumer speaks {PROTOCOL:?}",
                    description.protocol
                ),
            });
        }
        Ok(description)
    }

    /// Send one signed POST, once, within the call deadline; the calling portlet's
    /// breaker hears how it went.
    async fn send(
        &self,
        breaker: &Mutex<Breaker>,
        endpoint: &Endpoint,
        body: Signed,
        extra: Option<(HeaderName, String)>,
        max_body: usize,
    ) -> Result<OutboundResponse, Failure> {
        let expires = unix_now().saturating_add(SIGNATURE_LIFETIME.as_secs());
        // A fresh nonce for every call: the producer accepts each one once.
        let nonce = Nonce::random();
        let signature =
            self.key
                .sign_digest(&Method::POST, &endpoint.path, expires, nonce, &body.digest);
        // Room for these, the signature, a validator and the fetcher's user agent.
        let mut headers = HeaderMap::with_capacity(8);
        for (name, value) in &self.post_headers {
            headers.insert(name, value.clone());
        }
        headers.insert(EXPIRES, HeaderValue::from(expires));
        if let Ok(value) = HeaderValue::from_str(&nonce.to_string()) {
            headers.insert(NONCE, value);
        }
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert(SIGNATURE, value);
        }
        if let Some((name, value)) = extra {
            match HeaderValue::from_str(&value) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => tracing::warn!(%name, "dropping an invalid outbound header value"),
            }
        }
        let request = OutboundRequest {
            method: Method::POST,
            url: endpoint.url.clone(),
            headers,
            body: body.body,
            timeout: self.timeout(),
            max_body,
            max_redirects: 0,
        };
        // The fetcher enforces the deadline; this outer one also bounds a stuck resolver.
        let sent = tokio::time::timeout(
            self.timeout() + Duration::from_millis(50),
            self.fetcher.send(request),
        )
        .await
        .unwrap_or(Err(FetchError::Timeout(self.timeout())));
        let outcome = match sent {
            // A portlet's own error (500 with an error body) shows the producer is alive.
            Ok(r)
                if r.status == StatusCode::INTERNAL_SERVER_ERROR
                    && serde_json::from_slice::<ErrorBody>(&r.body).is_ok() =>
            {
                Ok(r)
            }
            Ok(r) if r.status.is_server_error() => Err(Failure::Status(r.status)),
            Ok(r) => Ok(r),
            Err(e @ FetchError::TooLarge { .. }) => {
                // The producer is alive; the answer is just too big.
                lock(breaker).success();
                return Err(Failure::Fetch(e));
            }
            Err(e) => Err(Failure::Fetch(e)),
        };
        match &outcome {
            Ok(_) => lock(breaker).success(),
            Err(_) => lock(breaker).failure(Instant::now()),
        }
        outcome
    }

    /// Decode a JSON answer; garbage counts as a failure of the portlet.
    fn parse<T: DeserializeOwned>(
        &self,
        breaker: &Mutex<Breaker>,
        response: &OutboundResponse,
    ) -> Result<T, PortletError> {
        serde_json::from_slice(&response.body).map_err(|e| {
            lock(breaker).failure(Instant::now());
            self.unavailable(format!("unreadable answer: {e}"))
        })
    }

    /// A producer's error answer as the portlet error the portal expects.
    fn error_of(&self, response: &OutboundResponse) -> PortletError {
        let message = error_message(response);
        let code = serde_json::from_slice::<ErrorBody>(&response.body)
            .ok()
            .map(|b| b.error.code);
        match (code, response.status) {
            (Some(ErrorCode::NotFound), _) | (None, StatusCode::NOT_FOUND) => {
                PortletError::NotFound(message)
            }
            (Some(ErrorCode::BadRequest), _) | (None, StatusCode::BAD_REQUEST) => {
                PortletError::BadRequest(message)
            }
            (Some(ErrorCode::Forbidden), _) | (None, StatusCode::FORBIDDEN) => {
                PortletError::Forbidden
            }
            (Some(ErrorCode::Conflict), _) | (None, StatusCode::CONFLICT) => {
                PortletError::Conflict(message)
            }
            (Some(ErrorCode::Unauthorized), _) | (None, StatusCode::UNAUTHORIZED) => {
                PortletError::Internal(format!(
                    "producer {} refused our signature ({message}); check `key_id` and `key`",
                    self.config.id
                ))
            }
            (Some(ErrorCode::Internal), _) => {
                PortletError::Internal(format!("producer {}: {message}", self.config.id))
            }
            _ => self.unavailable(format!("answered {}: {message}", response.status)),
        }
    }

    /// Whether a user attribute is passed to the producer.
    fn passes(&self, name: &str) -> bool {
        self.all_attributes
            || self
                .config
                .attributes
                .iter()
                .any(|a| a.eq_ignore_ascii_case(name))
    }

    /// [`Link::call_context`] borrowed from the portlet context, for serializing.
    fn call_context_ref<'a>(&'a self, ctx: &'a PortletContext) -> CallContextRef<'a> {
        let user = ctx.user();
        let window = ctx.window();
        CallContextRef {
            user: UserRef {
                id: &user.id,
                display_name: &user.display_name,
                profiles: &user.profiles,
                attributes: AttributesRef {
                    link: self,
                    attributes: &user.attributes,
                },
            },
            window: WindowRefRef {
                id: &window.id,
                tab: &window.tab,
                mode: window.mode,
                state: window.state,
            },
            preferences: PreferencesRef(ctx.preferences.entries()),
            params: ctx.params(),
            locale: ctx.locale(),
        }
    }

    /// What the producer is told about the call: user (with the configured attributes),
    /// window, preferences, parameters, locale.
    fn call_context(&self, ctx: &PortletContext) -> CallContext {
        let user = ctx.user();
        let attributes = user
            .attributes
            .iter()
            .filter(|(name, _)| self.passes(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let window = ctx.window();
        CallContext {
            user: Person {
                id: user.id.clone(),
                display_name: user.display_name.clone(),
                profiles: user.profiles.clone(),
                attributes,
            },
            window: WindowRef {
                id: window.id.clone(),
                tab: window.tab.clone(),
                mode: window.mode,
                state: window.state,
            },
            preferences: ctx
                .preferences
                .entries()
                .iter()
                .map(|(name, p)| {
                    (
                        name.clone(),
                        PreferenceValue {
                            value: p.value.clone(),
                            locked: p.locked,
                        },
                    )
                })
                .collect(),
            params: ctx.params().clone(),
            locale: ctx.locale().to_string(),
        }
    }
}

fn lock(breaker: &Mutex<Breaker>) -> MutexGuard<'_, Breaker> {
    breaker.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request body and its SHA-256 (hashed once: for the cache key and the signature).
struct Signed {
    body: Bytes,
    digest: [u8; 32],
}

impl Signed {
    fn new(body: Vec<u8>, digest: [u8; 32]) -> Self {
        Signed {
            body: Bytes::from(body),
            digest,
        }
    }

    fn of(body: Vec<u8>) -> Self {
        let digest = body_digest(&body);
        Signed::new(body, digest)
    }
}

/// A producer URL and its path and query as signed.
#[derive(Debug, Clone)]
struct Endpoint {
    url: Url,
    path: String,
}

impl Endpoint {
    fn new(url: Url) -> Self {
        Endpoint {
            path: path_and_query(&url),
            url,
        }
    }
}

/// The [`CallContext`] of a portlet call, borrowed: the same JSON, without copying the
/// user, preferences and parameters first.
#[derive(Serialize)]
struct CallContextRef<'a> {
    user: UserRef<'a>,
    window: WindowRefRef<'a>,
    preferences: PreferencesRef<'a>,
    params: &'a Params,
    locale: &'a str,
}

/// [`Person`] borrowed, with only the attributes passed to the producer.
#[derive(Serialize)]
struct UserRef<'a> {
    id: &'a str,
    display_name: &'a str,
    profiles: &'a [Profile],
    attributes: AttributesRef<'a>,
}

/// [`WindowRef`] borrowed.
#[derive(Serialize)]
struct WindowRefRef<'a> {
    id: &'a str,
    tab: &'a str,
    mode: Mode,
    state: WindowState,
}

struct AttributesRef<'a> {
    link: &'a Link,
    attributes: &'a BTreeMap<String, Vec<String>>,
}

impl Serialize for AttributesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.attributes
                .iter()
                .filter(|(name, _)| self.link.passes(name)),
        )
    }
}

/// The preferences as [`PreferenceValue`]s.
struct PreferencesRef<'a>(&'a BTreeMap<String, Preference>);

#[derive(Serialize)]
struct PreferenceValueRef<'a> {
    value: &'a str,
    locked: bool,
}

impl Serialize for PreferencesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, p)| {
            (
                name,
                PreferenceValueRef {
                    value: &p.value,
                    locked: p.locked,
                },
            )
        }))
    }
}

impl From<Failure> for PortletError {
    fn from(f: Failure) -> Self {
        let detail = f.to_string();
        match f {
            Failure::Fetch(FetchError::TooLarge { limit }) => PortletError::Internal(format!(
                "the producer's answer is over {limit} bytes (raise `max_resource_bytes`)"
            )),
            _ => PortletError::Socle(SocleError::Unavailable {
                backend: "remote producer",
                detail,
            }),
        }
    }
}

/// Changes of preferences the producer reports, stored by the portal after the call.
fn apply_preferences(ctx: &mut PortletContext, changes: &Params) -> Result<(), PortletError> {
    for (name, value) in changes {
        ctx.preferences.set(name, value.clone())?;
    }
    Ok(())
}

/// Content types an untrusted producer's resources keep; anything else is sent as a
/// download, and HTML is sanitized like markup. Nothing it sends can run as script on the
/// portal's origin.
const SAFE_RESOURCE_TYPES: [&str; 12] = [
    "application/json",
    "text/plain",
    "text/csv",
    "text/calendar",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/octet-stream",
    "application/zip",
    "application/vnd.oasis.opendocument.text",
];

fn confine_resource(mut out: ResourceResponse, rewriter: &Rewriter) -> ResourceResponse {
    let essence = out
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "text/html" {
        let html = String::from_utf8_lossy(&out.body);
        out.body = Bytes::from(rewriter.sanitized(&html));
        out.content_type = "text/html; charset=utf-8".into();
    } else if !SAFE_RESOURCE_TYPES.contains(&essence.as_str()) {
        out.content_type = "application/octet-stream".into();
        if out.attachment.is_none() {
            out.attachment = Some("resource".into());
        }
    }
    out
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, PortletError> {
    serde_json::to_vec(value)
        .map_err(|e| PortletError::Internal(format!("cannot encode JSON: {e}")))
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The message of an error answer, or its status.
fn error_message(response: &OutboundResponse) -> String {
    serde_json::from_slice::<ErrorBody>(&response.body)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| format!("status {}", response.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RemoteConfig {
        RemoteConfig::new(
            "lumiere",
            "https://ent.example.org/remote".parse().unwrap(),
            "ent-a",
            "0123456789abcdef0123456789abcdef",
        )
    }

    #[test]
    fn configuration_is_checked_with_hints() {
        assert!(config().validate().is_ok());
        let mut c = config();
        c.id = "Lumière".into();
        assert!(c.validate().unwrap_err().to_string().contains("[a-z0-9-]"));
        let mut c = config();
        c.url = "ftp://ent.example.org/".parse().unwrap();
        assert!(c.validate().is_err());
        let mut c = config();
        c.key = "short".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("at least 32")
        );
        let mut c = config();
        c.failures_before_open = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn toml_configuration_refuses_unknown_keys_and_hides_the_key() {
        #[derive(Deserialize)]
        struct File {
            remote: Vec<RemoteConfig>,
        }
        let ok: File = serde_json::from_value(serde_json::json!({
            "remote": [{"id": "a", "url": "http://127.0.0.1:9/", "key_id": "k", "key": "x"}]
        }))
        .unwrap();
        assert_eq!(ok.remote[0].timeout_ms, 2000);
        assert!(!ok.remote[0].trusted);
        assert!(!format!("{:?}", ok.remote[0]).contains("\"x\""));
        let bad = serde_json::from_value::<RemoteConfig>(serde_json::json!(
            {"id": "a", "url": "http://127.0.0.1:9/", "key_id": "k", "key": "x", "timout_ms": 5}
        ));
        assert!(bad.unwrap_err().to_string().contains("timout_ms"));
    }

    #[test]
    fn endpoints_are_relative_to_the_base_with_or_without_slash() {
        let fetcher = Fetcher::new(cartable_fetch::HostPolicy::new());
        let link = Link::new(config(), fetcher.clone()).unwrap();
        assert_eq!(
            link.endpoint(&["portlets", "a b", "resource", "x/y"])
                .unwrap()
                .as_str(),
            "https://ent.example.org/remote/portlets/a%20b/resource/x%2Fy"
        );
        let mut c = config();
        c.url = "https://ent.example.org/remote/".parse().unwrap();
        let link = Link::new(c, fetcher).unwrap();
        assert_eq!(
            link.endpoint(&["description"]).unwrap().as_str(),
            "https://ent.example.org/remote/description"
        );
    }

    /// A producer's fragment `f{i}`: answers at once, hangs while `hang` is set, or
    /// fails with a 503 while `fail` is set; counts its calls.
    struct Fragment {
        descriptor: Descriptor,
        hang: Arc<std::sync::atomic::AtomicBool>,
        fail: Arc<std::sync::atomic::AtomicBool>,
        calls: Arc<std::sync::atomic::AtomicUsize>,
    }

    #[async_trait]
    impl Portlet for Fragment {
        fn descriptor(&self) -> &Descriptor {
            &self.descriptor
        }
        async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
            use std::sync::atomic::Ordering;
            self.calls.fetch_add(1, Ordering::SeqCst);
            while self.hang.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(PortletError::Socle(SocleError::Unavailable {
                    backend: "test",
                    detail: "down".into(),
                }));
            }
            Ok(Markup::text(&format!("FRAGMENT {}", self.descriptor.id)).into())
        }
    }

    #[derive(Default, Clone)]
    struct Switches {
        hang: Arc<std::sync::atomic::AtomicBool>,
        fail: Arc<std::sync::atomic::AtomicBool>,
        calls: Arc<std::sync::atomic::AtomicUsize>,
    }

    fn calls(s: &Switches) -> usize {
        s.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_failing_portlet_does_not_turn_off_its_siblings() {
        use std::sync::atomic::Ordering;
        const SECRET: &str = "loopback-secret-0123456789abcdef0123";
        let switches: Vec<Switches> = (0..4).map(|_| Switches::default()).collect();
        let mut builder = crate::Producer::builder("fragments")
            .consumer("ent-a", SECRET)
            .unwrap()
            .deadline(Duration::from_secs(5));
        for (i, s) in switches.iter().enumerate() {
            builder = builder.portlet(Arc::new(Fragment {
                descriptor: Descriptor::new(&format!("f{i}"), "Fragment"),
                hang: s.hang.clone(),
                fail: s.fail.clone(),
                calls: s.calls.clone(),
            }));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = builder.build().await.unwrap().serve(listener).unwrap();
        let addr = running.local_addr();
        let mut config = RemoteConfig::new(
            "prod",
            format!("http://{addr}/").parse().unwrap(),
            "ent-a",
            SECRET,
        );
        config.timeout_ms = 300;
        config.failures_before_open = 2;
        config.open_seconds = 1;
        let fetcher = Fetcher::new(cartable_fetch::HostPolicy::new().allow(&addr.to_string()));
        let remote = RemoteProducer::connect(config, fetcher).await.unwrap();
        let kits: Vec<cartable_testkit::TestKit> = remote
            .portlets()
            .into_iter()
            .map(|p| {
                cartable_testkit::TestKit::new(p).user_with(
                    "lea",
                    "Léa Martin",
                    [cartable_socle::Profile::Eleve],
                )
            })
            .collect();
        let fragment = |i: usize| format!("FRAGMENT f{i}");
        let unavailable = "momentanément indisponible";

        // f1 hangs, f3 answers 503: each fails until its own breaker opens.
        switches[1].hang.store(true, Ordering::SeqCst);
        switches[3].fail.store(true, Ordering::SeqCst);
        for _ in 0..2 {
            for (i, kit) in kits.iter().enumerate() {
                let out = kit.render().await.unwrap().text();
                if i == 1 || i == 3 {
                    assert!(out.contains(unavailable), "f{i}: {out}");
                } else {
                    assert_eq!(out, fragment(i));
                }
            }
        }
        assert_eq!(calls(&switches[1]), 2);
        assert_eq!(calls(&switches[3]), 2);
        let portlets = remote.remote_portlets();
        assert!(portlets[1].is_open() && portlets[3].is_open());
        assert!(!portlets[0].is_open() && !portlets[2].is_open());
        assert!(remote.is_open(), "some portlet of the producer is off");

        // Open for f1 and f3 only: they get the notice at once and are not called; f0 and
        // f2 of the same producer keep rendering.
        for _ in 0..3 {
            for (i, kit) in kits.iter().enumerate() {
                let started = Instant::now();
                let out = kit.render().await.unwrap().text();
                if i == 1 || i == 3 {
                    assert!(out.contains(unavailable), "f{i}: {out}");
                    assert!(started.elapsed() < Duration::from_millis(250));
                } else {
                    assert_eq!(out, fragment(i));
                }
            }
        }
        assert_eq!(calls(&switches[1]), 2, "f1 not called while open");
        assert_eq!(calls(&switches[3]), 2, "f3 not called while open");
        assert_eq!(calls(&switches[0]), 5, "f0 called on every render");
        assert_eq!(calls(&switches[2]), 5);
        // Refused at once for actions too, only for the open portlet.
        let act = kits[1].action([("x", "1")]).await;
        assert!(
            matches!(
                act,
                Err(cartable_container::CallError::Portlet(PortletError::Socle(
                    _
                )))
            ),
            "{act:?}"
        );

        // After open_seconds, f1 is probed: it has recovered and closes; f3 still fails,
        // so its breaker opens again.
        switches[1].hang.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(kits[1].render().await.unwrap().text(), fragment(1));
        assert!(!portlets[1].is_open());
        assert!(kits[3].render().await.unwrap().text().contains(unavailable));
        assert_eq!(calls(&switches[3]), 3, "one probe");
        assert!(portlets[3].is_open());
        assert_eq!(kits[0].render().await.unwrap().text(), fragment(0));
        running.shutdown().await;
    }

    #[tokio::test]
    async fn the_borrowed_call_context_is_the_same_json() {
        let kit = cartable_testkit::TestKit::new(Arc::new(Fragment {
            descriptor: Descriptor::new("f", "Fragment").preference(
                cartable_portlet::PreferenceSpec::new("color", "Couleur", "bleu"),
            ),
            hang: Default::default(),
            fail: Default::default(),
            calls: Default::default(),
        }))
        .user_with(
            "lea",
            "Léa \"Martin\"",
            [
                cartable_socle::Profile::Eleve,
                cartable_socle::Profile::Parent,
            ],
        )
        .attribute("mail", ["lea@example.org"])
        .attribute("ENTEleveClasses", ["2nde B", "Latin"])
        .attribute("telephoneNumber", ["0600000000"])
        .establishment_preference("color", "vert", true);
        let ctx = kit
            .context(
                &cartable_testkit::RenderOptions::new()
                    .mode(cartable_portlet::Mode::Edit)
                    .param("page", "2"),
            )
            .await
            .unwrap();
        let fetcher = Fetcher::new(cartable_fetch::HostPolicy::new());
        for attributes in [vec!["MAIL", "enteleveclasses"], vec!["*"], vec![]] {
            let mut c = config();
            c.attributes = attributes.iter().map(|a| a.to_string()).collect();
            let link = Link::new(c, fetcher.clone()).unwrap();
            let owned = to_json(&link.call_context(&ctx)).unwrap();
            assert_eq!(
                String::from_utf8(to_json(&link.call_context_ref(&ctx)).unwrap()).unwrap(),
                String::from_utf8(owned.clone()).unwrap()
            );
            let back: CallContext = serde_json::from_slice(&owned).unwrap();
            assert_eq!(back, link.call_context(&ctx));
        }
    }

    #[test]
    fn untrusted_resources_cannot_become_scripts() {
        let rw = Rewriter::new(
            cartable_portlet::PortletUrls::new("", "t", "w"),
            "TOKEN",
            "w-w",
        );
        let js = confine_resource(ResourceResponse::bytes("text/javascript", "alert(1)"), &rw);
        assert_eq!(js.content_type, "application/octet-stream");
        assert!(js.attachment.is_some());
        let html = confine_resource(
            ResourceResponse::bytes("text/html", "<p>ok</p><script>alert(1)</script>"),
            &rw,
        );
        assert_eq!(&html.body[..], b"<p>ok</p>");
        let json = confine_resource(ResourceResponse::bytes("application/json", "{}"), &rw);
        assert_eq!(json.content_type, "application/json");
        assert!(json.attachment.is_none());
    }
}
