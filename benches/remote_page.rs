//! A page composing 5 remote portlets (integration level 2a): a Cartable producer on a
//! loopback socket, the portal consuming it through `[[remote]]`, the page served in
//! process by `Portal::handle`. Three cases: fragments the producer lets the consumer
//! cache for 60 s (revalidated by ETag after that), fragments it does not (every page
//! makes 5 signed HTTP calls, answered `304 Not Modified`), and fragments whose markup
//! changes on every call (5 signed calls answered `200`, each fragment sanitized anew).
//!
//! `cargo bench --bench remote_page`

mod support;

use std::sync::Arc;
use std::time::Duration;

use cartable::db::Database;
use cartable::ldif::LdifDirectory;
use cartable::portlet::CachePolicy;
use cartable::prelude::*;
use cartable::{EntBuilder, EntConfig};
use cartable_remote::Producer;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use support::{login, send};

const KEY: &str = "bench-key-of-at-least-thirty-two-bytes-0123456789";

/// A portlet of the support module, with another cache policy.
struct Cached(Arc<dyn Portlet>, Descriptor);

#[async_trait]
impl Portlet for Cached {
    fn descriptor(&self) -> &Descriptor {
        &self.1
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        self.0.render(ctx).await
    }
}

/// A portlet of the support module whose markup changes on every render (never a 304).
struct Changing(Arc<dyn Portlet>, std::sync::atomic::AtomicU64);

#[async_trait]
impl Portlet for Changing {
    fn descriptor(&self) -> &Descriptor {
        self.0.descriptor()
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut out = self.0.render(ctx).await?;
        out.markup = Markup::trusted_html(format!("{}<p>{n}</p>", out.markup.as_str()));
        Ok(out)
    }
}

fn config(producer: std::net::SocketAddr, prefix: &str) -> EntConfig {
    let windows: Vec<String> = (0..5)
        .map(|i| format!("{{ portlet = \"prod-{prefix}{i}\" }}"))
        .collect();
    let toml = format!(
        "allowed_hosts = [\"{producer}\"]\n[[remote]]\nid = \"prod\"\nurl = \"http://{producer}/\"\nkey_id = \"bench\"\nkey = \"{KEY}\"\ntimeout_ms = 2000\n[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{}], [{}]]\n",
        windows[0..3].join(", "),
        windows[3..5].join(", "),
    );
    EntConfig::from_toml(&toml, std::path::Path::new(".")).expect("bench config")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("page of 5 remote portlets");
    for (prefix, label) in [
        ("u", "uncached"),
        ("c", "cached 60 s"),
        ("f", "fresh markup each call"),
    ] {
        let (portal, cookie, _running) = rt.block_on(async {
            let mut portlets = support::portlets("u", 5);
            portlets.extend(support::portlets("c", 5).into_iter().map(|p| {
                let d = p
                    .descriptor()
                    .clone()
                    .cache(CachePolicy::PerUser(Duration::from_secs(60)));
                Arc::new(Cached(p, d)) as Arc<dyn Portlet>
            }));
            portlets.extend(
                support::portlets("f", 5)
                    .into_iter()
                    .map(|p| Arc::new(Changing(p, Default::default())) as Arc<dyn Portlet>),
            );
            let producer = Producer::builder("bench")
                .consumer("bench", KEY)
                .unwrap()
                .portlets(portlets)
                .build()
                .await
                .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let running = producer.serve(listener).unwrap();
            let db = Database::sqlite_in_memory().await.unwrap();
            let portal = EntBuilder::new(config(running.local_addr(), prefix))
                .directory(Arc::new(LdifDirectory::parse(&support::ldif()).unwrap()))
                .with_portal(|p| p.database(db))
                .build()
                .await
                .unwrap();
            let cookie = login(&portal).await;
            (portal, cookie, running)
        });
        let page = || {
            http::Request::get("/page/accueil")
                .header("cookie", &cookie)
                .body(Full::default())
                .unwrap()
        };
        let (r, body) = rt.block_on(send(&portal, page()));
        assert_eq!(r.status(), 200);
        assert_eq!(
            String::from_utf8_lossy(&body)
                .matches("<li>Élément")
                .count(),
            40,
            "every remote window rendered"
        );
        group.bench_function(label, |b| {
            b.to_async(&rt).iter(|| async {
                let (r, body) = send(&portal, page()).await;
                assert_eq!(r.status(), 200);
                body
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
