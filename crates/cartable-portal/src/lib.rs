//! The Cartable portal: the container that serves the ENT.
//!
//! It runs on hyper + tokio and does everything around the portlets: login and
//! server-side sessions, CSRF and security headers, pages made of tabs, columns and
//! windows rendered concurrently under deadlines, window states and modes, actions with
//! post/redirect/get, resources, layered preferences, user layouts and themes.
//!
//! ```no_run
//! use std::sync::Arc;
//! use cartable_portal::{Config, PortalBuilder};
//!
//! # async fn run(my_portlet: Arc<dyn cartable_portlet::Portlet>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::load("cartable.toml".as_ref())?;
//! config.apply_env()?;
//! let portal = PortalBuilder::new(config).portlet(my_portlet).build().await?;
//! let running = portal.bind().await?;
//! println!("ENT on http://{}", running.local_addr());
//! running.wait().await;
//! # Ok(()) }
//! ```

mod account;
mod aggregate;
mod cache;
pub(crate) mod cas;
pub mod config;
mod conn;
mod health;
mod http;
mod i18n;
pub mod layout;
mod memo;
mod nodes;
mod routes;
pub mod security;
mod state;
mod theme;
mod visitor;

/// Entry points for the fuzz targets (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::http::{MAX_BODY, ReadError, Request, SESSION_COOKIE, parse_params_bytes};
}

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, ConfigError, ConfigFile};
pub use health::Availability;
pub use state::{BuildError, PortalBuilder, TaskError};
pub use theme::{Theme, ThemeError};

use crate::http::Request;
use crate::state::State;

/// An assembled portal, ready to serve. Cloning shares the same state.
#[derive(Clone)]
pub struct Portal {
    state: Arc<State>,
}

/// A portal serving on a socket; drop it or call [`shutdown`](RunningPortal::shutdown)
/// to stop.
pub struct RunningPortal {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The body of the portal's responses: whole, or streamed window by window (pages).
pub type ResponseBody = http::Body;

impl Portal {
    /// Bind the configured address and serve.
    pub async fn bind(self) -> std::io::Result<RunningPortal> {
        let listener = TcpListener::bind(self.state.config.listen).await?;
        self.serve(listener)
    }

    /// Answer one request in process, without a socket (benches, tests, embedding in
    /// another server). `peer` is the client address used for login throttling.
    pub async fn handle<B>(
        &self,
        req: hyper::Request<B>,
        peer: std::net::IpAddr,
    ) -> hyper::Response<ResponseBody>
    where
        B: hyper::body::Body<Data = bytes::Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let body_deadline = Duration::from_millis(self.state.config.server.body_read_timeout_ms);
        serve_one(&self.state, req, SocketAddr::new(peer, 0), body_deadline).await
    }

    /// Serve on a listener you bound (tests bind `127.0.0.1:0`).
    ///
    /// Connections are held to the deadlines and the cap of `[server]` (see `conn.rs`).
    pub fn serve(self, listener: TcpListener) -> std::io::Result<RunningPortal> {
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let server = conn::Server::new(self.state);
        let task = tokio::spawn(async move {
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            let builder = auto::Builder::new(TokioExecutor::new());
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, peer) = match accepted {
                            Ok(x) => x,
                            Err(e) => {
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
                        let service = service_fn(move |req| {
                            // In progress from here until its response body is written.
                            let busy = conn.begin();
                            async move {
                                let c = busy.conn();
                                let response =
                                    serve_one(&c.server.state, req, c.peer, c.server.limits.body).await;
                                Ok::<_, Infallible>(busy.respond(response))
                            }
                        });
                        let conn = builder.serve_connection_with_upgrades(io, service);
                        let conn = graceful.watch(conn.into_owned());
                        tokio::spawn(async move {
                            if let Err(e) = conn.await {
                                tracing::debug!("connection ended: {e}");
                            }
                        });
                    }
                    _ = stopped.changed() => break,
                }
            }
            drop(listener);
            let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        });
        Ok(RunningPortal { addr, stop, task })
    }
}

async fn serve_one<B>(
    state: &Arc<State>,
    req: hyper::Request<B>,
    peer: SocketAddr,
    body_deadline: Duration,
) -> hyper::Response<http::Body>
where
    B: hyper::body::Body<Data = bytes::Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    // A body still to come must arrive within `body_deadline` (the size cap does not
    // bound the time). No timer for requests without one (the timer is only registered
    // if the body is not there on the first poll).
    let has_body = !(req.method() == hyper::Method::GET
        || req.method() == hyper::Method::HEAD
        || req.body().is_end_stream());
    let reading = Request::read(req, &state.base, peer.ip());
    let read = if has_body {
        match tokio::time::timeout(body_deadline, reading).await {
            Ok(read) => read,
            Err(_) => {
                let mut response =
                    http::text(hyper::StatusCode::REQUEST_TIMEOUT, "Request body too slow");
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
                security::add_security_headers(response.headers_mut());
                return response;
            }
        }
    } else {
        reading.await
    };
    let mut response = match read {
        Ok(req) => routes::handle(state, req).await,
        Err(http::ReadError::TooLarge) => http::text(
            hyper::StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        ),
        Err(http::ReadError::Broken) => {
            http::text(hyper::StatusCode::BAD_REQUEST, "Request could not be read")
        }
        Err(http::ReadError::OutsideBase) => http::text(hyper::StatusCode::NOT_FOUND, "Not found"),
    };
    security::add_security_headers(response.headers_mut());
    response
}

impl RunningPortal {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let requests in flight finish (at most 5 s), and return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Serve until Ctrl-C, then shut down.
    pub async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
        self.shutdown().await;
    }
}
