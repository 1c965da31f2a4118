//! The carnet d'adresses over CardDAV (RFC 6352) through a running portal:
//!
//! - a pupil reaches only her own address books, whatever URL her client sends;
//! - an unchanged book answers polls the same, a change moves its ctag and sync token,
//!   `sync-collection` reports removals, a stale `If-Match` is `412`, a card too large
//!   or not a vCard is refused with a message;
//! - `vdirsyncer` (PyPI; scripts/test.sh installs it and names it in
//!   `CARTABLE_TEST_VDIRSYNCER`) syncs both ways: cards made in the ENT reach its folder,
//!   cards made, changed or deleted in the folder reach the ENT, and back. The test is
//!   skipped, loudly, without it.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cartable::carnet::Carnet;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

const CONFIG: &str = r#"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }]]
"#;

async fn portal(dir: &std::path::Path) -> TestPortal {
    TestPortal::start(
        CONFIG,
        dir,
        vec![Hello::shared("hello"), Arc::new(Carnet::new())],
    )
    .await
}

struct Dav {
    base: String,
    auth: String,
    client: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Dav {
    fn new(base: &str, user: &str, password: &str) -> Dav {
        Dav {
            base: base.to_string(),
            auth: format!("Basic {}", base64(&format!("{user}:{password}"))),
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            self.client
                .request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap()),
        )
        .await
        .expect("answer within 30 s")
        .expect("request succeeds");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// RFC 4648 base64 with padding (the test's only use).
fn base64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Make an application password on `/compte` and read it from the page (shown once).
async fn app_password(c: &mut Client) -> String {
    let r = c
        .post_csrf(
            "/compte/applications",
            &[("op", "create"), ("label", "Contacts")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let marker = r#"id="apppw-new" type="text" readonly value=""#;
    let start = r.body.find(marker).expect("the new password is shown") + marker.len();
    let end = r.body[start..].find('"').unwrap();
    r.body[start..start + end].to_string()
}

fn card(uid: &str, name: &str, email: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEMAIL;TYPE=WORK:{email}\r\nEND:VCARD\r\n"
    )
}

const CTAG: &str = r#"<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#;

fn sync_token(body: &str) -> String {
    let start = body.find("<d:sync-token>").expect("a sync token") + "<d:sync-token>".len();
    let end = body[start..].find('<').unwrap();
    body[start..start + end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_reaches_only_her_own_address_books() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut lea = p.login("lea").await;
    let lea_pw = app_password(&mut lea).await;
    let mut ancien = p.login("ancien").await;
    let ancien_pw = app_password(&mut ancien).await;
    let lea = Dav::new(&p.base, "lea", &lea_pw);
    let ancien = Dav::new(&p.base, "ancien", &ancien_pw);
    let r = lea
        .call(
            "PUT",
            "/dav/carnet/lea/personnel/secret.vcf",
            &[("if-none-match", "*"), ("content-type", "text/vcard")],
            &card("s1", "Confidentiel", "secret@example.fr"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Her home lists her own book; another's home, book or card is not found.
    let r = lea
        .call(
            "PROPFIND",
            "/dav/carnet/lea/",
            &[("depth", "1")],
            r#"<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:displayname/></d:prop></d:propfind>"#,
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(r.body.contains("/dav/carnet/lea/personnel/"), "{}", r.body);
    assert!(r.body.contains("addressbook"), "{}", r.body);
    for (method, path) in [
        ("GET", "/dav/carnet/lea/personnel/secret.vcf"),
        ("PROPFIND", "/dav/carnet/lea/personnel/"),
        ("GET", "/dav/carnet/ancien/personnel/secret.vcf"),
        ("DELETE", "/dav/carnet/ancien/personnel/secret.vcf"),
        ("GET", "/dav/carnet/ancien/groupe-x/secret.vcf"),
    ] {
        let r = ancien.call(method, path, &[("depth", "1")], "").await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    let r = ancien
        .call(
            "PUT",
            "/dav/carnet/lea/personnel/intrus.vcf",
            &[],
            &card("i1", "Intrus", "i@example.fr"),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = ancien
        .call(
            "REPORT",
            "/dav/carnet/ancien/personnel/",
            &[("depth", "1")],
            r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#,
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(!r.body.contains("secret"), "{}", r.body);
    let r = lea
        .call("GET", "/dav/carnet/lea/personnel/secret.vcf", &[], "")
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("secret@example.fr"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_etags_and_bad_cards() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let pw = app_password(&mut c).await;
    let dav = Dav::new(&p.base, "lea", &pw);
    let book = "/dav/carnet/lea/personnel/";
    let before = dav.call("PROPFIND", book, &[("depth", "0")], CTAG).await;
    assert_eq!(before.status, 207, "{}", before.body);
    let again = dav.call("PROPFIND", book, &[("depth", "0")], CTAG).await;
    assert_eq!(
        before.body, again.body,
        "an unchanged book answers the same"
    );
    let token0 = sync_token(&before.body);
    let path = format!("{book}a.vcf");
    let r = dav
        .call(
            "PUT",
            &path,
            &[("if-none-match", "*")],
            &card("a", "Alpha", "a@example.fr"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The carnet stores what it understands, not the bytes: the client fetches them.
    assert!(r.headers.get("etag").is_none());
    let got = dav.call("GET", &path, &[], "").await;
    let etag = got.headers["etag"].to_str().unwrap().to_string();
    let r = dav
        .call(
            "PUT",
            &path,
            &[("if-match", &etag)],
            &card("a", "Alpha Bis", "a@example.fr"),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = dav
        .call(
            "PUT",
            &path,
            &[("if-match", &etag)],
            &card("a", "Écrasé", "a@example.fr"),
        )
        .await;
    assert_eq!(r.status, 412, "a stale ETag never overwrites: {}", r.body);
    assert!(
        dav.call("GET", &path, &[], "")
            .await
            .body
            .contains("Alpha Bis")
    );
    let r = dav
        .call(
            "PUT",
            &path,
            &[("if-none-match", "*")],
            &card("a", "Doublon", "a@example.fr"),
        )
        .await;
    assert_eq!(r.status, 412);
    // Not a vCard; a card with a 2 MB photo.
    let r = dav
        .call(
            "PUT",
            &format!("{book}b.vcf"),
            &[],
            "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        )
        .await;
    assert!(
        [400, 403, 415].contains(&r.status) && r.body.contains("vCard"),
        "{}: {}",
        r.status,
        r.body
    );
    let photo = "QUFB".repeat(700_000);
    let big = card("big", "Photo", "p@example.fr").replace(
        "END:VCARD",
        &format!("PHOTO;ENCODING=b;TYPE=JPEG:{photo}\r\nEND:VCARD"),
    );
    let r = dav.call("PUT", &format!("{book}big.vcf"), &[], &big).await;
    assert!(
        r.status == 507 || r.status == 413,
        "{}: {}",
        r.status,
        r.body
    );
    // The book moved; a removal shows in sync-collection.
    let after = dav.call("PROPFIND", book, &[("depth", "0")], CTAG).await;
    assert_ne!(before.body, after.body, "a change moves the ctag");
    let etag = dav.call("GET", &path, &[], "").await.headers["etag"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        dav.call("DELETE", &path, &[("if-match", "\"stale\"")], "")
            .await
            .status,
        412
    );
    assert_eq!(
        dav.call("DELETE", &path, &[("if-match", &etag)], "")
            .await
            .status,
        204
    );
    let report = format!(
        r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token0}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
    );
    let r = dav.call("REPORT", book, &[("depth", "1")], &report).await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(
        r.body.contains("a.vcf") && r.body.contains("404"),
        "{}",
        r.body
    );
    p.stop().await;
}

/// `vdirsyncer`, or `None` (skip, loudly) outside scripts/test.sh where it is missing.
fn vdirsyncer() -> Option<String> {
    let given = std::env::var("CARTABLE_TEST_VDIRSYNCER").ok();
    let cmd = given.clone().unwrap_or_else(|| "vdirsyncer".into());
    let found = Command::new(&cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, given) {
        (true, _) => Some(cmd),
        (false, Some(_)) => panic!(
            "CARTABLE_TEST_VDIRSYNCER={cmd} does not run: scripts/test.sh installs it \
             (pip install vdirsyncer in a venv)"
        ),
        (false, None) => {
            eprintln!(
                "\n!!!!!!!! vdirsyncer NOT FOUND: the carnet was NOT synced by a real CardDAV \
                 client. Run scripts/test.sh, or `pip install vdirsyncer` and set \
                 CARTABLE_TEST_VDIRSYNCER. !!!!!!!!\n"
            );
            None
        }
    }
}

fn run(cmd: &str, config: &std::path::Path, args: &[&str]) {
    let out = Command::new(cmd)
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vdirsyncer {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn local_cards(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vdirsyncer_syncs_both_ways() {
    let Some(cmd) = vdirsyncer() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let pw = app_password(&mut c).await;
    let dav = Dav::new(&p.base, "lea", &pw);
    let book = "/dav/carnet/lea/personnel/";
    // Made in the ENT.
    for (uid, name) in [("ent-1", "Depuis Ent"), ("ent-2", "Autre Ent")] {
        let r = dav
            .call(
                "PUT",
                &format!("{book}{uid}.vcf"),
                &[],
                &card(uid, name, &format!("{uid}@example.fr")),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let sync_dir = dir.path().join("vdir");
    let local = sync_dir.join("contacts/personnel");
    std::fs::create_dir_all(&local).unwrap();
    let config = sync_dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[general]\nstatus_path = \"{status}\"\n\n\
             [pair carnet]\na = \"local\"\nb = \"ent\"\ncollections = [\"from b\"]\nconflict_resolution = \"b wins\"\n\n\
             [storage local]\ntype = \"filesystem\"\npath = \"{contacts}\"\nfileext = \".vcf\"\n\n\
             [storage ent]\ntype = \"carddav\"\nurl = \"{base}/\"\nusername = \"lea\"\npassword = \"{pw}\"\n",
            status = sync_dir.join("status").display(),
            contacts = sync_dir.join("contacts").display(),
            base = p.base,
        ),
    )
    .unwrap();
    let cmd2 = cmd.clone();
    let config2 = config.clone();
    tokio::task::spawn_blocking(move || run(&cmd2, &config2, &["discover", "carnet"]))
        .await
        .unwrap();
    let sync = || {
        let cmd = cmd.clone();
        let config = config.clone();
        tokio::task::spawn_blocking(move || run(&cmd, &config, &["sync"]))
    };
    sync().await.unwrap();
    let cards = local_cards(&local);
    assert_eq!(cards.len(), 2, "{cards:?}");
    assert!(cards.iter().any(|(_, c)| c.contains("Depuis Ent")));
    // Made, changed and deleted in the folder.
    std::fs::write(
        local.join("local-1.vcf"),
        card("local-1", "Depuis Dossier", "local@example.fr"),
    )
    .unwrap();
    let (ent2, _) = cards
        .iter()
        .find(|(_, c)| c.contains("Autre Ent"))
        .unwrap()
        .clone();
    std::fs::remove_file(local.join(&ent2)).unwrap();
    sync().await.unwrap();
    let r = dav
        .call("GET", &format!("{book}local-1.vcf"), &[], "")
        .await;
    assert_eq!(
        r.status, 200,
        "the folder's card reached the ENT: {}",
        r.body
    );
    assert!(r.body.contains("local@example.fr"));
    assert_eq!(
        dav.call("GET", &format!("{book}ent-2.vcf"), &[], "")
            .await
            .status,
        404,
        "the card deleted in the folder is deleted in the ENT"
    );
    // Changed in the ENT, back to the folder.
    let etag = dav
        .call("GET", &format!("{book}ent-1.vcf"), &[], "")
        .await
        .headers["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let r = dav
        .call(
            "PUT",
            &format!("{book}ent-1.vcf"),
            &[("if-match", &etag)],
            &card("ent-1", "Modifié Ent", "ent-1@example.fr"),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    sync().await.unwrap();
    let cards = local_cards(&local);
    assert!(
        cards.iter().any(|(_, c)| c.contains("Modifié Ent")),
        "{cards:?}"
    );
    assert!(
        cards.iter().any(|(_, c)| c.contains("Depuis Dossier")),
        "{cards:?}"
    );
    assert_eq!(cards.len(), 2, "{cards:?}");
    // A sync with nothing changed changes nothing.
    sync().await.unwrap();
    assert_eq!(local_cards(&local), cards);
    p.stop().await;
}
