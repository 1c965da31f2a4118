//! The aggregation hot path: one logged-in user's page of 12 in-process portlets, served
//! in process by `Portal::handle` (session lookup, layout, preferences, 12 concurrent
//! renders under deadlines, theme templates, security headers). No socket, so the figure
//! is the portal's own cost.
//!
//! `cargo bench --bench page_render`

mod support;

use std::sync::Arc;

use cartable::db::Database;
use cartable::ldif::LdifDirectory;
use cartable::portal::{Config, PortalBuilder};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::Full;
use support::{login, send};

fn config() -> Config {
    let windows: Vec<String> = (0..12)
        .map(|i| format!("{{ portlet = \"p{i}\" }}"))
        .collect();
    let toml = format!(
        "[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{}], [{}], [{}]]\n",
        windows[0..4].join(", "),
        windows[4..8].join(", "),
        windows[8..12].join(", ")
    );
    Config::from_toml(&toml, std::path::Path::new(".")).expect("bench config")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let portal = rt.block_on(async {
        let ldif = support::ldif();
        PortalBuilder::new(config())
            .directory(Arc::new(LdifDirectory::parse(&ldif).unwrap()))
            .database(Database::sqlite_in_memory().await.unwrap())
            .portlets(support::portlets("p", 12))
            .build()
            .await
            .unwrap()
    });
    let cookie = rt.block_on(login(&portal));
    let (r, body) = rt.block_on(send(
        &portal,
        http::Request::get("/page/accueil")
            .header("cookie", &cookie)
            .body(Full::default())
            .unwrap(),
    ));
    assert_eq!(r.status(), 200);
    assert_eq!(
        String::from_utf8_lossy(&body)
            .matches("<li>Élément")
            .count(),
        96
    );

    c.bench_function("page of 12 in-process portlets", |b| {
        b.to_async(&rt).iter(|| async {
            let (r, body) = send(
                &portal,
                http::Request::get("/page/accueil")
                    .header("cookie", &cookie)
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status(), 200);
            body
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
