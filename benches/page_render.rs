//! The aggregation hot path: one logged-in user's page of 12 in-process portlets, served
//! in process by `Portal::handle` (session lookup, layout, preferences, 12 concurrent
//! renders under deadlines, theme templates, security headers). No socket, so the figure
//! is the portal's own cost.
//!
//! `cargo bench --bench page_render`

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use cartable::portal::{Config, Portal, PortalBuilder};
use cartable::prelude::*;
use cartable::socle::{LdifDirectory, SqliteStorage, hash_password};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A portlet rendering a small list through a compiled template, like most services do.
struct Item(Descriptor, Templates);

#[async_trait]
impl Portlet for Item {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let items: Vec<String> = (1..=8)
            .map(|i| format!("Élément {i} pour {}", ctx.user().display_name))
            .collect();
        let m = self.1.render(
            "list",
            minijinja::context! { items => items, ns => ctx.window().namespace(),
            url => ctx.urls().render().param("page", 2).to_string() },
        )?;
        Ok(m.into())
    }
}

fn portlets() -> Vec<Arc<dyn Portlet>> {
    (0..12)
        .map(|i| {
            let t = Templates::new([(
                "list",
                r#"<ul id="{{ ns }}-list">{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul><a href="{{ url }}">Suite</a>"#,
            )])
            .expect("template compiles");
            Arc::new(Item(Descriptor::new(&format!("p{i}"), format!("Service {i}").as_str()), t))
                as Arc<dyn Portlet>
        })
        .collect()
}

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

async fn send(portal: &Portal, req: http::Request<Full<Bytes>>) -> (http::Response<()>, Bytes) {
    let resp = portal.handle(req, PEER).await;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (http::Response::from_parts(parts, ()), bytes)
}

/// Log in through the portal and return the session cookie.
async fn login(portal: &Portal) -> String {
    let (r, body) = send(
        portal,
        http::Request::get("/login").body(Full::default()).unwrap(),
    )
    .await;
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = String::from_utf8_lossy(&body);
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let form = format!("_csrf={token}&login=lea&password=pw");
    let (r, _) = send(
        portal,
        http::Request::post("/login")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .unwrap(),
    )
    .await;
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let portal = rt.block_on(async {
        let ldif = format!(
            "dn: uid=lea,dc=test\nuid: lea\ncn: Léa Martin\nENTPersonProfils: eleve\nuserPassword: {{ARGON2}}{}\n",
            hash_password("pw")
        );
        PortalBuilder::new(config())
            .directory(Arc::new(LdifDirectory::parse(&ldif).unwrap()))
            .storage(Arc::new(SqliteStorage::in_memory().unwrap()))
            .sessions(Arc::new(SqliteStorage::in_memory().unwrap()))
            .portlets(portlets())
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
