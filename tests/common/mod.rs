//! Shared fixtures for the cross-crate tests: a portal on a loopback port, a small
//! directory, a cookie-keeping HTTP client and a few test portlets.
#![allow(dead_code)]

pub mod process;
pub mod proxy;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cartable::ldif::{LdifDirectory, hash_password};
use cartable::portal::RunningPortal;
use cartable::prelude::*;
use cartable::{EntBuilder, EntConfig};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// People of the test directory: (uid, password, display name, profile).
pub const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("lea", "lea-pw", "Léa Martin", "eleve"),
    ("paul", "paul-pw", "Paul Durand", "enseignant"),
    ("nadia", "nadia-pw", "Nadia Benali", "admin"),
    ("ines", "ines-pw", "Inès Chaouch", "personnel"),
    ("ancien", "ancien-pw", "Ancien Élève", "eleve"),
];

/// The end date of the `ancien` account (GeneralizedTime).
pub const ANCIEN_END: &str = "20270101000000Z";

/// An LDIF text of [`PEOPLE`] with argon2 password hashes.
pub fn ldif() -> String {
    let mut out = String::new();
    for (uid, pw, name, profile) in PEOPLE {
        out.push_str(&format!(
            "dn: uid={uid},ou=people,dc=test\nuid: {uid}\ncn: {name}\ndisplayName: {name}\nENTPersonProfils: {profile}\nmail: {uid}@example.org\nuserPassword: {{ARGON2}}{}\n",
            hash_password(pw)
        ));
        if *uid == "ancien" {
            out.push_str(&format!("cartableAccountEnd: {ANCIEN_END}\n"));
        }
        out.push('\n');
    }
    out
}

/// A portal under test.
pub struct TestPortal {
    pub running: RunningPortal,
    pub base: String,
}

impl TestPortal {
    /// Start a portal with this TOML configuration (layouts…) and portlets, keeping its
    /// SQLite file in `data_dir`.
    pub async fn start(toml: &str, data_dir: &Path, portlets: Vec<Arc<dyn Portlet>>) -> Self {
        Self::start_with(
            toml,
            data_dir,
            portlets,
            Arc::new(cartable::socle::SystemClock),
        )
        .await
    }

    /// Like [`start`](Self::start) with a clock of the test's (and a writable directory
    /// keeping changed passwords in `data_dir`).
    pub async fn start_with(
        toml: &str,
        data_dir: &Path,
        portlets: Vec<Arc<dyn Portlet>>,
        clock: Arc<dyn cartable::socle::Clock>,
    ) -> Self {
        let mut config = EntConfig::from_toml(toml, data_dir).expect("test config parses");
        config.portal.data_dir = data_dir.to_path_buf();
        let directory = LdifDirectory::parse(&ldif())
            .expect("test LDIF parses")
            .with_password_file(&data_dir.join("passwords.json"))
            .expect("password file");
        let portal = EntBuilder::new(config)
            .directory(Arc::new(directory))
            .clock(clock)
            .portlets(portlets)
            .build()
            .await
            .expect("portal builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = portal.serve(listener).unwrap();
        let base = format!("http://{}", running.local_addr());
        TestPortal { running, base }
    }

    /// Start a portal from a full configuration (its own directory file).
    pub async fn start_config(config: EntConfig, portlets: Vec<Arc<dyn Portlet>>) -> Self {
        let portal = EntBuilder::new(config)
            .portlets(portlets)
            .build()
            .await
            .expect("portal builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = portal.serve(listener).unwrap();
        let base = format!("http://{}", running.local_addr());
        TestPortal { running, base }
    }

    /// A client with no cookie.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client logged in as `uid`.
    pub async fn login(&self, uid: &str) -> Client {
        let mut c = self.client();
        let pw = PEOPLE.iter().find(|p| p.0 == uid).expect("known uid").1;
        c.login(uid, pw).await;
        c
    }

    /// Stop the portal.
    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }
}

/// An HTTP/1 client on loopback that keeps the session cookie.
pub struct Client {
    base: String,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.to_string(),
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
            cookie: None,
        }
    }

    pub async fn request(&mut self, method: &str, path: &str, form: Option<String>) -> Resp {
        self.request_with(method, path, form, &[]).await
    }

    /// A request with extra headers (`Origin`, `Sec-Fetch-Site`…).
    pub async fn request_with(
        &mut self,
        method: &str,
        path: &str,
        form: Option<String>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("cartable_sid={c}"));
        }
        let body = match form {
            Some(f) => {
                b = b.header("content-type", "application/x-www-form-urlencoded");
                Full::new(Bytes::from(f))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = tokio::time::timeout(
            Duration::from_secs(30),
            self.inner.request(b.body(body).unwrap()),
        )
        .await
        .expect("request within 30 s")
        .expect("request succeeds");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            if let Some(rest) = sc.strip_prefix("cartable_sid=") {
                let v = rest.split(';').next().unwrap();
                self.cookie = (!v.is_empty()).then(|| v.to_string());
            }
        }
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        self.request("POST", path, Some(ser.finish())).await
    }

    /// A form POST with extra headers.
    pub async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        self.request_with("POST", path, Some(ser.finish()), headers)
            .await
    }

    /// POST with the session's CSRF token, read from a page of the portal.
    pub async fn post_csrf(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// The CSRF token of the current session (from the login page or a portal page).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/login").await;
        let page = if page.status == 303 {
            let loc = page.location().to_string();
            let mut r = self.get(&loc).await;
            while r.status == 303 {
                let loc = r.location().to_string();
                r = self.get(&loc).await;
            }
            r
        } else {
            page
        };
        extract_csrf(&page.body).expect("a page with a CSRF field")
    }

    pub async fn login(&mut self, uid: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200, "login page");
        let token = extract_csrf(&page.body).expect("csrf on login page");
        let r = self
            .post(
                "/login",
                &[("_csrf", &token), ("login", uid), ("password", password)],
            )
            .await;
        assert_eq!(r.status, 303, "login of {uid} redirects: {}", r.body);
        r
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

// ---------------------------------------------------------------------------------------
// Test portlets.

/// Renders a fixed greeting; supports help; one preference.
pub struct Hello(pub Descriptor);
impl Hello {
    pub fn shared(id: &str) -> Arc<dyn Portlet> {
        Arc::new(Hello(
            Descriptor::new(id, "Bonjour")
                .mode(Mode::Help)
                .preference(PreferenceSpec::new("greeting", "Salutation", "Bonjour"))
                .preference(
                    PreferenceSpec::new("color", "Couleur", "bleu").choices(["bleu", "vert"]),
                ),
        ))
    }
}
#[async_trait]
impl Portlet for Hello {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(match ctx.mode() {
            Mode::Edit => preference_form(ctx, &self.0.preferences).into(),
            Mode::Help => Markup::text("HELP-TEXT").into(),
            Mode::View => Markup::text(&format!(
                "{} {} [{}] state={}",
                ctx.preferences.get("greeting").unwrap_or(""),
                ctx.user().display_name,
                ctx.preferences.get("color").unwrap_or(""),
                ctx.window().state
            ))
            .into(),
        })
    }
}

/// Sleeps far past any deadline; counts its calls.
pub struct Sleepy(pub Descriptor, pub Arc<AtomicUsize>);
impl Sleepy {
    pub fn shared(calls: Arc<AtomicUsize>) -> Arc<dyn Portlet> {
        Arc::new(Sleepy(Descriptor::new("sleepy", "Lent"), calls))
    }
}
#[async_trait]
impl Portlet for Sleepy {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Markup::text("too late").into())
    }
}

/// Panics on render.
pub struct Panicky(pub Descriptor);
impl Panicky {
    pub fn shared() -> Arc<dyn Portlet> {
        Arc::new(Panicky(Descriptor::new("panicky", "Fragile")))
    }
}
#[async_trait]
impl Portlet for Panicky {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        panic!("portlet bug")
    }
}

/// A per-user counter: an action increments it, a resource returns it as JSON. Optionally
/// restricted to some profiles.
pub struct Counter(pub Descriptor);
impl Counter {
    pub fn shared(id: &str, profiles: Option<Vec<Profile>>) -> Arc<dyn Portlet> {
        let mut d = Descriptor::new(id, "Compteur");
        if let Some(p) = profiles {
            d = d.profiles(p);
        }
        Arc::new(Counter(d))
    }
}
#[async_trait]
impl Portlet for Counter {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
        Ok(Markup::text(&format!("COUNT={n}")).into())
    }
    async fn action(
        &self,
        ctx: &mut PortletContext,
        req: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let by: u64 = req
            .field("by")
            .unwrap_or("1")
            .parse()
            .map_err(|_| PortletError::BadRequest("by must be a number".into()))?;
        ctx.data()
            .update_json("n", |n: Option<u64>| n.unwrap_or(0) + by)
            .await?;
        Ok(ActionResponse::default())
    }
    async fn resource(
        &self,
        ctx: &PortletContext,
        req: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        match req.id.as_str() {
            "count" => {
                let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
                ResourceResponse::json(&serde_json::json!({ "count": n }))
            }
            other => Err(PortletError::NotFound(other.into())),
        }
    }
}

pub fn counter_calls() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Returns an error on render.
pub struct Failing(pub Descriptor);
impl Failing {
    pub fn shared() -> Arc<dyn Portlet> {
        Arc::new(Failing(Descriptor::new("failing", "En panne")))
    }
}
#[async_trait]
impl Portlet for Failing {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Err(PortletError::Internal("backend said no".into()))
    }
}

/// Cached per user for a minute; counts renders; has a form (so a CSRF field).
pub struct Cached(pub Descriptor, pub Arc<AtomicUsize>);
impl Cached {
    pub fn shared(calls: Arc<AtomicUsize>) -> Arc<dyn Portlet> {
        Arc::new(Cached(
            Descriptor::new("cached", "En cache").cache(cartable::portlet::CachePolicy::PerUser(
                Duration::from_secs(60),
            )),
            calls,
        ))
    }
}
#[async_trait]
impl Portlet for Cached {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let n = self.1.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Markup::trusted_html(format!(
            r#"<p>RENDERS={n}</p><form method="post" action="{}" id="cached-form">{}<button>Go</button></form>"#,
            ctx.urls().action(),
            ctx.csrf_field()
        ))
        .into())
    }
    async fn action(
        &self,
        _ctx: &mut PortletContext,
        _req: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        Ok(ActionResponse::default())
    }
}

/// Emits `test.ping` with the posted `n`.
pub struct Emitter(pub Descriptor);
impl Emitter {
    pub fn shared() -> Arc<dyn Portlet> {
        Arc::new(Emitter(Descriptor::new("emitter", "Émetteur")))
    }
}
#[async_trait]
impl Portlet for Emitter {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("emitter").into())
    }
    async fn action(
        &self,
        _ctx: &mut PortletContext,
        req: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let n = req.required("n")?.to_string();
        Ok(ActionResponse::default().event(Event::new("test.ping", serde_json::json!({ "n": n }))))
    }
}

/// Consumes `test.ping` and shows the last payload it got.
pub struct Listener(pub Descriptor);
impl Listener {
    pub fn shared() -> Arc<dyn Portlet> {
        Arc::new(Listener(
            Descriptor::new("listener", "Récepteur")
                .consumes("test.ping")
                .preference(PreferenceSpec::new("last", "Dernier", "")),
        ))
    }
}
#[async_trait]
impl Portlet for Listener {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let last = ctx.preferences.get("last").unwrap_or_default();
        Ok(Markup::text(&format!("LAST={last};")).into())
    }
    async fn event(
        &self,
        ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        let n = event.payload["n"].as_str().unwrap_or("?").to_string();
        // Per window: a preference, stored by the portal after the call.
        ctx.preferences.set("last", n)?;
        Ok(Vec::new())
    }
}
