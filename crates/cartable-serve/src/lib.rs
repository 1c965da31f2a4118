//! One way to serve HTTP in Cartable: the portal, the remote producer, the demo site and
//! the load-test servers all accept their connections here.
//!
//! [`serve`] runs any [`tower::Service`] (an `axum::Router`, a `tower::service_fn`…) on
//! a listener, HTTP/1.1 or HTTP/2 (prior knowledge), and holds every connection to the
//! limits of a [`ServerConfig`] (the `[server]` section of `cartable.toml`):
//!
//! - **head deadline**: a new connection must send a complete request head within
//!   `header_read_timeout_ms` of being accepted, whether it sends nothing, half a head or
//!   a byte at a time (the deadline is absolute, not between two reads);
//! - **idle deadline**: a kept-alive connection with no request in progress is closed
//!   after `idle_timeout_ms`; once the first byte of its next request arrives, the head
//!   has `header_read_timeout_ms` from that byte. A request is in progress from the moment
//!   it is handed to the service until its response body has been written, so a long
//!   streamed page is never idle;
//! - **body deadline**: a request body must arrive whole within `body_read_timeout_ms` of
//!   its head; past it, reading the body fails with [`BodyTimeout`] and the answer is
//!   `408 Request Timeout` with `Connection: close` (the service's own 408, or a plain
//!   one if it answered something else);
//! - **cap**: past `max_connections` open connections, a new one is answered a minimal
//!   `503 Service Unavailable` with `Retry-After` and `Connection: close`, then closed.
//!   Past three quarters of the cap, a connection going idle is kept at most the head
//!   deadline, so idle keep-alive connections give way before anyone is refused.
//!
//! Each request carries the client's address as an
//! [`axum::extract::ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) extension.
//! Serving stops when the `shutdown` future completes: the listener closes, requests in
//! flight get [`DRAIN`] to finish. [`spawn`] runs [`serve`] in a task and returns a
//! [`Running`] handle; [`shutdown_signal`] completes on SIGTERM or Ctrl-C.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use cartable_serve::{Request, ServerConfig, serve, shutdown_signal};
//!
//! # async fn run() -> std::io::Result<()> {
//! let hello = tower::service_fn(|_req: Request| async {
//!     Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(
//!         bytes::Bytes::from_static(b"bonjour"),
//!     )))
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, hello, ServerConfig::default(), shutdown_signal()).await;
//! # Ok(()) }
//! ```

mod body;
mod conn;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::{Service, ServiceExt};

pub use body::{Body, BodyTimeout};

/// Any error a body may carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a served service receives: the request with its body under the body deadline.
pub type Request = http::Request<Body<Incoming>>;

/// How long requests in flight may take to finish once serving stops.
pub const DRAIN: Duration = Duration::from_secs(5);

/// Connection deadlines and the connection cap (`[server]`): what keeps slow, idle or
/// too many clients from holding the node's connections and file descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ServerConfig {
    /// A new connection must send a whole request head within this time of being
    /// accepted (sending nothing, half a head or a byte now and then does not extend it),
    /// and so must a kept-alive connection from the first byte of its next request.
    pub header_read_timeout_ms: u64,
    /// A kept-alive connection with no request in progress is closed after this time. A
    /// request is in progress until its response is written, so a long streamed page is
    /// never idle. Keep it longer than the upstream keep-alive of a reverse proxy in
    /// front (nginx, HAProxy: 60 s), so that the proxy closes first.
    pub idle_timeout_ms: u64,
    /// A request body must arrive whole within this time of its head, else 408 and the
    /// connection closes (a size cap does not bound the time).
    pub body_read_timeout_ms: u64,
    /// Open connections per node; a new one past the cap gets `503` with `Retry-After`
    /// and is closed. Past three quarters of it, idle connections are kept at most
    /// `header_read_timeout_ms`. Keep it under the process's file-descriptor limit
    /// (`ulimit -n`) less what the database pool and outbound fetches use.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 75_000,
            body_read_timeout_ms: 60_000,
            max_connections: 4096,
        }
    }
}

/// Serve `service` on `listener` until `shutdown` completes, then stop accepting and
/// give the requests in flight [`DRAIN`] to finish.
///
/// The service is cloned for each request (an `axum::Router` clone is one reference
/// count); its errors are `Infallible`: it answers every request.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let server = conn::Server::new(&config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors, mostly: wait a little for some to free.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(conn) = server.admit(peer) else {
                    server.refuse(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(conn::Guarded::new(stream, conn.clone()));
                let service = service.clone();
                let hyper_service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    // In progress from here until its response body is written.
                    let busy = conn.begin();
                    call(service.clone(), req, busy)
                });
                let connection = builder.serve_connection_with_upgrades(io, hyper_service);
                let connection = graceful.watch(connection.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("requests still in flight {DRAIN:?} after shutdown began: dropped");
    }
}

/// One request: its body under the body deadline, the client's address in its
/// extensions, and a 408 if the body deadline passed.
async fn call<S, B>(
    service: S,
    req: http::Request<Incoming>,
    busy: conn::Busy,
) -> Result<http::Response<conn::TrackedBody<Either<B, Full<Bytes>>>>, Infallible>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let (mut parts, incoming) = req.into_parts();
    parts.extensions.insert(ConnectInfo(busy.conn().peer));
    // No timer for requests without a body (and none is registered until a read of
    // the body finds it not there yet).
    let has_body = !(parts.method == http::Method::GET
        || parts.method == http::Method::HEAD
        || hyper::body::Body::is_end_stream(&incoming));
    let (body, passed) = if has_body {
        Body::watched(incoming, busy.conn().limits().body)
    } else {
        (Body::new(incoming, None), None)
    };
    let response = match service
        .oneshot(http::Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let response = match passed {
        Some(passed) if passed.load(std::sync::atomic::Ordering::Acquire) => {
            body::timed_out(response)
        }
        _ => response.map(Either::Left),
    };
    Ok(busy.respond(response))
}

/// A server running in a task of its own; drop it or call
/// [`shutdown`](Running::shutdown) to stop.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Run [`serve`] in a task until the returned handle is shut down or dropped.
pub fn spawn<S, B>(
    listener: TcpListener,
    service: S,
    config: ServerConfig,
) -> std::io::Result<Running>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    spawn_then(listener, service, config, std::future::ready(()))
}

/// [`spawn`], then `last` once the server has stopped and drained: what must be saved
/// when the process stops (counts kept in memory). [`Running::shutdown`] returns after
/// it.
pub fn spawn_then<S, B, F>(
    listener: TcpListener,
    service: S,
    config: ServerConfig,
    last: F,
) -> std::io::Result<Running>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let stopped = async move {
        // Also resolves when the handle is dropped (the sender is gone).
        let _ = stopped.changed().await;
    };
    let task = tokio::spawn(async move {
        serve(listener, service, config, stopped).await;
        last.await;
    });
    Ok(Running { addr, stop, task })
}

impl Running {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let requests in flight finish (at most [`DRAIN`]), and return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Serve until SIGTERM or Ctrl-C ([`shutdown_signal`]), then shut down.
    pub async fn wait(self) {
        shutdown_signal().await;
        self.shutdown().await;
    }
}

/// Completes when the process is asked to stop: SIGTERM (what service managers and
/// container runtimes send) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
