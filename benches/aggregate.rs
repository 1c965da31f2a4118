//! The aggregation hot path, by page size: one logged-in user's page of N windows of
//! cheap in-process portlets (a short text each), served in process by `Portal::handle`.
//! The portlets cost next to nothing, so the figures are the portal's own per-page and
//! per-window cost (session, layout, preferences, one task and deadline per window, theme
//! templates, headers); a regression in any of them shows here in review.
//!
//! `cargo bench --bench aggregate` (`-- --quick` for a short run). The load scenarios
//! over real sockets are `benches/load/run.sh` (docs/performance.md).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use cartable::db::Database;
use cartable::ldif::{LdifDirectory, hash_password};
use cartable::portal::{Config, Portal, PortalBuilder};
use cartable::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Windows per page.
const SIZES: [usize; 4] = [1, 4, 12, 32];

/// The cheapest portlet that still uses its context: one escaped line of text.
struct Cheap(Descriptor);

#[async_trait]
impl Portlet for Cheap {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text(&format!("Bonjour {}", ctx.user().display_name)).into())
    }
}

fn config(n: usize) -> Config {
    let columns: Vec<String> = (0..3)
        .map(|c| {
            let ws: Vec<String> = (c..n)
                .step_by(3)
                .map(|i| format!("{{ portlet = \"c{i}\" }}"))
                .collect();
            format!("[{}]", ws.join(", "))
        })
        .collect();
    let toml = format!(
        "[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [{}]\n",
        columns.join(", ")
    );
    Config::from_toml(&toml, std::path::Path::new(".")).expect("bench config")
}

async fn send(portal: &Portal, req: http::Request<Full<Bytes>>) -> (http::Response<()>, Bytes) {
    let resp = portal.handle(req, PEER).await;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (http::Response::from_parts(parts, ()), bytes)
}

fn cookie_of(r: &http::Response<()>) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .expect("ascii cookie")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_string()
}

/// Log `lea` in through the login form and return the session cookie.
async fn login(portal: &Portal) -> String {
    let (r, body) = send(
        portal,
        http::Request::get("/login").body(Full::default()).unwrap(),
    )
    .await;
    let cookie = cookie_of(&r);
    let html = String::from_utf8_lossy(&body);
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker).expect("CSRF field") + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let (r, _) = send(
        portal,
        http::Request::post("/login")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!(
                "_csrf={token}&login=lea&password=pw"
            ))))
            .unwrap(),
    )
    .await;
    cookie_of(&r)
}

async fn portal(n: usize, hash: &str) -> Portal {
    let ldif = format!(
        "dn: uid=lea,dc=test\nuid: lea\ncn: Léa Martin\nENTPersonProfils: eleve\nuserPassword: {{ARGON2}}{hash}\n"
    );
    let portlets: Vec<Arc<dyn Portlet>> = (0..n)
        .map(|i| {
            Arc::new(Cheap(Descriptor::new(
                &format!("c{i}"),
                format!("Service {i}").as_str(),
            ))) as Arc<dyn Portlet>
        })
        .collect();
    PortalBuilder::new(config(n))
        .directory(Arc::new(LdifDirectory::parse(&ldif).unwrap()))
        .database(Database::sqlite_in_memory().await.unwrap())
        .portlets(portlets)
        .build()
        .await
        .unwrap()
}

fn page(cookie: &str) -> http::Request<Full<Bytes>> {
    http::Request::get("/page/accueil")
        .header("cookie", cookie)
        .body(Full::default())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hash = hash_password("pw");
    let mut group = c.benchmark_group("aggregate");
    for n in SIZES {
        let portal = rt.block_on(portal(n, &hash));
        let cookie = rt.block_on(login(&portal));
        let (r, body) = rt.block_on(send(&portal, page(&cookie)));
        assert_eq!(r.status(), 200);
        assert_eq!(
            String::from_utf8_lossy(&body)
                .matches("Bonjour Léa Martin")
                .count(),
            n,
            "every window rendered"
        );
        // Throughput in windows: criterion shows the cost per window beside the page's.
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("windows", n), &n, |b, _| {
            b.to_async(&rt).iter(|| async {
                let (r, body) = send(&portal, page(&cookie)).await;
                assert_eq!(r.status(), 200);
                body
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
