//! The feed portlet against real HTTP servers on 127.0.0.1 (random ports), rendered with
//! the test kit: RSS, Atom, malformed, oversized, hanging, conditional GET, redirects.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use cartable_feed::{ApprovedFeed, FeedConfig, FeedPortlet};
use cartable_fetch::{Fetcher, HostPolicy};
use cartable_portlet::{Mode, WindowState};
use cartable_socle::ManualClock;
use cartable_testkit::{Rendered, TestKit};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// What the server answers on a path.
#[derive(Clone)]
enum Behaviour {
    /// A document, with optional validators; a matching conditional request gets a 304.
    Doc {
        body: String,
        content_type: &'static str,
        etag: Option<&'static str>,
        last_modified: Option<&'static str>,
        delay: Duration,
    },
    /// Headers never come.
    Hang,
    /// A 200 whose body streams `total` bytes (no Content-Length).
    Flood { total: usize },
    /// A redirect.
    Redirect(String),
}

fn doc(body: &str) -> Behaviour {
    Behaviour::Doc {
        body: body.to_string(),
        content_type: "application/rss+xml",
        etag: None,
        last_modified: None,
        delay: Duration::ZERO,
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
}

/// A loopback hyper server; it stops with the test's runtime.
#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Behaviour>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Body bytes handed to hyper by flood answers.
    flooded: Arc<AtomicUsize>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = Server {
            addr: listener.local_addr().expect("addr"),
            routes: Arc::default(),
            hits: Arc::default(),
            flooded: Arc::default(),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    fn route(&self, path: &str, behaviour: Behaviour) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), behaviour);
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn policy(&self) -> HostPolicy {
        HostPolicy::new().allow(&self.addr.to_string())
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    async fn answer(&self, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<BoxBody> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let hit = Hit {
            path: req.uri().path().to_string(),
            if_none_match: header("if-none-match"),
            if_modified_since: header("if-modified-since"),
        };
        self.hits.lock().unwrap().push(hit.clone());
        let behaviour = self.routes.lock().unwrap().get(&hit.path).cloned();
        let response = hyper::Response::builder();
        match behaviour {
            None => response
                .status(404)
                .body(Full::new(Bytes::from("not found")).boxed())
                .unwrap(),
            Some(Behaviour::Doc {
                body,
                content_type,
                etag,
                last_modified,
                delay,
            }) => {
                tokio::time::sleep(delay).await;
                let fresh = (etag.is_some() && hit.if_none_match.as_deref() == etag)
                    || (last_modified.is_some()
                        && hit.if_modified_since.as_deref() == last_modified);
                let mut response = response.header("content-type", content_type);
                if let Some(etag) = etag {
                    response = response.header("etag", etag);
                }
                if let Some(date) = last_modified {
                    response = response.header("last-modified", date);
                }
                if fresh {
                    response
                        .status(304)
                        .body(Full::new(Bytes::new()).boxed())
                        .unwrap()
                } else {
                    response.body(Full::new(Bytes::from(body)).boxed()).unwrap()
                }
            }
            Some(Behaviour::Hang) => std::future::pending().await,
            Some(Behaviour::Flood { total }) => response
                .header("content-type", "application/rss+xml")
                .body(
                    Flood {
                        remaining: total,
                        sent: self.flooded.clone(),
                    }
                    .boxed(),
                )
                .unwrap(),
            Some(Behaviour::Redirect(to)) => response
                .status(302)
                .header("location", to)
                .body(Full::new(Bytes::new()).boxed())
                .unwrap(),
        }
    }
}

/// A body streaming a big RSS-looking document 64 KiB at a time, counting what it yields.
struct Flood {
    remaining: usize,
    sent: Arc<AtomicUsize>,
}

impl Body for Flood {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(64 * 1024);
        self.remaining -= n;
        self.sent.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; n])))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Lycée</title><link>https://lycee.example/</link><description>d</description>
<item><title>Portes ouvertes</title><link>https://lycee.example/po</link>
<pubDate>Sat, 02 Mar 2024 09:00:00 +0100</pubDate>
<description><![CDATA[<p>Samedi <b>matin</b>.</p><script>alert(1)</script>]]></description></item>
<item><title>Long article</title><link>https://lycee.example/long</link>
<pubDate>Fri, 01 Mar 2024 09:00:00 +0100</pubDate>
<description><![CDATA[<p>LONGSUMMARY ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ... ...</p>]]></description></item>
<item><title>Piège</title><link>javascript:alert(1)</link><description>&lt;img src=x onerror=alert(1)&gt;&lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;</description></item>
<item><title>Quatrième</title><link>/relatif</link></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Éduscol</title><id>urn:e</id>
<updated>2024-03-02T10:00:00Z</updated>
<entry><title type="html">&lt;em&gt;Bac&lt;/em&gt; 2024</title><link href="https://eduscol.example/bac"/>
<id>urn:1</id><updated>2024-03-02T10:00:00Z</updated>
<summary type="html">&lt;p&gt;Le calendrier&lt;iframe src="https://evil.example"&gt;&lt;/iframe&gt;&lt;/p&gt;</summary></entry>
</feed>"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_370_000)
}

/// A kit for a portlet on these feeds of the server, with a manual clock.
fn kit_for(
    server: &Server,
    feeds: &[(&str, &str)],
    tune: impl FnOnce(&mut FeedConfig),
) -> (TestKit, ManualClock) {
    let mut config = FeedConfig::new(
        "actualites",
        "Actualités",
        feeds
            .iter()
            .map(|(name, path)| ApprovedFeed::new(name, &server.url(path)))
            .collect(),
    );
    config.timeout_ms = 1000;
    tune(&mut config);
    let clock = ManualClock::new(t0());
    let portlet = FeedPortlet::new(config, Fetcher::new(server.policy()))
        .expect("valid configuration")
        .with_clock(Arc::new(clock.clone()));
    (TestKit::new(Arc::new(portlet)), clock)
}

fn assert_safe(out: &Rendered) {
    out.assert_accessible();
    let html = out.html().to_ascii_lowercase();
    for bad in ["<script", "onerror", "javascript:", "<iframe", "<img"] {
        assert!(!html.contains(bad), "{bad} in {}", out.html());
    }
}

#[tokio::test]
async fn rss_and_atom_feeds_are_listed() {
    let server = Server::start().await;
    server.route("/rss.xml", doc(RSS));
    server.route(
        "/feed.atom",
        Behaviour::Doc {
            body: ATOM.into(),
            content_type: "application/atom+xml",
            etag: None,
            last_modified: None,
            delay: Duration::ZERO,
        },
    );
    let (kit, _) = kit_for(
        &server,
        &[("Lycée", "/rss.xml"), ("Éduscol", "/feed.atom")],
        |_| {},
    );

    let out = kit.render().await.unwrap();
    assert_safe(&out);
    let html = out.html();
    assert!(
        html.contains(r#"<h3 id="w-test-window-source">Lycée</h3>"#),
        "{html}"
    );
    assert!(html.contains(
        r#"<a href="https://lycee.example/po" rel="noopener noreferrer">Portes ouvertes</a>"#
    ));
    assert!(
        html.contains(r#"<time datetime="2024-03-02T09:00:00+01:00">samedi 2 mars 2024</time>"#)
    );
    assert!(
        html.contains("<p>Samedi <b>matin</b>.</p>"),
        "short summaries are shown"
    );
    assert!(
        !html.contains("LONGSUMMARY"),
        "long ones only when maximized"
    );
    assert!(html.contains(r#"href="/page/test/test-window?state=maximized""#));
    assert!(out.text().contains("Afficher les résumés des articles"));
    assert!(
        out.text().contains("Piège Lycée"),
        "a javascript: link is dropped, the title stays: {}",
        out.text()
    );
    assert!(
        html.contains(r#"<a href="http://127.0.0.1:"#) && html.contains("/relatif\""),
        "relative links resolved against the feed"
    );

    let max = kit.render_state(WindowState::Maximized).await.unwrap();
    assert_safe(&max);
    assert!(max.html().contains("LONGSUMMARY"));
    assert!(!max.text().contains("Afficher les résumés"));

    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(en.html().contains(">Saturday 2 March 2024</time>"));

    kit.submit_preferences([("items", "3")]).await.unwrap();
    let three = kit.render().await.unwrap();
    assert_eq!(three.html().matches("<li>").count(), 3);
    assert!(!three.text().contains("Quatrième"));

    kit.submit_preferences([("feed", "Éduscol")]).await.unwrap();
    let atom = kit.render().await.unwrap();
    assert_safe(&atom);
    assert!(
        atom.html().contains(
            r#"<a href="https://eduscol.example/bac" rel="noopener noreferrer">Bac 2024</a>"#
        ),
        "{}",
        atom.html()
    );
    assert!(atom.html().contains("<p>Le calendrier</p>"));
    assert!(
        atom.html()
            .contains(r#"<time datetime="2024-03-02T10:00:00+00:00">samedi 2 mars 2024</time>"#)
    );

    // The établissement locks the feed: the user's choice no longer counts.
    let locked = kit.clone().establishment_preference("feed", "Lycée", true);
    assert!(
        locked
            .render()
            .await
            .unwrap()
            .html()
            .contains(">Lycée</h3>")
    );
    // One request per feed so far: the cache is shared by all renders.
    assert_eq!(server.hits("/rss.xml").len(), 1);
    assert_eq!(server.hits("/feed.atom").len(), 1);
}

#[tokio::test]
async fn a_malformed_feed_shows_an_error_and_keeps_the_last_good_copy() {
    let server = Server::start().await;
    server.route("/rss.xml", doc("<rss><channel><item><title>cassé"));
    let (kit, clock) = kit_for(&server, &[("Lycée", "/rss.xml")], |_| {});
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert_eq!(
        out.text(),
        "Le flux « Lycée » est indisponible : le flux est mal formé (ce n’est pas du RSS 2.0 ou de l’Atom 1.0 valide). Réessayez plus tard."
    );
    assert!(!out.html().contains("<ul"));

    // Fixed: after the retry delay, the feed shows.
    server.route("/rss.xml", doc(RSS));
    clock.advance(Duration::from_secs(61));
    let out = kit.render().await.unwrap();
    assert!(!out.html().contains("error"), "{}", out.html());
    assert!(out.text().contains("Portes ouvertes"));

    // Broken again: the window says so and keeps the last good copy.
    server.route("/rss.xml", doc("<html><body>Erreur 500</body></html>"));
    clock.advance(Duration::from_secs(901));
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    let text = out.text();
    assert!(
        text.contains("n’a pas pu être mis à jour : le flux est mal formé"),
        "{text}"
    );
    assert!(text.contains("qui n’est peut-être plus à jour"), "{text}");
    assert!(text.contains("Portes ouvertes"), "{text}");
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(
        en.text()
            .contains("could not be updated: the feed is malformed"),
        "{}",
        en.text()
    );
    assert!(en.text().contains("it may be out of date"));
    assert_eq!(
        server.hits("/rss.xml").len(),
        3,
        "errors are not retried on every render"
    );

    // A billion-laughs document is refused the same way.
    server.route(
        "/rss.xml",
        doc(r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title></channel></rss>"#),
    );
    clock.advance(Duration::from_secs(901));
    let out = kit.render().await.unwrap();
    assert!(
        out.text().contains("déclarations d’entités"),
        "{}",
        out.text()
    );
    assert!(out.text().contains("Portes ouvertes"));
}

#[tokio::test]
async fn an_oversized_feed_stops_at_the_cap() {
    let server = Server::start().await;
    server.route(
        "/big.xml",
        Behaviour::Flood {
            total: 50 * 1024 * 1024,
        },
    );
    let (kit, _) = kit_for(&server, &[("Gros", "/big.xml")], |c| {
        c.max_bytes = 64 * 1024;
        c.timeout_ms = 5000;
    });
    let started = Instant::now();
    let out = kit.render().await.unwrap();
    let elapsed = started.elapsed();
    out.assert_accessible();
    assert!(
        out.text()
            .contains("le flux est trop volumineux (plus de 64 Kio)"),
        "{}",
        out.text()
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "stopped quickly: {elapsed:?}"
    );
    // Give the server a moment to notice the closed connection, then check it was not
    // read to the end: the client stopped at the cap instead of buffering 50 MB.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = server.flooded.load(Ordering::SeqCst);
    eprintln!("the server produced {sent} bytes before the client hung up");
    assert!(sent < 16 * 1024 * 1024, "the server produced {sent} bytes");
}

#[tokio::test]
async fn a_hanging_feed_times_out_and_the_last_good_copy_stays() {
    let server = Server::start().await;
    server.route("/rss.xml", doc(RSS));
    let (kit, clock) = kit_for(&server, &[("Lycée", "/rss.xml")], |c| c.timeout_ms = 300);
    assert!(
        kit.render()
            .await
            .unwrap()
            .text()
            .contains("Portes ouvertes")
    );

    server.route("/rss.xml", Behaviour::Hang);
    clock.advance(Duration::from_secs(901));
    let started = Instant::now();
    let out = kit.render().await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    out.assert_accessible();
    let text = out.text();
    assert!(text.contains("le flux n’a pas répondu en 0,3 s"), "{text}");
    // The copy of t0, 09:00 UTC, written in the établissement's time zone (Paris).
    assert!(
        text.contains("Voici la version du samedi 2 mars 2024 à 10:00,"),
        "{text}"
    );
    let en = kit.clone().locale("en").render().await.unwrap().text();
    assert!(
        en.contains("the feed did not answer within 0.3 s. Below is the copy of Saturday 2 March 2024 at 10:00;"),
        "{en}"
    );
    assert!(text.contains("Portes ouvertes"), "{text}");

    // A hanging feed without any copy: the error alone.
    let (fresh, _) = kit_for(&server, &[("Lycée", "/rss.xml")], |c| c.timeout_ms = 300);
    let out = fresh.render().await.unwrap();
    assert!(
        out.text()
            .starts_with("Le flux « Lycée » est indisponible : le flux n’a pas répondu")
    );
}

async fn conditional_get(etag: Option<&'static str>, last_modified: Option<&'static str>) {
    let server = Server::start().await;
    server.route(
        "/rss.xml",
        Behaviour::Doc {
            body: RSS.into(),
            content_type: "application/rss+xml",
            etag,
            last_modified,
            delay: Duration::ZERO,
        },
    );
    let (kit, clock) = kit_for(&server, &[("Lycée", "/rss.xml")], |_| {});
    assert!(
        kit.render()
            .await
            .unwrap()
            .text()
            .contains("Portes ouvertes")
    );
    assert_eq!(server.hits("/rss.xml").len(), 1);

    // Within the refresh interval: no request, for this user or another.
    clock.advance(Duration::from_secs(899));
    let other = kit
        .clone()
        .user_with("lea", "Léa", [cartable_portlet::Profile::Eleve]);
    assert!(
        other
            .render()
            .await
            .unwrap()
            .text()
            .contains("Portes ouvertes")
    );
    assert_eq!(server.hits("/rss.xml").len(), 1);

    // After it: one conditional request, answered 304, the copy stays.
    clock.advance(Duration::from_secs(2));
    let out = kit.render().await.unwrap();
    assert!(out.text().contains("Portes ouvertes"));
    assert!(!out.html().contains("error"), "{}", out.html());
    let hits = server.hits("/rss.xml");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].if_none_match, None);
    assert_eq!(hits[0].if_modified_since, None);
    assert_eq!(hits[1].if_none_match.as_deref(), etag);
    assert_eq!(hits[1].if_modified_since.as_deref(), last_modified);

    // The 304 restarts the interval.
    clock.advance(Duration::from_secs(600));
    kit.render().await.unwrap();
    assert_eq!(server.hits("/rss.xml").len(), 2);
}

#[tokio::test]
async fn etag_gives_a_conditional_get() {
    conditional_get(Some("\"v1\""), None).await;
}

#[tokio::test]
async fn last_modified_gives_a_conditional_get() {
    conditional_get(None, Some("Sat, 02 Mar 2024 08:00:00 GMT")).await;
}

#[tokio::test]
async fn concurrent_renders_fetch_a_feed_once() {
    let server = Server::start().await;
    server.route(
        "/rss.xml",
        Behaviour::Doc {
            body: RSS.into(),
            content_type: "application/rss+xml",
            etag: None,
            last_modified: None,
            delay: Duration::from_millis(300),
        },
    );
    let (kit, clock) = kit_for(&server, &[("Lycée", "/rss.xml")], |_| {});
    let renders = (0..8).map(|_| {
        let kit = kit.clone();
        tokio::spawn(async move { kit.render().await })
    });
    for render in renders.collect::<Vec<_>>() {
        let out = render.await.unwrap().unwrap();
        assert!(out.text().contains("Portes ouvertes"));
    }
    assert_eq!(server.hits("/rss.xml").len(), 1);

    // Stale: concurrent renders again share one request (those arriving during it get the
    // stale copy at once).
    clock.advance(Duration::from_secs(901));
    let renders: Vec<_> = (0..8)
        .map(|_| {
            let kit = kit.clone();
            tokio::spawn(async move { kit.render().await })
        })
        .collect();
    for render in renders {
        assert!(
            render
                .await
                .unwrap()
                .unwrap()
                .text()
                .contains("Portes ouvertes")
        );
    }
    assert_eq!(server.hits("/rss.xml").len(), 2);
}

#[tokio::test]
async fn redirects_to_hosts_not_allowed_are_refused() {
    let server = Server::start().await;
    let elsewhere = Server::start().await;
    elsewhere.route("/rss.xml", doc(RSS));
    server.route(
        "/metadata.xml",
        Behaviour::Redirect("http://169.254.169.254/latest/meta-data/".into()),
    );
    server.route("/other.xml", Behaviour::Redirect(elsewhere.url("/rss.xml")));
    server.route("/local.xml", Behaviour::Redirect("/rss.xml".into()));
    server.route("/rss.xml", doc(RSS));
    let (kit, _) = kit_for(
        &server,
        &[
            ("Méta", "/metadata.xml"),
            ("Ailleurs", "/other.xml"),
            ("Ici", "/local.xml"),
        ],
        |_| {},
    );
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert_eq!(
        out.text(),
        "Le flux « Méta » est indisponible : l’adresse du flux (ou une redirection) n’est pas autorisée. Réessayez plus tard."
    );
    kit.submit_preferences([("feed", "Ailleurs")])
        .await
        .unwrap();
    let out = kit.render().await.unwrap();
    assert!(out.text().contains("n’est pas autorisée"), "{}", out.text());
    assert!(
        elsewhere.hits("/rss.xml").is_empty(),
        "the other host was never asked"
    );

    // A redirect on the allowed host is followed; relative links resolve against the
    // address that answered.
    kit.submit_preferences([("feed", "Ici")]).await.unwrap();
    let out = kit.render().await.unwrap();
    assert!(out.text().contains("Portes ouvertes"), "{}", out.text());
    assert!(out.html().contains(&format!("{}/relatif", server.url(""))));
}

#[tokio::test]
async fn untitled_items_empty_feeds_and_dates_in_the_page_language() {
    let server = Server::start().await;
    server.route(
        "/rss.xml",
        doc(r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://lycee.example/</link><description>d</description>
<item><description>Sans titre</description><pubDate>Sun, 31 Mar 2024 23:30:00 +0000</pubDate></item>
</channel></rss>"#),
    );
    server.route(
        "/empty.xml",
        doc(r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://lycee.example/</link><description>d</description></channel></rss>"#),
    );
    let (kit, _) = kit_for(
        &server,
        &[("Lycée", "/rss.xml"), ("Vide", "/empty.xml")],
        |_| {},
    );
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    // 23:30 UTC on 31 March is 01:30 on 1 April in Paris (summer time).
    assert!(
        out.html().contains(">(sans titre)\n<br>")
            && out.html().contains(">lundi 1er avril 2024</time>"),
        "{}",
        out.html()
    );
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(
        en.html().contains(">(untitled)\n<br>")
            && en.html().contains(">Monday 1 April 2024</time>"),
        "{}",
        en.html()
    );

    kit.submit_preferences([("feed", "Vide")]).await.unwrap();
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert!(
        out.text()
            .contains("Ce flux ne contient aucun article pour l’instant."),
        "{}",
        out.text()
    );
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(
        en.text().contains("This feed has no items for now."),
        "{}",
        en.text()
    );
}

#[tokio::test]
async fn help_mode_in_both_languages() {
    let server = Server::start().await;
    let (kit, _) = kit_for(&server, &[("Lycée", "/rss.xml")], |c| {
        c.refresh_seconds = 3600
    });
    let help = kit.render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(
        help.text().contains("date de plus de 1 heure"),
        "{}",
        help.text()
    );
    let help = kit.locale("en").render_mode(Mode::Help).await.unwrap();
    assert!(
        help.text().contains("more than 1 hour old"),
        "{}",
        help.text()
    );
    assert!(
        server.hits.lock().unwrap().is_empty(),
        "help fetches nothing"
    );
}
