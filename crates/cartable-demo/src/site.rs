//! The lycée demo's neighbours: what an ENT reaches outside itself, started on a
//! loopback port so the demo shows every integration level with one command.
//!
//! - `/feeds/…`: two news feeds (RSS 2.0 and Atom 1.0) for the feed window (level 2b);
//! - `/cdi/`: "CDI en ligne", a small service that logs its users in through the
//!   portal's CAS server and honours single logout (level 3);
//! - `/producer/`: a remote-portlet producer whose portlet the portal shows (level 2a).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::pending;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use cartable_cas::RegisteredService;
use cartable_feed::{ApprovedFeed, FeedConfig, FeedPortlet};
use cartable_fetch::{Fetcher, HostPolicy, OutboundRequest};
use cartable_liens::{Link, LinkPortlet};
use cartable_portlet::Portlet;
use cartable_remote::{Producer, RemoteConfig, RemoteProducer};
use cartable_serve::{Request, ServerConfig};
use http::{Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use tokio::net::TcpListener;
use url::Url;

const ACTUALITES: &str = include_str!("../site/actualites.rss");
const ORIENTATION: &str = include_str!("../site/orientation.atom");

/// The neighbours, running.
#[derive(Clone)]
pub struct DemoSite {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The producer's portlets as the portal shows them (`academie-cantine`).
    remote: Vec<Arc<dyn Portlet>>,
}

struct Shared {
    /// The portal's address, known once it is listening.
    portal: OnceLock<Url>,
    /// CDI sessions: cookie → (display name, ticket).
    cdi_sessions: Mutex<HashMap<String, (String, String)>>,
}

impl DemoSite {
    /// Start on ephemeral loopback ports; it runs until the process ends.
    pub async fn start() -> std::io::Result<DemoSite> {
        let remote = start_producer().await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let site = DemoSite {
            addr,
            shared: Arc::new(Shared {
                portal: OnceLock::new(),
                cdi_sessions: Mutex::new(HashMap::new()),
            }),
            remote,
        };
        let server = site.clone();
        let service = tower::service_fn(move |req| {
            let site = server.clone();
            async move { Ok::<_, Infallible>(site.answer(req).await) }
        });
        let serving = cartable_serve::serve(listener, service, ServerConfig::default(), pending());
        tokio::spawn(serving);
        Ok(site)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The allowed-host entry the portal needs to fetch from it.
    pub fn host_entry(&self) -> String {
        self.addr.to_string()
    }

    /// Tell the CDI service where the portal is (for its CAS login and validation).
    pub fn set_portal(&self, portal: Url) {
        let _ = self.shared.portal.set(portal);
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("a loopback URL parses")
    }

    /// The services to register with the portal's CAS server (and list in the services
    /// window): the CDI with single sign-on, and two plain links.
    pub fn cas_services(&self) -> Vec<RegisteredService> {
        let mut cdi = RegisteredService::new("cdi", "CDI en ligne", self.url("/cdi/").as_str());
        cdi.description = Some("Catalogue et prêts du centre de documentation".into());
        cdi.profiles = vec!["eleve".into(), "enseignant".into(), "personnel".into()];
        let mut onisep = RegisteredService::new("onisep", "ONISEP", "https://www.onisep.fr/");
        onisep.sso = false;
        onisep.new_window = true;
        onisep.description = Some("Orientation : métiers et formations".into());
        vec![cdi, onisep]
    }

    /// The windows of the neighbours: `services` (level 3), `actualites` (level 2b) and
    /// `academie-cantine` (level 2a).
    pub fn portlets(&self, base_path: &str) -> Vec<Arc<dyn Portlet>> {
        let fetcher = Fetcher::new(HostPolicy::new().allow(&self.host_entry()));
        let mut feeds = FeedConfig::new(
            "actualites",
            "Actualités",
            vec![
                ApprovedFeed {
                    name: "Académie".into(),
                    url: self.url("/feeds/actualites.rss").to_string(),
                },
                ApprovedFeed {
                    name: "Orientation".into(),
                    url: self.url("/feeds/orientation.atom").to_string(),
                },
            ],
        );
        feeds.title_en = Some("News".into());
        feeds.refresh_seconds = 300;
        let feed = FeedPortlet::new(feeds, fetcher)
            .expect("the demo feeds are on the allowed loopback site");
        let mut portlets: Vec<Arc<dyn Portlet>> = vec![
            Arc::new(LinkPortlet::new(
                "services",
                self.cas_services().iter().map(link).collect(),
                base_path,
            )),
            Arc::new(feed),
        ];
        portlets.extend(self.remote.iter().cloned());
        portlets
    }

    /// Every window of the lycée demo: [`crate::all`] and the neighbours' windows.
    pub fn all_portlets(&self, base_path: &str) -> Vec<Arc<dyn Portlet>> {
        let mut all = crate::all();
        all.extend(self.portlets(base_path));
        all
    }

    async fn answer(&self, req: Request) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        match (req.method().clone(), path.as_str()) {
            (Method::GET, "/feeds/actualites.rss") => feed(&req, "application/rss+xml", ACTUALITES),
            (Method::GET, "/feeds/orientation.atom") => {
                feed(&req, "application/atom+xml", ORIENTATION)
            }
            (_, "/cdi/") => self.cdi(req).await,
            _ => page(StatusCode::NOT_FOUND, "Introuvable", "<p>Rien ici.</p>"),
        }
    }

    /// The CDI service: a CAS client of the portal.
    async fn cdi(&self, req: Request) -> Response<Full<Bytes>> {
        let Some(portal) = self.shared.portal.get().cloned() else {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "CDI",
                "<p>Le portail démarre…</p>",
            );
        };
        let service = self.url("/cdi/");
        if req.method() == Method::POST {
            // Back-channel single logout from the portal.
            let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return page(StatusCode::BAD_REQUEST, "CDI", "<p>Requête illisible.</p>"),
            };
            let ticket = form_urlencoded::parse(&body)
                .find(|(k, _)| k == "logoutRequest")
                .and_then(|(_, xml)| cartable_cas::client::parse_logout_request(&xml));
            if let Some(ticket) = ticket {
                self.lock_sessions().retain(|_, (_, t)| *t != ticket);
            }
            return page(StatusCode::OK, "CDI", "<p>ok</p>");
        }
        let cookie = req
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').find_map(|kv| kv.trim().strip_prefix("cdi=")))
            .map(str::to_string);
        if let Some(name) = cookie
            .as_ref()
            .and_then(|c| self.lock_sessions().get(c).map(|(n, _)| n.clone()))
        {
            let home = portal.as_str();
            return page(
                StatusCode::OK,
                "CDI en ligne",
                &format!(
                    "<p>Bonjour {} ! Vous êtes connecté(e) au CDI par l’ENT, sans nouveau mot de passe.</p><p>Vos prêts en cours : aucun.</p><p><a href=\"{}\">Retour à l’ENT</a></p>",
                    escape(&name),
                    escape(home)
                ),
            );
        }
        let ticket = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "ticket")
                .map(|(_, v)| v.into_owned())
        });
        let Some(ticket) = ticket else {
            let mut login = portal.join("cas/login").expect("a portal URL");
            login
                .query_pairs_mut()
                .append_pair("service", service.as_str());
            return redirect(login.as_str(), None);
        };
        let mut check = portal.join("cas/serviceValidate").expect("a portal URL");
        check
            .query_pairs_mut()
            .append_pair("service", service.as_str())
            .append_pair("ticket", &ticket);
        let entry = format!(
            "{}:{}",
            portal.host_str().unwrap_or_default(),
            portal.port_or_known_default().unwrap_or(80)
        );
        let fetcher = Fetcher::new(HostPolicy::new().allow(&entry));
        let answer = fetcher
            .send(OutboundRequest::get(check).timeout(Duration::from_secs(5)))
            .await;
        let user = answer.ok().and_then(|a| {
            cartable_cas::client::parse_validation(&String::from_utf8_lossy(&a.body)).ok()
        });
        let Some(user) = user else {
            return page(
                StatusCode::FORBIDDEN,
                "CDI",
                "<p>L’ENT n’a pas confirmé votre connexion.</p>",
            );
        };
        let name = user
            .attributes
            .get("displayName")
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or(user.user);
        let sid = cartable_socle::random_token();
        self.lock_sessions().insert(sid.clone(), (name, ticket));
        redirect(
            service.as_str(),
            Some(&format!("cdi={sid}; Path=/cdi/; HttpOnly; SameSite=Lax")),
        )
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        self.shared
            .cdi_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// A registered CAS service as the services window links to it.
fn link(service: &RegisteredService) -> Link {
    let mut link = Link::new(service.name.clone(), service.url.as_str());
    link.profiles = service.profiles.clone();
    link.new_window = service.new_window;
    link.sso = service.sso;
    link.description = service.description.clone();
    link
}

/// The académie's producer (mutualised services) on a loopback port of its own, and the
/// consumer side of it: the canteen portlet, shown by the portal as `academie-cantine`.
async fn start_producer() -> std::io::Result<Vec<Arc<dyn Portlet>>> {
    fn other(e: impl std::fmt::Display) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
    // A fresh shared key per run: the producer and the consumer are both in this process.
    let key = cartable_socle::random_token();
    let producer = Producer::builder("Services mutualisés de l’académie")
        .consumer("lycee-hugo", &key)
        .map_err(other)?
        .portlet(Arc::new(crate::Cantine::new()))
        .build()
        .await
        .map_err(other)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let running = producer.serve(listener)?;
    let addr = running.local_addr();
    // Runs as long as the process: the handle is kept by the task.
    tokio::spawn(running.wait());
    let url = Url::parse(&format!("http://{addr}/")).map_err(other)?;
    let config = RemoteConfig::new("academie", url, "lycee-hugo", &key);
    let fetcher = Fetcher::new(HostPolicy::new().allow(&addr.to_string()));
    let remote = RemoteProducer::connect(config, fetcher)
        .await
        .map_err(other)?;
    Ok(remote.portlets())
}

fn feed(req: &Request, content_type: &str, body: &'static str) -> Response<Full<Bytes>> {
    let etag = format!("\"{:x}\"", body.len());
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut r = Response::new(Full::new(if fresh {
        Bytes::new()
    } else {
        Bytes::from_static(body.as_bytes())
    }));
    if fresh {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = etag.parse() {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn page(status: StatusCode, title: &str, body: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><main><h1>{}</h1>{body}</main></body></html>",
        escape(title),
        escape(title)
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn redirect(to: &str, cookie: Option<&str>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = to.parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(Ok(v)) = cookie.map(str::parse) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn escape(s: &str) -> String {
    cartable_portlet::Markup::text(s).into_string()
}
