//! Feeds and remote producers wired by configuration alone (`[[feeds]]`, `[[remote]]`,
//! `allowed_hosts`), against real servers on loopback.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cartable::{EntBuilder, EntConfig};
use cartable_remote::Producer;
use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Flux</title><link>https://example.org/</link><description>d</description>
<item><title>Rentrée des classes</title><link>https://example.org/rentree</link><description>&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Bonne rentrée&lt;/b&gt;</description></item>
</channel></rss>"#;

async fn feed_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(RSS))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

const KEY: &str = "a-shared-key-of-at-least-32-bytes-for-tests";

fn toml(feed: SocketAddr, producer: SocketAddr, allowed: &[String]) -> String {
    format!(
        r#"
allowed_hosts = {allowed:?}

[[feeds]]
id = "flux"
title = "Actualités"
feeds = [{{ name = "Lycée", url = "http://{feed}/rss" }}]

[[remote]]
id = "voisin"
url = "http://{producer}/"
key_id = "lycee"
key = "{KEY}"

[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{{ portlet = "flux" }}, {{ portlet = "voisin-cantine" }}]]
"#
    )
}

async fn producer() -> cartable_remote::RunningProducer {
    let producer = Producer::builder("Voisin")
        .consumer("lycee", KEY)
        .unwrap()
        .portlet(Arc::new(cartable_demo::Cantine::new()))
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    producer.serve(listener).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_and_producers_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_server().await;
    let running = producer().await;
    let allowed = vec![feed.to_string(), running.local_addr().to_string()];
    let p = TestPortal::start(
        &toml(feed, running.local_addr(), &allowed),
        dir.path(),
        vec![],
    )
    .await;
    let mut lea = p.login("lea").await;
    let page = lea.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Rentrée des classes"), "feed window");
    assert!(page.body.contains("<b>Bonne rentrée</b>"), "item HTML kept");
    assert!(!page.body.contains("alert(1)"), "item script removed");
    assert!(page.body.contains("Carottes râpées"), "remote window");
    p.stop().await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_not_allowed_stop_the_portal_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_server().await;
    let running = producer().await;
    for allowed in [
        // Nothing listed: loopback is refused by default.
        vec![],
        // "*" allows public hosts, never loopback.
        vec!["*".to_string()],
        // The producer only: the feed is refused.
        vec![running.local_addr().to_string()],
    ] {
        let mut config =
            EntConfig::from_toml(&toml(feed, running.local_addr(), &allowed), dir.path()).unwrap();
        config.portal.data_dir = dir.path().to_path_buf();
        let directory = cartable::ldif::LdifDirectory::parse(&ldif()).unwrap();
        let err = match EntBuilder::new(config)
            .directory(Arc::new(directory))
            .build()
            .await
        {
            Ok(_) => panic!("{allowed:?}: the portal must refuse to start"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("[[feeds]] flux") || err.contains("[[remote]] voisin"),
            "{allowed:?}: {err}"
        );
        assert!(err.contains("refused") || err.contains("allow"), "{err}");
    }
    running.shutdown().await;
}
