//! Streamed pages: the head and each window leave in document order as soon as they and
//! the windows before them are ready, so the first bytes do not wait for the slowest
//! portlet; the document is whole HTML (no JavaScript needed).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cartable::prelude::*;
use common::*;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

/// Takes a fixed time, then renders its name.
struct Slow(Descriptor, Duration);

#[async_trait]
impl Portlet for Slow {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        tokio::time::sleep(self.1).await;
        Ok(Markup::text(&format!("contenu de {}", self.0.id)).into())
    }
}

fn slow(id: &str, ms: u64) -> Arc<dyn Portlet> {
    Arc::new(Slow(Descriptor::new(id, id), Duration::from_millis(ms)))
}

const LAYOUT: &str = r#"
deadline_ms = 2000
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "rapide" }, { portlet = "lent" }], [{ portlet = "bloque" }, { portlet = "apres" }]]
"#;

/// Read a response body chunk by chunk, noting when each arrived.
async fn timed_chunks(base: &str, path: &str, cookie: &str) -> (Duration, Vec<(Duration, String)>) {
    let client = HyperClient::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let started = Instant::now();
    let resp = client
        .request(
            http::Request::get(format!("{base}{path}"))
                .header("cookie", format!("cartable_sid={cookie}"))
                .body(Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let head_at = started.elapsed();
    let mut body = resp.into_body();
    let mut chunks = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        if let Ok(data) = frame.into_data() {
            chunks.push((
                started.elapsed(),
                String::from_utf8_lossy(&data).into_owned(),
            ));
        }
    }
    (head_at, chunks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_bytes_do_not_wait_for_the_slowest_window() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(
        LAYOUT,
        dir.path(),
        vec![
            slow("rapide", 0),
            slow("lent", 800),
            // Hangs past the deadline: bounded by it, shown as "too slow".
            slow("bloque", 60_000),
            slow("apres", 0),
        ],
    )
    .await;
    let lea = p.login("lea").await;
    let cookie = lea.cookie.clone().unwrap();
    let (head_at, chunks) = timed_chunks(&p.base, "/page/accueil", &cookie).await;

    let first = &chunks[0];
    assert!(first.1.contains("<header"), "the banner comes first");
    assert!(
        first.0 < Duration::from_millis(600),
        "first bytes after {:?}, not after the slow windows",
        first.0
    );
    assert!(head_at < Duration::from_millis(600));
    let at = |needle: &str| {
        chunks
            .iter()
            .find(|(_, c)| c.contains(needle))
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("{needle} never came"))
    };
    // The fast window leaves at once; the 800 ms one after about 800 ms; the hanging
    // one at the deadline, and the window after it (already rendered) right behind it.
    assert!(at("contenu de rapide") < Duration::from_millis(600));
    let lent = at("contenu de lent");
    assert!(
        lent >= Duration::from_millis(780) && lent < Duration::from_millis(1800),
        "{lent:?}"
    );
    let apres = at("contenu de apres");
    assert!(
        apres >= Duration::from_millis(1950) && apres < Duration::from_millis(3500),
        "after the hanging window's deadline (2 s), not the sum: {apres:?}"
    );
    // One whole document, in order, readable without scripts.
    let html: String = chunks.iter().map(|(_, c)| c.as_str()).collect();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.trim_end().ends_with("</html>"));
    let order: Vec<usize> = [
        "contenu de rapide",
        "contenu de lent",
        "id=\"w-bloque\"",
        "contenu de apres",
    ]
    .iter()
    .map(|n| html.find(n).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "document order");
    assert!(!html.contains("<!--cartable:window-->"));
    assert!(!html.contains("<script"), "no script needed");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targeted_and_unstreamed_pages_come_whole_with_the_same_windows() {
    let dir = tempfile::tempdir().unwrap();
    let whole = format!("stream_pages = false\n{LAYOUT}");
    for toml in [LAYOUT, whole.as_str()] {
        let p = TestPortal::start(
            toml,
            dir.path(),
            vec![
                slow("rapide", 0),
                slow("lent", 50),
                slow("bloque", 0),
                slow("apres", 0),
            ],
        )
        .await;
        let mut lea = p.login("lea").await;
        let page = lea.get("/page/accueil").await;
        assert_eq!(page.status, 200);
        for n in ["rapide", "lent", "bloque", "apres"] {
            assert!(
                page.body.contains(&format!("contenu de {n}")),
                "{toml}: {n}"
            );
        }
        let max = lea.get("/page/accueil/lent?state=maximized").await;
        assert!(
            max.body.contains("<title>lent – Accueil"),
            "titled after its window"
        );
        p.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_page_is_streamed_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(
        LAYOUT,
        dir.path(),
        vec![
            slow("rapide", 0),
            slow("lent", 800),
            slow("bloque", 0),
            slow("apres", 0),
        ],
    )
    .await;
    let lea = p.login("lea").await;
    let client = HyperClient::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let started = Instant::now();
    let resp = client
        .request(
            http::Request::get(format!("{}/page/accueil", p.base))
                .header(
                    "cookie",
                    format!("cartable_sid={}", lea.cookie.clone().unwrap()),
                )
                .header("accept-encoding", "gzip")
                .body(Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let mut body = resp.into_body();
    let mut chunks = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            chunks.push((started.elapsed(), data));
        }
    }
    // The compressor flushes what is ready instead of holding the page until its end:
    // the head leaves compressed before the slow window is rendered.
    let (first_at, first) = &chunks[0];
    assert_eq!(&first[..2], b"\x1f\x8b", "a gzip stream");
    assert!(
        *first_at < Duration::from_millis(600),
        "first compressed bytes after {first_at:?}"
    );
    let last_at = chunks.last().unwrap().0;
    assert!(last_at >= Duration::from_millis(780), "{last_at:?}");
    p.stop().await;
}
