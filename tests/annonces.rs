//! The annonces service through a real portal on loopback: a pupil never sees an
//! announcement for another class or for teachers, through the page, the whole list, her
//! private RSS feed (fetched without a session, as a feed reader does) or her "Mes
//! données" archive; a revoked feed URL answers 404.

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cartable::ldif::{LdifDirectory, hash_password};
use cartable::prelude::*;
use cartable::{EntBuilder, EntConfig};
use common::*;

const CONFIG: &str = r#"etablissement = "Lycée Victor Hugo"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "nouveautes" }]]
"#;

/// (uid, name, profile, class attribute, class).
const PEOPLE: &[(&str, &str, &str, &str, &str)] = &[
    ("lea", "Léa Martin", "eleve", "ENTEleveClasses", "2nde-3"),
    ("tom", "Tom Petit", "eleve", "ENTEleveClasses", "2nde-1"),
    (
        "paul",
        "Paul Durand",
        "enseignant",
        "ENTAuxEnsClasses",
        "2nde-3",
    ),
    ("ines", "Inès Chaouch", "personnel", "title", "CPE"),
];

fn ldif() -> String {
    let mut out = String::new();
    for (uid, name, profile, attribute, value) in PEOPLE {
        out.push_str(&format!(
            "dn: uid={uid},ou=people,dc=test\nuid: {uid}\ncn: {name}\ndisplayName: {name}\n\
             ENTPersonProfils: {profile}\n{attribute}: {value}\nuserPassword: {{ARGON2}}{}\n\n",
            hash_password(&format!("{uid}-pw"))
        ));
    }
    out
}

async fn start(dir: &std::path::Path) -> TestPortal {
    let mut config = EntConfig::from_toml(CONFIG, dir).expect("config parses");
    config.portal.data_dir = dir.to_path_buf();
    let directory = LdifDirectory::parse(&ldif()).expect("LDIF parses");
    let portlets: Vec<Arc<dyn Portlet>> = vec![Arc::new(cartable::annonces::News::new())];
    let portal = EntBuilder::new(config)
        .directory(Arc::new(directory))
        .portlets(portlets)
        .build()
        .await
        .expect("portal builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let base = format!("http://{}", running.local_addr());
    TestPortal { running, base }
}

async fn login(portal: &TestPortal, uid: &str) -> Client {
    let mut c = portal.client();
    c.login(uid, &format!("{uid}-pw")).await;
    c
}

const ALL: &str = "/page/accueil/nouveautes?state=maximized";

async fn publish(c: &mut Client, fields: &[(&str, &str)]) {
    let r = c.post_csrf("/action/accueil/nouveautes", fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// Her feed's path, as the window shows it.
fn feed_path(page: &str) -> String {
    let start = page
        .find("/flux/nouveautes/")
        .expect("the feed URL is shown");
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

/// The bytes at `path`, with the session cookie.
async fn download(base: &str, cookie: &str, path: &str) -> Vec<u8> {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let req = http::Request::get(format!("{base}{path}"))
        .header("cookie", format!("cartable_sid={cookie}"))
        .body(Empty::new())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// Léa's archive of "Mes données", built by the job.
async fn export(base: &str, lea: &mut Client) -> Vec<(String, Vec<u8>)> {
    let asked = lea.post_csrf("/compte/donnees/export", &[]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let started = Instant::now();
    while !lea
        .get("/compte")
        .await
        .body
        .contains("/compte/donnees/archive")
    {
        assert!(started.elapsed() < Duration::from_secs(30), "no archive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let zip = download(
        base,
        lea.cookie.as_deref().unwrap(),
        "/compte/donnees/archive",
    )
    .await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_sees_only_her_announcements_through_every_door() {
    let dir = tempfile::tempdir().unwrap();
    let portal = start(dir.path()).await;

    let mut paul = login(&portal, "paul").await;
    let form = paul.get(ALL).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Publier une annonce"));
    publish(
        &mut paul,
        &[
            ("op", "publish"),
            ("title", "Sortie de la 2nde-3"),
            ("audience", "c:2nde-3"),
        ],
    )
    .await;
    publish(
        &mut paul,
        &[
            ("op", "publish"),
            ("title", "Conseil des enseignants"),
            ("audience", "p:enseignant"),
        ],
    )
    .await;
    publish(
        &mut paul,
        &[
            ("op", "publish"),
            ("title", "Fête du lycée"),
            ("audience", "all"),
            ("pinned", "oui"),
        ],
    )
    .await;
    let mut ines = login(&portal, "ines").await;
    publish(
        &mut ines,
        &[
            ("op", "publish"),
            ("title", "Sortie de la 2nde-1"),
            ("audience", "c:*"),
            ("class", "2nde-1"),
        ],
    )
    .await;
    // A pupil may not publish, whatever she posts.
    let mut lea = login(&portal, "lea").await;
    let refused = lea
        .post_csrf(
            "/action/accueil/nouveautes",
            &[("op", "publish"), ("title", "pirate"), ("audience", "all")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let mine = ["Sortie de la 2nde-3", "Fête du lycée"];
    let not_mine = ["Sortie de la 2nde-1", "Conseil des enseignants", "pirate"];
    // The page and the whole list.
    for path in ["/page/accueil", ALL] {
        let page = lea.get(path).await;
        assert_eq!(page.status, 200);
        for t in mine {
            assert!(page.body.contains(t), "{path}: {t}");
        }
        for t in not_mine {
            assert!(!page.body.contains(t), "{path}: {t}");
        }
    }

    // Her feed, fetched without a session.
    let made = lea
        .post_csrf("/action/accueil/nouveautes", &[("op", "feed-new")])
        .await;
    assert_eq!(made.status, 303);
    let path = feed_path(&lea.get(ALL).await.body);
    let mut reader = portal.client();
    let feed = reader.get(&path).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert_eq!(
        feed.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    assert_eq!(feed.header("cache-control"), Some("private, no-cache"));
    for t in mine {
        assert!(feed.body.contains(t), "feed: {t}");
    }
    for t in not_mine {
        assert!(!feed.body.contains(t), "feed: {t}");
    }
    assert!(
        feed.body.find("Fête").unwrap() < feed.body.find("Sortie").unwrap(),
        "pinned first"
    );
    assert!(
        feed.body
            .contains(&format!("<link>{}/</link>", portal.base))
    );
    // Well-formed for xmllint, where installed (scripts/test.sh installs it).
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, &feed.body).unwrap();
    if let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg(&file)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Tom's feed is his class's.
    let mut tom = login(&portal, "tom").await;
    tom.post_csrf("/action/accueil/nouveautes", &[("op", "feed-new")])
        .await;
    let tom_feed = reader.get(&feed_path(&tom.get(ALL).await.body)).await;
    assert!(tom_feed.body.contains("Sortie de la 2nde-1") && !tom_feed.body.contains("2nde-3"));

    // Her archive holds her announcements (none), never others'.
    let archive = export(&portal.base, &mut lea).await;
    let (_, json) = archive
        .iter()
        .find(|(n, _)| n == "annonces/announcements.json")
        .expect("the service's file");
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    assert_eq!(v["announcements"], serde_json::json!([]));
    for (name, bytes) in &archive {
        let text = String::from_utf8_lossy(bytes);
        for t in mine.iter().chain(not_mine.iter()) {
            assert!(!text.contains(t), "{name}: {t}");
        }
        assert!(
            !text.contains(&path[17..]),
            "{name}: the feed token is not exported"
        );
    }

    // Revoked, the URL answers 404; so do a wrong token and another portlet.
    lea.post_csrf("/action/accueil/nouveautes", &[("op", "feed-revoke")])
        .await;
    assert_eq!(reader.get(&path).await.status, 404);
    assert_eq!(
        reader.get("/flux/nouveautes/nope/rss.xml").await.status,
        404
    );
    assert_eq!(
        reader.get("/flux/bloc-notes/nope/rss.xml").await.status,
        404
    );
    portal.stop().await;
}
