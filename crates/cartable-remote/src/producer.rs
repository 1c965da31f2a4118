//! The producer: serves in-process portlets to other ENTs over the protocol.
//!
//! A [`Producer`] holds portlets, the keys of the consumers it serves and the socle
//! services its portlets use (storage, notifier, optionally a directory). It checks each
//! call's signature before anything else, then refuses a call it already received
//! ([`ReplayCache`]). For each signed call it builds the [`PortletContext`] of the remote
//! user, with URL builders on the [`URL_BASE`] placeholder and the [`CSRF_PLACEHOLDER`]
//! token, so the consumer can put in its own URLs and token; it runs the portlet under a
//! deadline and answers JSON.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cartable_remote::Producer;
//!
//! let producer = Producer::builder("ENT du lycée Lumière")
//!     .consumer("ent-voisin", "a shared secret of at least 32 bytes!!")?
//!     .portlets(cartable_demo_portlets())
//!     .build()
//!     .await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! producer.serve(listener)?.wait().await;
//! # Ok(()) }
//! # fn cartable_demo_portlets() -> Vec<std::sync::Arc<dyn cartable_portlet::Portlet>> { Vec::new() }
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::prelude::*;
use bytes::Bytes;
use cartable_portlet::{
    ActionRequest, CachePolicy, ContextParts, Database, Portlet, PortletContext, PortletError,
    Preference, Preferences, ResourceRequest, Services, WindowInfo,
};
use cartable_socle::DbStore;
use cartable_socle::{
    AuthError, Directory, MemoryNotifier, Notifier, Person, PersonQuery, SocleError, Storage,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use cartable_container::{CallError, Container};

use crate::protocol::{
    ActionCall, ActionResult, CSRF_PLACEHOLDER, CallContext, ErrorBody, ErrorCode, ErrorDetail,
    EventCall, EventResult, HEADER_ATTACHMENT, HEADER_RESOURCE_STATUS, MarkupResponse, PROTOCOL,
    PortletDescription, ResourceCall, ServiceDescription, URL_BASE, endpoints,
};
use crate::replay::{DEFAULT_REPLAY_CAPACITY, ReplayCache, ReplayError};
use crate::signing::{KeyError, SigningKey, Verifier, unix_now};

/// The largest call body a producer reads by default.
pub const DEFAULT_MAX_REQUEST: usize = 1024 * 1024;

/// How long a portlet may take on a producer by default.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Why a producer cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// No consumer key: every call would be refused.
    #[error("the producer has no consumer key: add one with `ProducerBuilder::consumer`")]
    NoConsumer,
    /// A consumer key is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Two portlets have the same id.
    #[error("two portlets have the id {0:?}: each portlet id must be unique in a producer")]
    DuplicatePortlet(String),
    /// The default in-memory storage could not be opened.
    #[error("cannot open the producer's storage: {0}")]
    Storage(#[from] SocleError),
    /// The path prefix is not of the form `/segment…`.
    #[error("path prefix {0:?} must be empty or start with '/' and not end with '/'")]
    InvalidPrefix(String),
    /// A database was given for a consumer that has no key.
    #[error(
        "a database is given for the consumer {0:?}, which has no key: add it with `ProducerBuilder::consumer` first"
    )]
    UnknownConsumer(String),
    /// The served portlets' schemas could not be migrated on a consumer's database.
    #[error("the database of consumer {consumer:?}: {source}")]
    Migration {
        /// The consumer whose database it is.
        consumer: String,
        /// What failed.
        #[source]
        source: cartable_socle::MigrationError,
    },
}

/// Assembles a [`Producer`].
pub struct ProducerBuilder {
    name: String,
    prefix: String,
    portlets: Vec<Arc<dyn Portlet>>,
    verifier: Verifier,
    storage: Option<Arc<dyn Storage>>,
    notifier: Option<Arc<dyn Notifier>>,
    directory: Option<Arc<dyn Directory>>,
    data_per_consumer: bool,
    /// The relational database of each consumer's portlets, by consumer (key id).
    databases: BTreeMap<String, Database>,
    deadline: Duration,
    max_request: usize,
    replay_capacity: usize,
    time_zone: cartable_portlet::time::Tz,
}

impl std::fmt::Debug for ProducerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl ProducerBuilder {
    /// Serve these portlets to consumers holding one of the registered keys.
    pub fn portlets(mut self, portlets: impl IntoIterator<Item = Arc<dyn Portlet>>) -> Self {
        self.portlets.extend(portlets);
        self
    }

    /// Serve one more portlet.
    pub fn portlet(mut self, portlet: Arc<dyn Portlet>) -> Self {
        self.portlets.push(portlet);
        self
    }

    /// Accept calls signed with this key; `key_id` names the consumer (its ENT).
    pub fn consumer(mut self, key_id: &str, secret: &str) -> Result<Self, KeyError> {
        self.verifier.add(SigningKey::new(key_id, secret)?);
        Ok(self)
    }

    /// Keep portlet data in this storage (SQLite file, PostgreSQL…) so it survives
    /// restarts. Without it, data lives in an in-memory SQLite database.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Publish portlet notifications here (an in-memory notifier by default).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Let portlets look people up in this directory. Without it, a portlet's directory
    /// knows only the calling user: the producer does not see the consumer's directory.
    pub fn directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Whether each consumer's portlet data is kept apart (the default: user `lea` of one
    /// ENT is not user `lea` of another). Turn it off only when every consumer shares one
    /// directory (one académie), so users and shared data are the same everywhere.
    pub fn data_per_consumer(mut self, apart: bool) -> Self {
        self.data_per_consumer = apart;
        self
    }

    /// Give the portlets served to `consumer` (a key id of [`consumer`](Self::consumer))
    /// this relational database for their tables: a SQLite file or a PostgreSQL schema of
    /// that consumer's own, so that one ENT's rows are apart from another's as each
    /// établissement's are in a portal. The served portlets' schemas are migrated on it by
    /// [`build`](Self::build). A consumer given none gets none (`ctx.db()` answers
    /// unavailable). Consumers sharing one directory (see
    /// [`data_per_consumer`](Self::data_per_consumer)) may be given the same database.
    pub fn consumer_database(mut self, consumer: &str, database: Database) -> Self {
        self.databases.insert(consumer.to_string(), database);
        self
    }

    /// Serve under a path prefix such as `/remote` (empty by default).
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// How long a portlet may take (10 s by default); a late one answers 504.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The largest call body read (1 MiB by default); larger ones answer 413.
    pub fn max_request(mut self, bytes: usize) -> Self {
        self.max_request = bytes;
        self
    }

    /// How many recent calls the producer remembers to refuse replays (2,000,000 by
    /// default, at least 1): each call's nonce is kept until its signature expires. When
    /// that many unexpired calls are held, new calls answer 503 until the oldest expire.
    /// With the consumer's 60 s signatures, allow about 60 × the peak calls per second.
    pub fn replay_capacity(mut self, calls: usize) -> Self {
        self.replay_capacity = calls;
        self
    }

    /// The établissement's time zone, what "today" is for the portlets served
    /// (Europe/Paris by default).
    pub fn time_zone(mut self, zone: cartable_portlet::time::Tz) -> Self {
        self.time_zone = zone;
        self
    }

    /// Check everything and build the producer.
    pub async fn build(self) -> Result<Producer, ProducerError> {
        if self.verifier.is_empty() {
            return Err(ProducerError::NoConsumer);
        }
        if !(self.prefix.is_empty() || self.prefix.starts_with('/') && !self.prefix.ends_with('/'))
        {
            return Err(ProducerError::InvalidPrefix(self.prefix));
        }
        let mut portlets = BTreeMap::new();
        let mut order = Vec::new();
        for p in self.portlets {
            let id = p.descriptor().id.clone();
            if portlets.insert(id.clone(), p).is_some() {
                return Err(ProducerError::DuplicatePortlet(id));
            }
            order.push(id);
        }
        let storage = match self.storage {
            Some(s) => s,
            None => Arc::new(DbStore::in_memory().await?),
        };
        let mut schemas: Vec<cartable_socle::ServiceSchema> = Vec::new();
        for portlet in order.iter().filter_map(|id| portlets.get(id)) {
            if let Some(schema) = portlet.schema()
                && !schemas.iter().any(|s| s.service() == schema.service())
            {
                schemas.push(schema);
            }
        }
        let refs: Vec<&cartable_socle::ServiceSchema> = schemas.iter().collect();
        for (consumer, database) in &self.databases {
            if !self.verifier.knows(consumer) {
                return Err(ProducerError::UnknownConsumer(consumer.clone()));
            }
            cartable_socle::migrate(database, &refs, &cartable_socle::UpgradeSources::new())
                .await
                .map_err(|source| ProducerError::Migration {
                    consumer: consumer.clone(),
                    source,
                })?;
        }
        Ok(Producer {
            inner: Arc::new(Inner {
                name: self.name,
                prefix: self.prefix,
                portlets,
                order,
                verifier: self.verifier,
                storage,
                notifier: self
                    .notifier
                    .unwrap_or_else(|| Arc::new(MemoryNotifier::default())),
                directory: self.directory,
                data_per_consumer: self.data_per_consumer,
                databases: self.databases,
                container: Container::builder().deadline(self.deadline).build(),
                max_request: self.max_request,
                replay: ReplayCache::new(self.replay_capacity),
                time_zone: self.time_zone,
            }),
        })
    }
}

/// Serves portlets to other ENTs. Cloning shares the same state.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    prefix: String,
    portlets: BTreeMap<String, Arc<dyn Portlet>>,
    order: Vec<String>,
    verifier: Verifier,
    storage: Arc<dyn Storage>,
    notifier: Arc<dyn Notifier>,
    directory: Option<Arc<dyn Directory>>,
    data_per_consumer: bool,
    /// Each consumer's relational database, if given one.
    databases: BTreeMap<String, Database>,
    /// Admission, deadline, health and statuses: the same container as the portal's.
    container: Container,
    max_request: usize,
    /// The nonces of the calls received whose signatures are still valid.
    replay: ReplayCache,
    /// The établissement's time zone.
    time_zone: cartable_portlet::time::Tz,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("name", &self.inner.name)
            .field("portlets", &self.inner.order)
            .field("verifier", &self.inner.verifier)
            .finish_non_exhaustive()
    }
}

/// A call refused or failed: an [`ErrorBody`] with its status.
#[derive(Debug)]
struct Refusal {
    code: ErrorCode,
    message: String,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The container's refusal or the portlet's error, with the container's status.
    fn from_call(e: &CallError) -> Self {
        let code = match e.status() {
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            StatusCode::GATEWAY_TIMEOUT => ErrorCode::Timeout,
            _ => ErrorCode::Internal,
        };
        Refusal::new(code, e.to_string())
    }

    fn into_response(self) -> Response<Bytes> {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut r = json_response(self.code.status(), &body);
        if self.code == ErrorCode::Unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Cartable-HMAC-SHA256"),
            );
        }
        if let Some(seconds) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        r
    }
}

/// The endpoint a path names.
enum Route {
    Description,
    Markup(String),
    Action(String),
    Resource(String, String),
    Event(String),
}

impl Producer {
    /// Start building a producer called `name` (shown to consumers).
    pub fn builder(name: &str) -> ProducerBuilder {
        ProducerBuilder {
            name: name.to_string(),
            prefix: String::new(),
            portlets: Vec::new(),
            verifier: Verifier::new(),
            storage: None,
            notifier: None,
            directory: None,
            data_per_consumer: true,
            databases: BTreeMap::new(),
            deadline: DEFAULT_DEADLINE,
            max_request: DEFAULT_MAX_REQUEST,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            time_zone: cartable_portlet::time::PARIS,
        }
    }

    /// The service description every consumer receives.
    pub fn description(&self) -> ServiceDescription {
        ServiceDescription {
            protocol: PROTOCOL.to_string(),
            producer: self.inner.name.clone(),
            portlets: self
                .inner
                .order
                .iter()
                .filter_map(|id| self.inner.portlets.get(id))
                .map(|p| PortletDescription::from_descriptor(p.descriptor()))
                .collect(),
        }
    }

    /// Answer one call (the body already read whole). Never fails: refusals and portlet
    /// errors become JSON error answers with their status.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let mut response = match self.answer(req).await {
            Ok(r) => r,
            Err(refusal) => refusal.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }

    async fn answer(&self, req: Request<Bytes>) -> Result<Response<Bytes>, Refusal> {
        let (parts, body) = req.into_parts();
        // The size limit comes first because the whole body is hashed for the signature;
        // it tells nothing but the producer's limit.
        if body.len() > self.inner.max_request {
            return Err(Refusal::new(
                ErrorCode::TooLarge,
                format!("the call's body is over {} bytes", self.inner.max_request),
            ));
        }
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or(parts.uri.path(), |pq| pq.as_str());
        // Authenticate first, reading nothing but what the signature covers: nothing, not
        // even which paths or portlets exist, is told to strangers.
        let now = unix_now();
        let call = self
            .inner
            .verifier
            .verify(&parts.method, path_and_query, &parts.headers, &body, now)
            .map_err(|e| {
                tracing::debug!(error = ?e, path = path_and_query, "refused a call's signature");
                Refusal::new(ErrorCode::Unauthorized, e.to_string())
            })?;
        // Then accept each signed call once.
        self.inner.replay.check(&call, now).map_err(|e| {
            tracing::warn!(
                consumer = call.key_id(),
                path = path_and_query,
                "refused a call: {e}"
            );
            match e {
                ReplayError::Replayed => Refusal::new(ErrorCode::Unauthorized, e.to_string()),
                ReplayError::Full { retry_after, .. } => Refusal {
                    retry_after: Some(retry_after),
                    ..Refusal::new(ErrorCode::Unavailable, e.to_string())
                },
            }
        })?;
        let consumer = call.key_id().to_string();
        let not_found = || Refusal::new(ErrorCode::NotFound, "no such endpoint");
        let rest = parts
            .uri
            .path()
            .strip_prefix(self.inner.prefix.as_str())
            .filter(|r| r.starts_with('/'))
            .ok_or_else(not_found)?;
        let route = parse_route(rest).ok_or_else(not_found)?;
        let expected = match route {
            Route::Description => Method::GET,
            _ => Method::POST,
        };
        if parts.method != expected {
            return Err(Refusal::new(
                ErrorCode::MethodNotAllowed,
                format!("use {expected} on this endpoint"),
            ));
        }
        match route {
            Route::Description => Ok(json_response(StatusCode::OK, &self.description())),
            Route::Markup(id) => {
                let if_none_match = parts
                    .headers
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                self.markup(&consumer, &id, &body, if_none_match.as_deref())
                    .await
            }
            Route::Action(id) => self.action(&consumer, &id, &body).await,
            Route::Resource(id, resource) => self.resource(&consumer, &id, &resource, &body).await,
            Route::Event(id) => self.event(&consumer, &id, &body).await,
        }
    }

    async fn markup(
        &self,
        consumer: &str,
        id: &str,
        body: &[u8],
        if_none_match: Option<&str>,
    ) -> Result<Response<Bytes>, Refusal> {
        let portlet = self.portlet(id)?;
        let call: CallContext = parse_json(body)?;
        let ctx = self.context(&portlet, consumer, call)?;
        let p = portlet.clone();
        let rendered = self.run(id, async move { p.render(&ctx).await }).await?;
        let answer = MarkupResponse {
            markup: rendered.markup.into_string(),
            title: rendered.title,
        };
        let body = serde_json::to_vec(&answer)
            .map_err(|e| Refusal::new(ErrorCode::Internal, format!("cannot encode JSON: {e}")))?;
        let etag = format!("\"{}\"", &crate::signing::hex(&Sha256::digest(&body))[..32]);
        let cache_control = match portlet.descriptor().cache {
            CachePolicy::PerUser(ttl) => format!("private, max-age={}", ttl.as_secs()),
            CachePolicy::Shared(ttl) => format!("public, max-age={}", ttl.as_secs()),
            // No cache, and any policy this producer does not know.
            _ => "private, no-cache".to_string(),
        };
        let matches = if_none_match.is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
        let mut response = if matches {
            let mut r = Response::new(Bytes::new());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let mut r = Response::new(Bytes::from(body));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        };
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&cache_control) {
            headers.insert(header::CACHE_CONTROL, v);
        }
        Ok(response)
    }

    async fn action(
        &self,
        consumer: &str,
        id: &str,
        body: &[u8],
    ) -> Result<Response<Bytes>, Refusal> {
        let portlet = self.portlet(id)?;
        let call: ActionCall = parse_json(body)?;
        let mut ctx = self.context(&portlet, consumer, call.context)?;
        let request = ActionRequest::new(call.form);
        let p = portlet.clone();
        let (ctx, response) = self
            .run(id, async move {
                let r = p.action(&mut ctx, request).await?;
                Ok((ctx, r))
            })
            .await?;
        let result = ActionResult {
            params: response.params,
            mode: response.mode,
            state: response.state,
            events: response.events,
            preferences: ctx.preferences.changes().clone(),
        };
        Ok(json_response(StatusCode::OK, &result))
    }

    async fn resource(
        &self,
        consumer: &str,
        id: &str,
        resource: &str,
        body: &[u8],
    ) -> Result<Response<Bytes>, Refusal> {
        let portlet = self.portlet(id)?;
        let call: ResourceCall = parse_json(body)?;
        let method = match call.method.as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            other => {
                return Err(Refusal::new(
                    ErrorCode::BadRequest,
                    format!("resource method {other:?} is not GET or POST"),
                ));
            }
        };
        let raw = BASE64_STANDARD.decode(call.body.as_bytes()).map_err(|e| {
            Refusal::new(
                ErrorCode::BadRequest,
                format!("the resource body is not base64: {e}"),
            )
        })?;
        let ctx = self.context(&portlet, consumer, call.context)?;
        let request = ResourceRequest {
            id: resource.to_string(),
            method,
            params: call.params,
            body: Bytes::from(raw),
            files: Default::default(),
        };
        let p = portlet.clone();
        let out = self
            .run(id, async move { p.resource(&ctx, request).await })
            .await?;
        if out.file.is_some() {
            return Err(Refusal::new(
                ErrorCode::Internal,
                format!(
                    "the portlet {id:?} answered a stored file, which the remote protocol does \
                     not carry yet: serve the file's bytes in the body instead"
                ),
            ));
        }
        let mut r = Response::new(out.body);
        let headers = r.headers_mut();
        let ctype = HeaderValue::from_str(&out.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        headers.insert(header::CONTENT_TYPE, ctype);
        headers.insert(
            HEADER_RESOURCE_STATUS,
            HeaderValue::from(out.status.as_u16()),
        );
        if let Some(name) = out.attachment {
            let encoded: String =
                percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
                    .collect();
            if let Ok(v) = HeaderValue::from_str(&encoded) {
                headers.insert(HEADER_ATTACHMENT, v);
            }
        }
        Ok(r)
    }

    async fn event(
        &self,
        consumer: &str,
        id: &str,
        body: &[u8],
    ) -> Result<Response<Bytes>, Refusal> {
        let portlet = self.portlet(id)?;
        let call: EventCall = parse_json(body)?;
        if !portlet.descriptor().consumes.contains(&call.event.name) {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                format!(
                    "portlet {id:?} does not consume events named {:?}",
                    call.event.name
                ),
            ));
        }
        let mut ctx = self.context(&portlet, consumer, call.context)?;
        let event = call.event;
        let p = portlet.clone();
        let (ctx, events) = self
            .run(id, async move {
                let emitted = p.event(&mut ctx, &event).await?;
                Ok((ctx, emitted))
            })
            .await?;
        let result = EventResult {
            events,
            preferences: ctx.preferences.changes().clone(),
        };
        Ok(json_response(StatusCode::OK, &result))
    }

    fn portlet(&self, id: &str) -> Result<Arc<dyn Portlet>, Refusal> {
        self.inner
            .portlets
            .get(id)
            .cloned()
            .ok_or_else(|| Refusal::new(ErrorCode::NotFound, format!("no portlet {id:?} here")))
    }

    /// The context of the remote user's call, after the checks the portal would make.
    fn context(
        &self,
        portlet: &Arc<dyn Portlet>,
        consumer: &str,
        call: CallContext,
    ) -> Result<PortletContext, Refusal> {
        let d = portlet.descriptor();
        let bad = |m: String| Refusal::new(ErrorCode::BadRequest, m);
        if call.user.id.trim().is_empty() {
            return Err(bad("the user has no id".into()));
        }
        if !is_token(&call.window.id) || !is_token(&call.window.tab) {
            return Err(bad(format!(
                "window {:?} on tab {:?}: ids must be 1 to 64 of [A-Za-z0-9_-]",
                call.window.id, call.window.tab
            )));
        }
        self.inner
            .container
            .admit(d, &call.user, call.window.mode, call.window.state)
            .map_err(|e| Refusal::from_call(&e))?;
        let entries: BTreeMap<String, Preference> = d
            .preferences
            .iter()
            .map(|spec| {
                let given = call.preferences.get(&spec.name);
                (
                    spec.name.clone(),
                    Preference {
                        value: given.map_or_else(|| spec.default.clone(), |p| p.value.clone()),
                        locked: given.is_some_and(|p| p.locked),
                    },
                )
            })
            .collect();
        let locale = if is_locale(&call.locale) {
            call.locale
        } else {
            "fr".to_string()
        };
        let user = Arc::new(call.user);
        let directory = match &self.inner.directory {
            Some(d) => d.clone(),
            None => Arc::new(CallerDirectory(user.clone())) as Arc<dyn Directory>,
        };
        let scope = if self.inner.data_per_consumer {
            format!("{}@{consumer}", d.id)
        } else {
            d.id.clone()
        };
        Ok(PortletContext::new(ContextParts {
            portlet: scope,
            user,
            window: WindowInfo {
                id: call.window.id,
                tab: call.window.tab,
                mode: call.window.mode,
                state: call.window.state,
            },
            preferences: Preferences::new(entries).with_specs(&d.preferences),
            params: call.params,
            locale,
            csrf: CSRF_PLACEHOLDER.to_string(),
            base: URL_BASE.to_string(),
            services: Services {
                time_zone: self.inner.time_zone,
                db: self.inner.databases.get(consumer).cloned(),
                ..Services::new(
                    directory,
                    self.inner.storage.clone(),
                    self.inner.notifier.clone(),
                )
            },
            // A refused form goes back to the consumer in the answer's status.
            form: None,
        }))
    }

    /// Run a portlet call through the container: in its own task under the deadline, so
    /// a panic or a late answer becomes an error answer, never a dead producer.
    async fn run<T, F>(&self, portlet: &str, fut: F) -> Result<T, Refusal>
    where
        F: Future<Output = Result<T, PortletError>> + Send + 'static,
        T: Send + 'static,
    {
        self.inner
            .container
            .invoke(portlet, fut)
            .await
            .map_err(|e| Refusal::from_call(&e))
    }

    /// Serve on a listener you bound. Each connection is HTTP/1.1 or HTTP/2, held to the
    /// default connection limits of `cartable-serve`; bodies over the request limit
    /// answer 413.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<RunningProducer> {
        let service = tower::service_fn(move |req| {
            let producer = self.clone();
            async move { Ok::<_, Infallible>(producer.serve_one(req).await) }
        });
        cartable_serve::spawn(listener, service, cartable_serve::ServerConfig::default())
    }

    async fn serve_one(&self, req: cartable_serve::Request) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let response = match Limited::new(body, self.inner.max_request).collect().await {
            Ok(collected) => {
                self.handle(Request::from_parts(parts, collected.to_bytes()))
                    .await
            }
            Err(_) => Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "the call's body is over {} bytes or could not be read",
                    self.inner.max_request
                ),
            )
            .into_response(),
        };
        response.map(Full::new)
    }
}

/// A producer serving on a socket; [`shutdown`](cartable_serve::Running::shutdown) stops it.
pub type RunningProducer = cartable_serve::Running;

/// The directory a producer's portlets see by default: the calling user only.
struct CallerDirectory(Arc<Person>);

#[async_trait]
impl Directory for CallerDirectory {
    async fn authenticate(&self, _login: &str, _password: &str) -> Result<Person, AuthError> {
        Err(AuthError::InvalidCredentials)
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError> {
        Ok((self.0.id == id).then(|| (*self.0).clone()))
    }

    async fn search(&self, _query: &PersonQuery) -> Result<Vec<Person>, SocleError> {
        Ok(Vec::new())
    }
}

fn parse_route(rest: &str) -> Option<Route> {
    let segments: Vec<String> = rest
        .split('/')
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect::<Option<_>>()?;
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [endpoints::DESCRIPTION] => Some(Route::Description),
        ["portlets", id, endpoints::MARKUP] => Some(Route::Markup(id.to_string())),
        ["portlets", id, endpoints::ACTION] => Some(Route::Action(id.to_string())),
        ["portlets", id, endpoints::EVENT] => Some(Route::Event(id.to_string())),
        ["portlets", id, endpoints::RESOURCE, resource] if !resource.is_empty() => {
            Some(Route::Resource(id.to_string(), resource.to_string()))
        }
        _ => None,
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        Refusal::new(
            ErrorCode::BadRequest,
            format!("the call's JSON is invalid: {e}"),
        )
    })
}

fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Bytes> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"cannot encode JSON"}}"#.to_vec()
    });
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Window and tab ids: what the portal accepts, and safe in markup.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_locale(s: &str) -> bool {
    !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartable_portlet::prelude::*;
    use std::collections::BTreeMap;

    use crate::protocol::{PreferenceValue, WindowRef};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    struct Echo(Descriptor);

    #[async_trait]
    impl Portlet for Echo {
        fn descriptor(&self) -> &Descriptor {
            &self.0
        }
        async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
            let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
            Ok(Markup::trusted_html(format!(
                r#"<p>{} {} n={n} c={}</p><form method="post" action="{}">{}</form>"#,
                ctx.user().display_name,
                ctx.preferences.get("color").unwrap_or(""),
                ctx.param("x").unwrap_or(""),
                ctx.urls().action(),
                ctx.csrf_field()
            ))
            .into())
        }
        async fn action(
            &self,
            ctx: &mut PortletContext,
            req: ActionRequest,
        ) -> Result<ActionResponse, PortletError> {
            ctx.preferences.set("color", req.required("color")?)?;
            ctx.data()
                .update_json("n", |n: Option<u64>| n.unwrap_or(0) + 1)
                .await?;
            Ok(ActionResponse::default().param("done", "1"))
        }
    }

    async fn producer() -> Producer {
        let echo =
            Echo(Descriptor::new("echo", "Écho").preference(
                PreferenceSpec::new("color", "Couleur", "bleu").choices(["bleu", "vert"]),
            ));
        Producer::builder("test")
            .consumer("ent-a", SECRET)
            .unwrap()
            .consumer("ent-b", SECRET)
            .unwrap()
            .portlet(Arc::new(echo))
            .build()
            .await
            .unwrap()
    }

    fn call() -> CallContext {
        CallContext {
            user: Person {
                id: "lea".into(),
                display_name: "Léa".into(),
                profiles: vec![Profile::Eleve],
                attributes: BTreeMap::new(),
            },
            window: WindowRef {
                id: "w1".into(),
                tab: "accueil".into(),
                mode: Mode::View,
                state: WindowState::Normal,
            },
            preferences: BTreeMap::from([(
                "color".to_string(),
                PreferenceValue {
                    value: "vert".into(),
                    locked: false,
                },
            )]),
            params: BTreeMap::from([("x".to_string(), "42".to_string())]),
            locale: "fr".into(),
        }
    }

    fn request(key_id: &str, path: &str, body: Vec<u8>) -> Request<Bytes> {
        let key = SigningKey::new(key_id, SECRET).unwrap();
        let mut b = Request::builder().method(Method::POST).uri(path);
        for (name, value) in key.headers(&Method::POST, path, &body, Duration::from_secs(30)) {
            b = b.header(name, value);
        }
        b.body(Bytes::from(body)).unwrap()
    }

    async fn json(p: &Producer, key: &str, path: &str, body: &impl Serialize) -> Response<Bytes> {
        p.handle(request(key, path, serde_json::to_vec(body).unwrap()))
            .await
    }

    #[tokio::test]
    async fn markup_has_placeholders_and_cache_validators() {
        let p = producer().await;
        let r = json(&p, "ent-a", "/portlets/echo/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-cache");
        let m: MarkupResponse = serde_json::from_slice(r.body()).unwrap();
        assert!(m.markup.contains("Léa vert n=0 c=42"), "{}", m.markup);
        assert!(
            m.markup
                .contains(r#"action="cartable-remote:/action/accueil/w1""#),
            "{}",
            m.markup
        );
        assert!(m.markup.contains(CSRF_PLACEHOLDER));

        let body = serde_json::to_vec(&call()).unwrap();
        let mut again = request("ent-a", "/portlets/echo/markup", body);
        again
            .headers_mut()
            .insert(header::IF_NONE_MATCH, etag.parse().unwrap());
        let r = p.handle(again).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(r.body().is_empty());
    }

    #[tokio::test]
    async fn actions_return_preference_changes_and_data_is_kept_per_consumer() {
        let p = producer().await;
        let action = ActionCall {
            context: call(),
            form: BTreeMap::from([("color".to_string(), "bleu".to_string())]),
        };
        let r = json(&p, "ent-a", "/portlets/echo/action", &action).await;
        assert_eq!(r.status(), StatusCode::OK);
        let result: ActionResult = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(result.preferences["color"], "bleu");
        assert_eq!(result.params["done"], "1");

        let seen = |body: Bytes| {
            serde_json::from_slice::<MarkupResponse>(&body)
                .unwrap()
                .markup
        };
        let a = json(&p, "ent-a", "/portlets/echo/markup", &call()).await;
        assert!(seen(a.into_body()).contains("n=1"));
        let b = json(&p, "ent-b", "/portlets/echo/markup", &call()).await;
        assert!(
            seen(b.into_body()).contains("n=0"),
            "lea of ent-b is another person"
        );

        let bad = ActionCall {
            context: call(),
            form: BTreeMap::from([("color".to_string(), "rouge".to_string())]),
        };
        let r = json(&p, "ent-a", "/portlets/echo/action", &bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let err: ErrorBody = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(err.error.code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn strangers_unknown_portlets_and_bad_calls_are_refused() {
        let p = producer().await;
        let unsigned = Request::builder()
            .method(Method::GET)
            .uri("/description")
            .body(Bytes::new())
            .unwrap();
        let r = p.handle(unsigned).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));

        let r = json(&p, "ent-a", "/portlets/nope/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = p
            .handle(request(
                "ent-a",
                "/portlets/echo/markup",
                b"{not json".to_vec(),
            ))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let mut edit = call();
        edit.window.mode = Mode::Help;
        let r = json(&p, "ent-a", "/portlets/echo/markup", &edit).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no help mode");
        let r = json(&p, "ent-a", "/portlets/echo/description", &call()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    /// The same request again, byte for byte (as captured on the wire).
    fn copy(req: &Request<Bytes>) -> Request<Bytes> {
        let mut b = Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone());
        for (name, value) in req.headers() {
            b = b.header(name, value);
        }
        b.body(req.body().clone()).unwrap()
    }

    /// Status, headers and body of an answer, for comparing two answers exactly.
    fn seen(r: &Response<Bytes>) -> (StatusCode, Vec<(String, String)>, Bytes) {
        let mut headers: Vec<_> = r
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        headers.sort();
        (r.status(), headers, r.body().clone())
    }

    #[tokio::test]
    async fn a_replayed_action_is_refused_and_not_run_twice() {
        let p = producer().await;
        let action = ActionCall {
            context: call(),
            form: BTreeMap::from([("color".to_string(), "bleu".to_string())]),
        };
        let captured = request(
            "ent-a",
            "/portlets/echo/action",
            serde_json::to_vec(&action).unwrap(),
        );
        let first = p.handle(copy(&captured)).await;
        assert_eq!(first.status(), StatusCode::OK);
        let replayed = p.handle(copy(&captured)).await;
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
        let err: ErrorBody = serde_json::from_slice(replayed.body()).unwrap();
        assert_eq!(err.error.code, ErrorCode::Unauthorized);
        assert!(
            err.error.message.contains("already"),
            "{}",
            err.error.message
        );

        let r = json(&p, "ent-a", "/portlets/echo/markup", &call()).await;
        let m: MarkupResponse = serde_json::from_slice(r.body()).unwrap();
        assert!(
            m.markup.contains("n=1"),
            "the action ran once: {}",
            m.markup
        );

        // The same call signed anew (a fresh nonce) is a new call.
        let again = json(&p, "ent-a", "/portlets/echo/action", &action).await;
        assert_eq!(again.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn an_unknown_key_id_is_answered_exactly_like_a_bad_signature() {
        let p = producer().await;
        let body = serde_json::to_vec(&call()).unwrap();
        let path = "/portlets/echo/markup";
        let unknown = p.handle(request("ent-z", path, body.clone())).await;
        let forger = SigningKey::new("ent-a", &SECRET.replace('0', "1")).unwrap();
        let mut forged = Request::builder().method(Method::POST).uri(path);
        for (name, value) in forger.headers(&Method::POST, path, &body, Duration::from_secs(30)) {
            forged = forged.header(name, value);
        }
        let forged = p.handle(forged.body(Bytes::from(body)).unwrap()).await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(seen(&unknown), seen(&forged));
    }

    #[tokio::test]
    async fn strangers_get_the_signature_error_before_any_route_or_portlet_is_looked_up() {
        let p = Producer::builder("test")
            .consumer("ent-a", SECRET)
            .unwrap()
            .portlet(Arc::new(Echo(Descriptor::new("echo", "Écho"))))
            .path_prefix("/remote")
            .build()
            .await
            .unwrap();
        let body = serde_json::to_vec(&call()).unwrap();
        let unsigned = |path: &str| {
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .body(Bytes::from(body.clone()))
                .unwrap()
        };
        let forged = |path: &str| {
            let forger = SigningKey::new("ent-a", &SECRET.replace('0', "1")).unwrap();
            let mut b = Request::builder().method(Method::POST).uri(path);
            for (name, value) in forger.headers(&Method::POST, path, &body, Duration::from_secs(30))
            {
                b = b.header(name, value);
            }
            b.body(Bytes::from(body.clone())).unwrap()
        };
        let known = seen(&p.handle(unsigned("/remote/portlets/echo/markup")).await);
        assert_eq!(known.0, StatusCode::UNAUTHORIZED);
        for path in [
            "/remote/portlets/nope/markup",
            "/remote/portlets/nope/nothing",
            "/elsewhere/portlets/echo/markup",
            "/remote/%ff/x",
        ] {
            assert_eq!(seen(&p.handle(unsigned(path)).await), known, "{path}");
        }
        let known = seen(&p.handle(forged("/remote/portlets/echo/markup")).await);
        assert_eq!(known.0, StatusCode::UNAUTHORIZED);
        for path in [
            "/remote/portlets/nope/markup",
            "/elsewhere/portlets/echo/markup",
        ] {
            assert_eq!(seen(&p.handle(forged(path)).await), known, "{path}");
        }
    }

    #[tokio::test]
    async fn a_full_replay_cache_answers_503_with_retry_after() {
        let p = Producer::builder("test")
            .consumer("ent-a", SECRET)
            .unwrap()
            .portlet(Arc::new(Echo(Descriptor::new("echo", "Écho"))))
            .replay_capacity(1)
            .build()
            .await
            .unwrap();
        let r = json(&p, "ent-a", "/portlets/echo/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = json(&p, "ent-a", "/portlets/echo/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let err: ErrorBody = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(err.error.code, ErrorCode::Unavailable);
        let retry: u64 = r.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=32).contains(&retry), "{retry}");
        // A stranger still gets the signature error, and takes no room.
        let r = json(&p, "ent-z", "/portlets/echo/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    /// A portlet with a table of its own: each action adds a row for the caller, the
    /// markup counts them.
    struct Tally(Descriptor);

    #[async_trait]
    impl Portlet for Tally {
        fn descriptor(&self) -> &Descriptor {
            &self.0
        }
        fn schema(&self) -> Option<cartable_portlet::ServiceSchema> {
            Some(cartable_portlet::ServiceSchema::new("tally").sql_text(
                "0001_marks",
                "CREATE TABLE tally_mark (owner TEXT NOT NULL, n BIGINT NOT NULL)",
            ))
        }
        async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
            let db = ctx.db()?;
            let (n,): (i64,) = cartable_portlet::sqlx::query_as(
                "SELECT count(*) FROM tally_mark WHERE owner = $1",
            )
            .bind(&ctx.user().id)
            .fetch_one(db.pool())
            .await?;
            Ok(Markup::trusted_html(format!("<p>marks={n}</p>")).into())
        }
        async fn action(
            &self,
            ctx: &mut PortletContext,
            _req: ActionRequest,
        ) -> Result<ActionResponse, PortletError> {
            let db = ctx.db()?;
            cartable_portlet::sqlx::query("INSERT INTO tally_mark (owner, n) VALUES ($1, 1)")
                .bind(&ctx.user().id)
                .execute(db.pool())
                .await?;
            Ok(ActionResponse::default())
        }
    }

    #[tokio::test]
    async fn each_consumer_has_its_own_tables_and_one_without_has_none() {
        let a = Database::sqlite_in_memory().await.unwrap();
        let b = Database::sqlite_in_memory().await.unwrap();
        let p = Producer::builder("test")
            .consumer("ent-a", SECRET)
            .unwrap()
            .consumer("ent-b", SECRET)
            .unwrap()
            .consumer("ent-c", SECRET)
            .unwrap()
            .consumer_database("ent-a", a.clone())
            .consumer_database("ent-b", b)
            .portlet(Arc::new(Tally(Descriptor::new("tally", "Marques"))))
            .build()
            .await
            .unwrap();
        let action = ActionCall {
            context: call(),
            form: BTreeMap::new(),
        };
        for _ in 0..2 {
            let r = json(&p, "ent-a", "/portlets/tally/action", &action).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let markup = |r: Response<Bytes>| {
            assert_eq!(r.status(), StatusCode::OK);
            serde_json::from_slice::<MarkupResponse>(r.body())
                .unwrap()
                .markup
        };
        let on_a = markup(json(&p, "ent-a", "/portlets/tally/markup", &call()).await);
        assert!(on_a.contains("marks=2"), "{on_a}");
        let on_b = markup(json(&p, "ent-b", "/portlets/tally/markup", &call()).await);
        assert!(
            on_b.contains("marks=0"),
            "lea of ent-b is another person: {on_b}"
        );
        // The rows are in ent-a's database.
        let (rows,): (i64,) = cartable_portlet::sqlx::query_as("SELECT count(*) FROM tally_mark")
            .fetch_one(a.pool())
            .await
            .unwrap();
        assert_eq!(rows, 2);
        // A consumer given no database: the portlet's `ctx.db()` is unavailable.
        let r = json(&p, "ent-c", "/portlets/tally/markup", &call()).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

        let err = Producer::builder("test")
            .consumer("ent-a", SECRET)
            .unwrap()
            .consumer_database("ent-z", a)
            .build()
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProducerError::UnknownConsumer(ref c) if c == "ent-z"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn builder_refuses_a_producer_nobody_can_call() {
        assert!(matches!(
            Producer::builder("x").build().await,
            Err(ProducerError::NoConsumer)
        ));
        let err = Producer::builder("x").consumer("a", "short").unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
}
