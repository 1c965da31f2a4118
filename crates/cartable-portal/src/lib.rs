//! The Cartable portal: the container that serves the ENT.
//!
//! It runs on axum, tower-http and tokio and does everything around the portlets: login
//! and server-side sessions, CSRF and security headers, pages made of tabs, columns and
//! windows rendered concurrently under deadlines, window states and modes, actions with
//! post/redirect/get, resources, layered preferences, user layouts and themes.
//! [`Portal::router`] is an `axum::Router` an établissement can add its own routes and
//! layers to; `cartable-serve` serves it.
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

mod aggregate;
mod cache;
mod cas;
pub mod config;
pub mod download;
pub mod files;
mod forms;
mod health;
mod http;
mod i18n;
pub mod layout;
mod memo;
mod nodes;
pub mod portability;
pub mod search;
pub mod security;
mod state;
mod theme;
mod upload;
mod visitor;
mod web;

/// Entry points for the fuzz targets (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::http::{MAX_BODY, ReadError, Request, SESSION_COOKIE, parse_params_bytes};
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tower::ServiceExt;

pub use cartable_serve::{Running as RunningPortal, ServerConfig, shutdown_signal};
pub use config::{Config, ConfigError, ConfigFile};
pub use health::Availability;
pub use state::{BuildError, PortalBuilder, TaskError, service_schemas};
pub use theme::{Theme, ThemeError};

use crate::state::State;

/// An assembled portal, ready to serve. Cloning shares the same state.
#[derive(Clone)]
pub struct Portal {
    state: Arc<State>,
    router: axum::Router,
}

/// The body of the portal's responses: whole, or streamed window by window (pages).
pub type ResponseBody = axum::body::Body;

impl Portal {
    fn new(state: Arc<State>) -> Portal {
        let router = web::router(state.clone());
        Portal { state, router }
    }

    /// The portal as an `axum::Router`, every layer included: merge routes of your own
    /// into it, nest it, wrap it in more layers, and serve it with
    /// [`cartable_serve::serve`] (see `examples/custom_routes.rs`). Routes added to it do
    /// not go through the portal's layers (security headers…) unless you add them:
    /// [`security::headers`] is one.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// The background job queue: enqueue a job of a kind registered with
    /// [`PortalBuilder::job`] (from a route of yours, a task, a test).
    pub fn jobs(&self) -> &cartable_socle::jobs::Jobs {
        &self.state.jobs
    }

    /// The groups service (members and rights, tools, quotas), as the portal's pages use
    /// it: to seed groups before serving (a demo, a fixture) or read them from a route
    /// of yours.
    pub fn groups(&self) -> &cartable_socle::Groups {
        &self.state.groups
    }

    /// Add the usage indicators this node counted since its last flush to the database
    /// (the portal does it every minute): call it after the server stopped
    /// (`running.shutdown().await`), so that a graceful stop loses no counts.
    pub async fn flush_indicators(&self) -> Result<usize, cartable_socle::SocleError> {
        self.state.indicators.flush().await
    }

    /// "Mes données": build a user's archive, verify and import one (what `/compte`
    /// does in a job, and `cartable export` and `import` from a shell).
    pub fn portability(&self) -> &portability::Portability {
        &self.state.portability
    }

    /// The person `id` as the directory has her now (`None`: no such person).
    pub async fn person(
        &self,
        id: &str,
    ) -> Result<Option<Arc<cartable_socle::Person>>, cartable_socle::SocleError> {
        self.state.person(id).await
    }

    /// The connection limits of the configuration (`[server]`), for
    /// [`cartable_serve::serve`].
    pub fn server_config(&self) -> ServerConfig {
        self.state.config.server
    }

    /// Bind the configured address and serve.
    pub async fn bind(self) -> std::io::Result<RunningPortal> {
        let listener = TcpListener::bind(self.state.config.listen).await?;
        self.serve(listener)
    }

    /// Serve on a listener you bound (tests bind `127.0.0.1:0`), with the connection
    /// limits of `[server]`.
    /// Once stopped, the usage indicators counted in memory since the last flush are
    /// written.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<RunningPortal> {
        let indicators = self.state.indicators.clone();
        cartable_serve::spawn_then(
            listener,
            self.router,
            self.state.config.server,
            async move {
                if let Err(e) = indicators.flush().await {
                    tracing::warn!(error = %e, "usage indicators counted since the last flush are lost");
                }
            },
        )
    }

    /// Answer one request in process, without a socket (benches, tests, embedding in
    /// another server). `peer` is the client address used for login throttling.
    pub async fn handle<B>(
        &self,
        req: hyper::Request<B>,
        peer: std::net::IpAddr,
    ) -> hyper::Response<ResponseBody>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        // As served: the client's address, and a body still to come held to the body
        // deadline.
        let has_body = !(req.method() == hyper::Method::GET
            || req.method() == hyper::Method::HEAD
            || req.body().is_end_stream());
        let deadline =
            has_body.then(|| Duration::from_millis(self.state.config.server.body_read_timeout_ms));
        let (mut parts, body) = req.into_parts();
        parts
            .extensions
            .insert(axum::extract::ConnectInfo(SocketAddr::new(peer, 0)));
        let body = cartable_serve::Body::new(Box::pin(body), deadline);
        let req = hyper::Request::from_parts(parts, axum::body::Body::new(body));
        match self.router.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}
