//! What the benches share: a cheap templated portlet and an in-process login.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use cartable::ldif::hash_password;
use cartable::portal::Portal;
use cartable::prelude::*;
use http_body_util::{BodyExt, Full};

pub const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A portlet rendering a small list through a compiled template, like most services do.
pub struct Item(Descriptor, Templates);

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

/// `n` portlets `p0`… (ids with this prefix).
pub fn portlets(prefix: &str, n: usize) -> Vec<Arc<dyn Portlet>> {
    (0..n)
        .map(|i| {
            let t = Templates::new([(
                "list",
                r#"<ul id="{{ ns }}-list">{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul><a href="{{ url }}">Suite</a>"#,
            )])
            .expect("template compiles");
            Arc::new(Item(Descriptor::new(&format!("{prefix}{i}"), format!("Service {i}").as_str()), t))
                as Arc<dyn Portlet>
        })
        .collect()
}

pub async fn send(portal: &Portal, req: http::Request<Full<Bytes>>) -> (http::Response<()>, Bytes) {
    let resp = portal.handle(req, PEER).await;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (http::Response::from_parts(parts, ()), bytes)
}

/// Log in through the portal and return the session cookie.
pub async fn login(portal: &Portal) -> String {
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

/// The LDIF of the one bench user, `lea`/`pw`.
pub fn ldif() -> String {
    format!(
        "dn: uid=lea,dc=test\nuid: lea\ncn: Léa Martin\nENTPersonProfils: eleve\nuserPassword: {{ARGON2}}{}\n",
        hash_password("pw")
    )
}
