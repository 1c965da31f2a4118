//! The consumer: remote portlets shown in this portal like any other.
//!
//! [`RemoteProducer::connect`] reads a producer's service description and gives one
//! [`RemotePortlet`] per portlet offered; each implements [`Portlet`], so the portal
//! places, guards and lays them out like in-process ones. Every call is signed, bounded
//! by `timeout_ms` (keep it under the portal's `deadline_ms`), never retried; markup
//! answers are cached as the producer's `Cache-Control` and `ETag` say; a producer that
//! keeps failing is left alone for `open_seconds` (circuit breaker) while its windows show
//! a short notice at once.
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
use cartable_socle::{Person, SocleError};
use http::header::{self, HeaderName};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::breaker::{Breaker, Permit};
use crate::cache::{CacheDirectives, DEFAULT_CAPACITY, Lookup, MarkupCache, cache_key};
use crate::markup::Rewriter;
use crate::protocol::{
    ActionCall, ActionResult, CallContext, DescriptionError, ErrorBody, ErrorCode, EventCall,
    EventResult, HEADER_ATTACHMENT, HEADER_RESOURCE_STATUS, MarkupResponse, PROTOCOL,
    PreferenceValue, ResourceCall, ServiceDescription, WindowRef, endpoints,
};
use crate::signing::{KeyError, SigningKey};

/// The largest markup answer read.
const MAX_MARKUP: usize = 1024 * 1024;
/// The largest service description read.
const MAX_DESCRIPTION: usize = 1024 * 1024;
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
/// failures_before_open = 3             # failures in a row that open the breaker
/// open_seconds = 30                    # how long it stays open
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// The producer's local name, `[a-z0-9-]`: prefix of its portlets' local ids.
    pub id: String,
    /// The producer's base URL (its endpoints are relative to it).
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
    /// Failures in a row after which the producer is not called for a while (3).
    #[serde(default = "default_failures_before_open")]
    pub failures_before_open: u32,
    /// How long the producer is not called after that, in seconds (30).
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
            portlets.push(Arc::new(RemotePortlet {
                descriptor: remote.to_descriptor(&local_id)?,
                remote_id: remote.id.clone(),
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

    /// Whether calls are refused right now because it kept failing.
    pub fn is_open(&self) -> bool {
        self.link.breaker().is_open(Instant::now())
    }
}

/// One portlet of a remote producer, shown in this portal.
#[derive(Debug)]
pub struct RemotePortlet {
    descriptor: Descriptor,
    remote_id: String,
    link: Arc<Link>,
}

impl RemotePortlet {
    /// The producer's id of the portlet.
    pub fn remote_id(&self) -> &str {
        &self.remote_id
    }

    /// The producer's configured id.
    pub fn producer_id(&self) -> &str {
        &self.link.config.id
    }

    /// What the window shows while the producer cannot be reached.
    fn fallback(&self, ctx: &PortletContext) -> RenderResponse {
        let text = ctx.tr(
            "Ce service, fourni par un autre ENT, est momentanément indisponible. Réessayez dans quelques minutes.",
            "This service, provided by another ENT, is unavailable for the moment. Please try again in a few minutes.",
        );
        Markup::trusted_html(format!(
            r#"<p class="remote-unavailable" role="status">{}</p>"#,
            escape(text)
        ))
        .into()
    }

    /// A markup answer made fit for this window and reader.
    fn present(&self, ctx: &PortletContext, answer: MarkupResponse) -> RenderResponse {
        let rewriter = Rewriter::for_context(ctx);
        let html = if self.link.config.trusted {
            rewriter.trusted(&answer.markup)
        } else {
            rewriter.sanitized(&answer.markup)
        };
        let mut response = RenderResponse::new(Markup::trusted_html(html));
        response.title = answer
            .title
            .map(|t| t.chars().filter(|c| !c.is_control()).take(200).collect());
        response
    }

    fn endpoint(&self, last: &[&str]) -> Result<Url, PortletError> {
        let mut segments = vec!["portlets", self.remote_id.as_str()];
        segments.extend_from_slice(last);
        self.link.endpoint(&segments)
    }

    /// Ask the breaker; refused calls fail at once.
    fn admit(&self) -> Result<(), PortletError> {
        match self.link.breaker().permit(Instant::now()) {
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
        let call = self.link.call_context(ctx);
        let body = to_json(&call)?;
        let key = cache_key(&self.remote_id, &body);
        let lookup = self.link.cache().lookup(&key, Instant::now());
        let etag = match lookup {
            Lookup::Fresh(answer) => return Ok(self.present(ctx, answer)),
            Lookup::Stale(etag) => Some(etag),
            Lookup::Miss => None,
        };
        if self.admit().is_err() {
            return Ok(self.fallback(ctx));
        }
        let url = self.endpoint(&[endpoints::MARKUP])?;
        let extra = etag.map(|e| (header::IF_NONE_MATCH, e));
        let response = match self.link.send(url, body, extra, MAX_MARKUP).await {
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
                let answer: MarkupResponse = match self.link.parse(&response) {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(producer = %self.link.config.id, "unreadable markup answer: {e}");
                        return Ok(self.fallback(ctx));
                    }
                };
                let etag = response.header("etag").map(str::to_string);
                self.link.cache().store(
                    key,
                    &self.remote_id,
                    &ctx.user().id,
                    answer.clone(),
                    directives,
                    etag,
                    now,
                );
                Ok(self.present(ctx, answer))
            }
            StatusCode::NOT_MODIFIED => {
                match self.link.cache().revalidated(&key, directives, now) {
                    Some(answer) => Ok(self.present(ctx, answer)),
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
        let url = self.endpoint(&[endpoints::ACTION])?;
        // Never retried: an action may have happened even if its answer was lost.
        let response = self
            .link
            .send(url, to_json(&call)?, None, MAX_MARKUP)
            .await?;
        self.link
            .cache()
            .invalidate(&self.remote_id, &ctx.user().id);
        if response.status != StatusCode::OK {
            return Err(self.link.error_of(&response));
        }
        let result: ActionResult = self.link.parse(&response)?;
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
        let url = self.endpoint(&[endpoints::RESOURCE, &request.id])?;
        let limit = self.link.config.max_resource_bytes;
        let response = self.link.send(url, to_json(&call)?, None, limit).await?;
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
        let url = self.endpoint(&[endpoints::EVENT])?;
        let response = self
            .link
            .send(url, to_json(&call)?, None, MAX_MARKUP)
            .await?;
        self.link
            .cache()
            .invalidate(&self.remote_id, &ctx.user().id);
        if response.status != StatusCode::OK {
            return Err(self.link.error_of(&response));
        }
        let result: EventResult = self.link.parse(&response)?;
        apply_preferences(ctx, &result.preferences)?;
        Ok(result.events)
    }
}

/// What one producer's portlets share: configuration, key, client, breaker and cache.
struct Link {
    config: RemoteConfig,
    key: SigningKey,
    fetcher: Fetcher,
    base: Url,
    breaker: Mutex<Breaker>,
    cache: Mutex<MarkupCache>,
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
        Ok(Link {
            breaker: Mutex::new(Breaker::new(
                config.failures_before_open,
                Duration::from_secs(config.open_seconds),
            )),
            cache: Mutex::new(MarkupCache::new(DEFAULT_CAPACITY)),
            key,
            fetcher,
            base,
            config,
        })
    }

    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> MutexGuard<'_, MarkupCache> {
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

    /// Send one signed POST, once, within the call deadline; the breaker hears how it
    /// went.
    async fn send(
        &self,
        url: Url,
        body: Vec<u8>,
        extra: Option<(HeaderName, String)>,
        max_body: usize,
    ) -> Result<OutboundResponse, Failure> {
        let path = path_and_query(&url);
        let mut request = OutboundRequest::post(url, "application/json", body.clone())
            .timeout(self.timeout())
            .max_body(max_body)
            .max_redirects(0)
            .header(header::ACCEPT, "application/json");
        for (name, value) in self
            .key
            .headers(&Method::POST, &path, &body, SIGNATURE_LIFETIME)
        {
            request = request.header(HeaderName::from_static(name), &value);
        }
        if let Some((name, value)) = extra {
            request = request.header(name, &value);
        }
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
                self.breaker().success();
                return Err(Failure::Fetch(e));
            }
            Err(e) => Err(Failure::Fetch(e)),
        };
        match &outcome {
            Ok(_) => self.breaker().success(),
            Err(_) => self.breaker().failure(Instant::now()),
        }
        outcome
    }

    /// Decode a JSON answer; garbage counts as a failure of the producer.
    fn parse<T: DeserializeOwned>(&self, response: &OutboundResponse) -> Result<T, PortletError> {
        serde_json::from_slice(&response.body).map_err(|e| {
            self.breaker().failure(Instant::now());
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

    /// What the producer is told about the call: user (with the configured attributes),
    /// window, preferences, parameters, locale.
    fn call_context(&self, ctx: &PortletContext) -> CallContext {
        let user = ctx.user();
        let all = self.config.attributes.iter().any(|a| a == "*");
        let attributes = user
            .attributes
            .iter()
            .filter(|(name, _)| {
                all || self
                    .config
                    .attributes
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name))
            })
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
