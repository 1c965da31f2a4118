//! The portal's web layer: each area's routes, merged here into one `axum::Router`, and
//! the layers every response goes through.
//!
//! | area | URLs |
//! |---|---|
//! | [`login`] | `/login`, `/logout`, `/lang/{fr,en}` |
//! | [`page`] | `/`, `/page/{tab}[/{window}]`, `/theme/{file}` |
//! | [`window`] | `/action/…`, `/resource/…`, `/prefs/…` (window calls) |
//! | [`layout`] | `/layout/{tab}`, `/layout` |
//! | [`account`] | `/compte…` |
//! | [`admin`] | `/admin…` |
//! | [`indicators`] | `/admin/indicateurs…` (usage indicators) |
//! | [`search`] | `/recherche` (the ENT-wide search's results) |
//! | [`groups`] | `/compte/groupes/{id}`, `/admin/groupes…` (groups' members, rights, tools and quotas) |
//! | [`cas`] | `/cas/…`, `/login/cas` |
//! | [`help`] | `/aide`, `/aide/signaler` (the footer's way to the help service) |
//! | [`secret`] | `/flux/…` (a portlet's secret URLs, without a session) |
//! | [`dav`] | `/dav/…`, `/.well-known/caldav`, `/.well-known/carddav` (CalDAV and CardDAV clients, application passwords) |
//!
//! Areas share [`shared`] and never import each other. A request goes (outermost
//! first) through the request id, tracing, the security headers, compression and the
//! body limit, then to its route, where the caller and CSRF layers of [`shared`] run
//! before the handler. A path no route has goes to [`shared::not_routed`] (after a path
//! with empty segments, `/page//accueil/`, is tried again as `/page/accueil`).

mod account;
mod admin;
mod cas;
mod dav;
mod gate;
mod groups;
mod help;
mod indicators;
mod layout;
mod login;
mod page;
mod request_id;
mod search;
mod secret;
pub(crate) mod shared;
mod window;

use axum::Router;
use axum::extract::Request;
use http::{Uri, header};
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

use self::shared::St;

/// The portal's router: every area's routes, the fallback, the layers.
pub(crate) fn router(st: St) -> Router {
    // What a path with empty segments is routed again by (no layers: it is already in).
    let tidy = areas(&st)
        .fallback(
            |axum::extract::State(st): axum::extract::State<St>, req: Request| {
                shared::not_routed(st, req)
            },
        )
        .with_state(st.clone());
    let base = st.base.clone();
    let routed = areas(&st)
        .fallback(
            move |axum::extract::State(st): axum::extract::State<St>, req: Request| {
                let (tidy, base) = (tidy.clone(), base.clone());
                async move {
                    match tidied(req.uri(), &base) {
                        Some(uri) => {
                            let (mut parts, body) = req.into_parts();
                            parts.uri = uri;
                            match tidy.oneshot(Request::from_parts(parts, body)).await {
                                Ok(response) => response,
                                Err(never) => match never {},
                            }
                        }
                        None => shared::not_routed(st, req).await,
                    }
                }
            },
        )
        .with_state(st.clone());
    // The layers go around the routes as one service, outermost first, rather than on
    // each route (`Router::layer`), which would box and clone them per route and per
    // request (docs/performance.md, "Issue 13 counted in instructions"). Routes an
    // integrator adds to this router are outside them, as they would be either way.
    let layered = tower::ServiceBuilder::new()
        // Pages, CSS and JSON, gzip or brotli as the browser accepts. A streamed page is
        // compressed as it streams: the encoder (async-compression) flushes whenever the
        // page's body has nothing more ready, so each window still leaves as soon as it
        // is rendered (tests/streaming.rs checks it with gzip). Outermost: the layers
        // inside move a plain response, not one carrying an encoder's state.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .compress_when(Compressible),
        )
        // Every request gets an id (kept if a proxy in front gave one), in its tracing
        // span and on its response.
        .layer(request_id::RequestIds::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // The path only: a query may carry a CAS ticket.
                    tracing::info_span!("request", method = %req.method(), path = req.uri().path(), id)
                })
                .on_response(DefaultOnResponse::new())
                // Failures are logged where they happen, with their cause.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(crate::security::headers())
        // Bodies held to `MAX_BODY`, and a DAV client's discovery on the root (`PROPFIND
        // /`) sent to the DAV area.
        .layer(gate::Gate::new(st))
        .service(routed);
    Router::new().fallback_service(layered)
}

/// Every area's routes, merged.
fn areas(st: &St) -> Router<St> {
    Router::new()
        .merge(login::router(st))
        .merge(page::router(st))
        .merge(window::router(st))
        .merge(layout::router(st))
        .merge(account::router(st))
        .merge(admin::router(st))
        .merge(indicators::router(st))
        .merge(search::router(st))
        .merge(groups::router(st))
        .merge(cas::router(st))
        .merge(help::router(st))
        .merge(secret::router(st))
        .merge(dav::router(st))
}

/// The path without empty segments (`/ent//page/accueil/` → `/ent/page/accueil`), if
/// that changes it.
fn tidied(uri: &Uri, base: &str) -> Option<Uri> {
    let path = uri.path();
    let rest = path.strip_prefix(base)?;
    if !rest.starts_with('/') || !(rest.ends_with('/') || rest.contains("//")) {
        return None;
    }
    let mut tidy = String::with_capacity(path.len());
    tidy.push_str(base);
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        tidy.push('/');
        tidy.push_str(segment);
    }
    if tidy.len() == base.len() {
        tidy.push('/');
    }
    if tidy == path {
        return None;
    }
    if let Some(query) = uri.query() {
        tidy.push('?');
        tidy.push_str(query);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(tidy.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Bodies under this size are sent as they are (a known size; a streamed page has none
/// and is compressed).
const COMPRESS_FROM: u16 = 1024;

/// What is worth compressing: HTML, CSS, JavaScript, JSON, XML and SVG, from
/// [`COMPRESS_FROM`] bytes.
#[derive(Clone, Copy, Debug)]
struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B>(&self, response: &http::Response<B>) -> bool
    where
        B: hyper::body::Body,
    {
        // A stored file keeps its length and byte ranges.
        if response
            .extensions()
            .get::<crate::download::FileResponse>()
            .is_some()
        {
            return false;
        }
        let textual = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                let t = t.split(';').next().unwrap_or("").trim();
                matches!(
                    t,
                    "text/html"
                        | "text/css"
                        | "text/javascript"
                        | "application/javascript"
                        | "application/json"
                        | "application/xml"
                        | "image/svg+xml"
                ) || t.ends_with("+json")
                    || t.ends_with("+xml")
            });
        textual && SizeAbove::new(COMPRESS_FROM).should_compress(response)
    }
}
