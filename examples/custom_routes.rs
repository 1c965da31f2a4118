//! An établissement's own binary: the Cartable portal on its embedded defaults, plus a
//! route and a layer of the établissement's, served like the portal itself.
//!
//! ```text
//! cargo run --example custom_routes
//! ```
//!
//! Then open <http://127.0.0.1:8080/etab/horaires> (the établissement's page) and
//! <http://127.0.0.1:8080/login> (the portal's: `eleve`/`eleve`). Every response carries
//! `X-Etablissement: lycee-hugo`, the établissement's layer. `CARTABLE_LISTEN` and
//! `CARTABLE_DATA_DIR` override the address and the data directory; the first line on
//! stdout is the address.
//!
//! [`Portal::router`](cartable::portal::Portal::router) is an `axum::Router` with the
//! portal's routes and layers: add routes to it (or `merge` a router of your own, or
//! `nest` the portal under a prefix), wrap it in layers, and serve it with
//! [`cartable::serve::serve`], which holds every connection to the `[server]` limits and
//! stops gracefully on SIGTERM or Ctrl-C.

use std::path::Path;

use axum::response::Html;
use axum::routing::get;
use cartable::portal::{Config, PortalBuilder, security};
use cartable::serve::{serve, shutdown_signal};
use http::{HeaderName, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The portal on embedded defaults: a directory read from an LDIF file, its data in
    //    SQLite under the data directory, no portlet of its own.
    let mut config = Config {
        etablissement: "Lycée Victor Hugo".into(),
        directory: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee/annuaire.ldif")),
        data_dir: std::env::temp_dir().join("cartable-custom-routes"),
        ..Config::default()
    };
    config.apply_env()?;
    std::fs::create_dir_all(&config.data_dir)?;
    let portal = PortalBuilder::new(config.clone()).build().await?;

    // 2. The établissement's route, with the portal's security headers (routes added to
    //    the portal's router do not go through its layers), and its own layer around
    //    everything, the portal's routes included.
    let app = portal
        .router()
        .route("/etab/horaires", get(horaires).layer(security::headers()))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-etablissement"),
            HeaderValue::from_static("lycee-hugo"),
        ));

    // 3. Served like the portal: `[server]` limits, graceful shutdown.
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    println!("http://{}", listener.local_addr()?);
    serve(listener, app, portal.server_config(), shutdown_signal()).await;
    Ok(())
}

/// `GET /etab/horaires`: a page of the établissement's, outside the portal's pages.
async fn horaires() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <title>Horaires</title></head><body><h1>Horaires du lycée</h1>\
         <p>Du lundi au vendredi, de 8 h à 18 h ; le mercredi, de 8 h à 12 h.</p>\
         </body></html>",
    )
}
