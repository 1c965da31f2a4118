//! The pooled client.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, LOCATION, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::{FetchError, HostPolicy, is_public};

/// One request to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// Method.
    pub method: Method,
    /// Target.
    pub url: Url,
    /// Headers (a `User-Agent` is added when missing).
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// Deadline for the whole exchange, body included.
    pub timeout: Duration,
    /// The largest body accepted; reading stops there.
    pub max_body: usize,
    /// Redirects followed (GET and HEAD only); every hop is checked again.
    pub max_redirects: u8,
}

impl OutboundRequest {
    /// A GET: 5 s, 2 MiB, up to 3 redirects.
    pub fn get(url: Url) -> Self {
        OutboundRequest {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(5),
            max_body: 2 * 1024 * 1024,
            max_redirects: 3,
        }
    }

    /// A POST of `body` with this content type; redirects are not followed.
    pub fn post(url: Url, content_type: &str, body: impl Into<Bytes>) -> Self {
        OutboundRequest {
            method: Method::POST,
            body: body.into(),
            max_redirects: 0,
            ..OutboundRequest::get(url)
        }
        .header(http::header::CONTENT_TYPE, content_type)
    }

    /// Add a header; a value that is not a valid header value is dropped.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.headers.append(name, v);
            }
            Err(_) => tracing::warn!(%name, "dropping an invalid outbound header value"),
        }
        self
    }

    /// Set the deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set the body size cap.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Set how many redirects are followed.
    pub fn max_redirects(mut self, n: u8) -> Self {
        self.max_redirects = n;
        self
    }
}

/// A response, body read in full (within the cap).
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The URL that answered, after redirects.
    pub url: Url,
}

impl OutboundResponse {
    /// A header as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<PublicResolver>>;

/// A pooled HTTP/1.1 client (http and https) that reaches only what its [`HostPolicy`]
/// allows. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Fetcher {
    policy: Arc<HostPolicy>,
    client: Client<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A client for this policy.
    pub fn new(policy: HostPolicy) -> Self {
        let mut http = HttpConnector::new_with_resolver(PublicResolver);
        http.enforce_http(false);
        http.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let https = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(b) => b.https_or_http().enable_http1().wrap_connector(http),
            Err(e) => {
                tracing::warn!("no system certificates ({e}); https fetches will fail");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth()
                    });
                match config {
                    Ok(config) => hyper_rustls::HttpsConnectorBuilder::new()
                        .with_tls_config(config)
                        .https_or_http()
                        .enable_http1()
                        .wrap_connector(http),
                    Err(e) => panic!("the ring provider supports TLS 1.2 and 1.3: {e}"),
                }
            }
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            // A page of 20 remote windows under 16 concurrent readers has 320 calls in
            // flight to one producer: keep their connections instead of reopening them.
            .pool_max_idle_per_host(1024)
            .build(https);
        Fetcher {
            policy: Arc::new(policy),
            client,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }

    /// Send a request and read the response within the request's deadline.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError> {
        let timeout = request.timeout;
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(timeout)),
        }
    }

    async fn exchange(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError> {
        let OutboundRequest {
            method,
            mut url,
            mut headers,
            body,
            timeout: _,
            max_body,
            max_redirects,
        } = request;
        let follows = matches!(method, Method::GET | Method::HEAD) && max_redirects > 0;
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static("Cartable/0.1"));
        let mut hops = 0u8;
        loop {
            // Every hop is checked, the first one included.
            self.policy.check(&url)?;
            let uri: http::Uri = url
                .as_str()
                .parse()
                .map_err(|_| FetchError::InvalidUrl(url.to_string()))?;
            let mut outgoing = http::Request::new(Full::new(body.clone()));
            *outgoing.method_mut() = method.clone();
            *outgoing.uri_mut() = uri;
            // Only a request that may be redirected needs its headers again.
            *outgoing.headers_mut() = if follows {
                headers.clone()
            } else {
                std::mem::take(&mut headers)
            };
            let response = self.client.request(outgoing).await.map_err(classify)?;
            let status = response.status();
            let location = response.headers().get(LOCATION);
            if let Some(location) = location.filter(|_| follows && status.is_redirection()) {
                hops += 1;
                if hops > max_redirects {
                    return Err(FetchError::TooManyRedirects);
                }
                let location = location
                    .to_str()
                    .map_err(|_| FetchError::Http("unreadable Location header".into()))?;
                url = url
                    .join(location)
                    .map_err(|_| FetchError::InvalidUrl(location.to_string()))?;
                continue;
            }
            let (parts, body) = response.into_parts();
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > max_body as u64) {
                return Err(FetchError::TooLarge { limit: max_body });
            }
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge { limit: max_body }
                    } else {
                        FetchError::Http(e.to_string())
                    }
                })?
                .to_bytes();
            return Ok(OutboundResponse {
                status: parts.status,
                headers: parts.headers,
                body,
                url,
            });
        }
    }
}

/// Turn a client error into a [`FetchError`], finding a policy refusal from the resolver.
fn classify(e: hyper_util::client::legacy::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return FetchError::Refused {
                url: refusal.host.clone(),
                reason: refusal.to_string(),
            };
        }
        source = err.source();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    if e.is_connect() {
        FetchError::Connect(text)
    } else {
        FetchError::Http(text)
    }
}

/// A host name that resolved to no public address.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves to no public address; names are never followed to loopback, private or link-local addresses"
)]
struct Refusal {
    host: String,
}

/// Resolves host names and keeps public addresses only (IP literals never reach it: the
/// policy checked them).
#[derive(Debug, Clone, Copy)]
struct PublicResolver;

type Addrs = std::vec::IntoIter<SocketAddr>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for PublicResolver {
    type Response = Addrs;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(Refusal { host }) as BoxError);
            }
            Ok(public.into_iter())
        })
    }
}
