//! "Mes données" through real portals on loopback (issue 15): Léa's notes and bookmarks
//! leave one établissement as a signed archive built by a background job, and come back
//! identical in another établissement with its own database; an archive changed after it
//! was made (one byte of a file, or its manifest) is refused and nothing is imported.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cartable::prelude::*;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

const BOUNDARY: &str = "cartable-mes-donnees-7MA4YWxkTrZu0gW";

fn config(etablissement: &str) -> String {
    format!(
        r#"etablissement = "{etablissement}"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{{ portlet = "bloc-notes" }}, {{ portlet = "liens" }}]]
"#
    )
}

async fn portal(dir: &std::path::Path, etablissement: &str) -> TestPortal {
    let portlets: Vec<Arc<dyn Portlet>> = vec![
        Arc::new(cartable::bloc_notes::Notes::new()),
        Arc::new(cartable::signets::Bookmarks::new()),
    ];
    TestPortal::start(&config(etablissement), dir, portlets).await
}

/// A request with the client's session cookie; status and body bytes.
async fn send(
    base: &str,
    cookie: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Bytes) {
    let client = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut b = http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("cookie", format!("cartable_sid={cookie}"));
    if let Some(t) = content_type {
        b = b.header("content-type", t);
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(60),
        client.request(b.body(Full::new(Bytes::from(body))).unwrap()),
    )
    .await
    .expect("answer within 60 s")
    .expect("request succeeds");
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

/// Léa's export: asked on /compte, built by the job, downloaded.
async fn export(portal: &TestPortal, lea: &mut Client) -> Vec<u8> {
    let asked = lea.post_csrf("/compte/donnees/export", &[]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert!(asked.location().starts_with("/compte?done=export"));
    let started = Instant::now();
    loop {
        let page = lea.get("/compte").await;
        assert_eq!(page.status, 200);
        if page.body.contains("/compte/donnees/archive") {
            assert!(page.body.contains("Votre archive est prête"));
            break;
        }
        assert!(
            !page.body.contains("a échoué"),
            "the export failed: {}",
            page.body
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the archive was never ready: {}",
            &page.body[page.body.find("mes-donnees").unwrap_or(0)..]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cookie = lea.cookie.clone().unwrap();
    let (status, bytes) = send(
        &portal.base,
        &cookie,
        "GET",
        "/compte/donnees/archive",
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200);
    bytes.to_vec()
}

/// Every entry of an archive.
fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
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

fn entry<'a>(all: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &all.iter().find(|(n, _)| n == name).expect(name).1
}

/// The same archive, one entry changed by `change`.
fn rewritten(zip: &[u8], name: &str, change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, mut bytes) in entries(zip) {
        if n == name {
            change(&mut bytes);
        }
        out.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Post an archive to the import form; the page.
async fn import(portal: &TestPortal, lea: &mut Client, archive: &[u8]) -> (u16, String) {
    let page = lea.get("/compte").await;
    let token = extract_csrf(&page.body).unwrap();
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"mes-donnees.zip\"\r\n\
         Content-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let (status, page) = send(
        &portal.base,
        lea.cookie.as_ref().unwrap(),
        "POST",
        "/compte/donnees/import",
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        body,
    )
    .await;
    (status, String::from_utf8_lossy(&page).into_owned())
}

/// What Léa's home page shows in both windows.
async fn home(lea: &mut Client) -> String {
    let page = lea.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    page.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_bookmarks_move_to_another_etablissement_and_a_tampered_archive_is_refused() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = portal(dir_a.path(), "Lycée Victor Hugo").await;
    let b = portal(dir_b.path(), "Collège Jules Ferry").await;

    // Léa's data in the first établissement.
    let mut lea = a.login("lea").await;
    for text in [
        "Réviser le chapitre 3",
        "Rendre l’exposé\nlundi <8 h> & \"vite\"",
    ] {
        let r = lea
            .post_csrf(
                "/action/accueil/bloc-notes",
                &[("op", "add"), ("text", text)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    for (title, url) in [
        (
            "Wikipédia <fr>",
            "https://fr.wikipedia.org/wiki/Accueil?a=1&b=2",
        ),
        ("Éduscol", "https://eduscol.education.fr/"),
    ] {
        let r = lea
            .post_csrf(
                "/action/accueil/liens",
                &[("op", "add"), ("title", title), ("url", url)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let archive = export(&a, &mut lea).await;
    let files = entries(&archive);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "bloc-notes/notes.json",
            "signets/bookmarks.html",
            "portail/activite.json",
            "manifest.json",
            "manifest.json.sig"
        ]
    );
    // What the ENT keeps of her activity: her open session, and the services used on the
    // days not closed yet (the indicators flush every minute: maybe none yet).
    let activity: serde_json::Value =
        serde_json::from_slice(entry(&files, "portail/activite.json")).unwrap();
    assert_eq!(activity["format"], "cartable-activite");
    assert_eq!(
        activity["sessions"].as_array().unwrap().len(),
        1,
        "{activity}"
    );
    assert!(activity["services_used"].is_array());
    assert!(
        activity["retention"]
            .as_str()
            .unwrap()
            .contains("nothing says who")
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(entry(&files, "manifest.json")).unwrap();
    assert_eq!(manifest["etablissement"], "Lycée Victor Hugo");
    assert_eq!(manifest["user"]["id"], "lea");
    assert_eq!(manifest["files"][1]["format"], "netscape-bookmark-file-1");
    // The key that signed it is the one the first établissement publishes.
    let mut anonymous = a.client();
    let key = anonymous.get("/donnees/cle").await;
    assert_eq!(key.status, 200);
    let key: serde_json::Value = serde_json::from_str(&key.body).unwrap();
    assert_eq!(key["public_key"], manifest["signer"]["public_key"]);
    assert_eq!(key["algorithm"], "Ed25519");

    // Into the second établissement: tampered archives first, refused whole.
    let mut lea_b = b.login("lea").await;
    let one_byte = rewritten(&archive, "bloc-notes/notes.json", |bytes| {
        let at = bytes.iter().position(|b| *b == b'3').unwrap();
        bytes[at] = b'4';
    });
    let (status, page) = import(&b, &mut lea_b, &one_byte).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("un fichier a été modifié"), "{page}");
    assert!(page.contains("bloc-notes/notes.json"));
    let edited = rewritten(&archive, "manifest.json", |bytes| {
        let text = String::from_utf8(bytes.clone()).unwrap();
        *bytes = text
            .replace("Lycée Victor Hugo", "Lycée Imaginaire")
            .into_bytes();
    });
    let (status, page) = import(&b, &mut lea_b, &edited).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("sa signature ne correspond pas"), "{page}");
    let (status, page) = import(&b, &mut lea_b, b"not a zip at all").await;
    assert_eq!(status, 400);
    assert!(page.contains("n’est pas une archive"), "{page}");
    let nothing = home(&mut lea_b).await;
    assert!(!nothing.contains("chapitre") && !nothing.contains("eduscol"));

    // The archive as it was made: every note and bookmark is restored.
    let (status, page) = import(&b, &mut lea_b, &archive).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Résultat de l’import"), "{page}");
    assert!(
        page.contains("bloc-notes : 2 importés, 0 refusés"),
        "{page}"
    );
    assert!(page.contains("signets : 2 importés, 0 refusés"), "{page}");
    assert!(page.contains("l’activité tenue par un autre ENT"), "{page}");
    assert!(page.contains("Lycée Victor Hugo"));
    // Exported again from the second établissement, the services' files are the same
    // bytes: the same notes (text, date, order) and the same bookmarks (title, URL, date).
    let again = export(&b, &mut lea_b).await;
    let again = entries(&again);
    for name in ["bloc-notes/notes.json", "signets/bookmarks.html"] {
        assert_eq!(
            String::from_utf8_lossy(entry(&again, name)),
            String::from_utf8_lossy(entry(&files, name)),
            "{name}"
        );
    }
    let second: serde_json::Value = serde_json::from_slice(entry(&again, "manifest.json")).unwrap();
    assert_eq!(second["etablissement"], "Collège Jules Ferry");
    assert_ne!(
        second["signer"], manifest["signer"],
        "each établissement its key"
    );

    // Importing it once more: everything is already there, refused line by line.
    let (status, page) = import(&b, &mut lea_b, &archive).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("bloc-notes : 0 importés, 2 refusés"),
        "{page}"
    );
    assert!(page.contains("déjà dans votre bloc-notes"));

    // Nobody else downloads Léa's archive; without a session, the form is refused.
    let mut paul = b.login("paul").await;
    assert_eq!(paul.get("/compte/donnees/archive").await.status, 404);
    let forged = b.client().post("/compte/donnees/export", &[]).await;
    assert_eq!(forged.status, 403);

    a.stop().await;
    b.stop().await;
}

/// `[portability] only_trusted`: an archive signed by a recognised établissement is
/// imported and named as such; one from an établissement whose key is not configured is
/// refused whole; a configured key that is not a key stops the start with a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_archives_of_trusted_etablissements_are_imported_when_so_configured() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = portal(dirs[0].path(), "Lycée Victor Hugo").await;
    let b = portal(dirs[1].path(), "Collège Jules Ferry").await;
    let key: serde_json::Value =
        serde_json::from_str(&a.client().get("/donnees/cle").await.body).unwrap();
    let trusting = format!(
        "{}[portability]\nonly_trusted = true\ntrusted = [{{ etablissement = \"Lycée Hugo (Paris)\", public_key = \"{}\" }}]\n",
        config("Lycée Condorcet"),
        key["public_key"].as_str().unwrap()
    );
    let portlets = || -> Vec<Arc<dyn Portlet>> {
        vec![
            Arc::new(cartable::bloc_notes::Notes::new()),
            Arc::new(cartable::signets::Bookmarks::new()),
        ]
    };
    let c = TestPortal::start(&trusting, dirs[2].path(), portlets()).await;

    let mut lea_a = a.login("lea").await;
    let r = lea_a
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", "Note de Hugo")],
        )
        .await;
    assert_eq!(r.status, 303);
    let from_a = export(&a, &mut lea_a).await;
    let mut lea_b = b.login("lea").await;
    let r = lea_b
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", "Note de Ferry")],
        )
        .await;
    assert_eq!(r.status, 303);
    let from_b = export(&b, &mut lea_b).await;

    let mut lea_c = c.login("lea").await;
    let (status, page) = import(&c, &mut lea_c, &from_b).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("ne reconnaît pas la clé"), "{page}");
    assert!(
        page.contains("Collège Jules Ferry"),
        "the refusal names the signer: {page}"
    );
    assert!(
        !home(&mut lea_c).await.contains("Note de Ferry"),
        "nothing imported"
    );
    let (status, page) = import(&c, &mut lea_c, &from_a).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("reconnu : Lycée Hugo (Paris)"), "{page}");
    assert!(home(&mut lea_c).await.contains("Note de Hugo"));

    // A key that is not one is refused when the configuration is read.
    let bad = format!(
        "{}[portability]\ntrusted = [{{ etablissement = \"X\", public_key = \"pas une clé\" }}]\n",
        config("Lycée Condorcet")
    );
    let err = cartable::EntConfig::from_toml(&bad, dirs[2].path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an Ed25519 public key"), "{err}");
    assert!(err.contains("donnees/cle"), "{err}");

    a.stop().await;
    b.stop().await;
    c.stop().await;
}

/// The issue's round trip: a teacher with data in every service that keeps a user's data
/// (bloc-notes, signets with a folder, annonces, aide) exports it, the archive is imported
/// into a second établissement, and exported again there, every service's file is the
/// same, item for item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_data_in_every_service_moves_whole() {
    const EVERY: &str = r#"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "bloc-notes" }, { portlet = "liens" }], [{ portlet = "nouveautes" }]]
[[layouts.default.tabs]]
id = "aide"
title = "Aide"
columns = [[{ portlet = "aide", locked = true }]]
"#;
    let every = || -> Vec<Arc<dyn Portlet>> {
        vec![
            Arc::new(cartable::bloc_notes::Notes::new()),
            Arc::new(cartable::signets::Bookmarks::new()),
            Arc::new(cartable::annonces::News::new()),
            Arc::new(cartable::aide::Aide::new()),
        ]
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestPortal::start(
        &format!("etablissement = \"Lycée Victor Hugo\"{EVERY}"),
        dir_a.path(),
        every(),
    )
    .await;
    let b = TestPortal::start(
        &format!("etablissement = \"Collège Jules Ferry\"{EVERY}"),
        dir_b.path(),
        every(),
    )
    .await;

    let mut paul = a.login("paul").await;
    let ok = |r: Resp, what: &str| assert_eq!(r.status, 303, "{what}: {}", r.body);
    ok(
        paul.post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", "Corriger les copies")],
        )
        .await,
        "note",
    );
    ok(
        paul.post_csrf(
            "/action/accueil/liens",
            &[("op", "add-folder"), ("name", "Cours")],
        )
        .await,
        "folder",
    );
    ok(
        paul.post_csrf(
            "/action/accueil/liens?p.dossier=1",
            &[
                ("op", "add"),
                ("title", "Lumni"),
                ("url", "https://www.lumni.fr/"),
            ],
        )
        .await,
        "link in the folder",
    );
    ok(
        paul.post_csrf(
            "/action/accueil/liens",
            &[
                ("op", "add"),
                ("title", "Éduscol"),
                ("url", "https://eduscol.education.fr/"),
            ],
        )
        .await,
        "link",
    );
    ok(
        paul.post_csrf(
            "/action/accueil/nouveautes",
            &[
                ("op", "publish"),
                ("title", "Conseil de classe jeudi"),
                ("audience", "all"),
            ],
        )
        .await,
        "announcement",
    );
    ok(
        paul.post_csrf(
            "/action/aide/aide",
            &[
                ("op", "signaler"),
                ("subject", "Le vidéoprojecteur de la B12"),
                ("description", "Il ne s’allume plus."),
                ("page", "/page/accueil"),
                ("service", "liens"),
            ],
        )
        .await,
        "incident",
    );

    let archive = export(&a, &mut paul).await;
    let files = entries(&archive);
    let services: Vec<&str> = files
        .iter()
        .filter(|(n, _)| n.contains('/'))
        .map(|(n, _)| n.split('/').next().unwrap())
        .collect();
    for service in ["bloc-notes", "signets", "annonces", "aide", "portail"] {
        assert!(services.contains(&service), "{service} in {services:?}");
    }

    let mut paul_b = b.login("paul").await;
    let (status, page) = import(&b, &mut paul_b, &archive).await;
    assert_eq!(status, 200, "{page}");
    for service in ["bloc-notes", "signets", "annonces", "aide"] {
        assert!(
            page.contains(&format!("{service} : "))
                && !page.contains(&format!("{service} : 0 importés")),
            "{service} restored something: {page}"
        );
    }
    let again = entries(&export(&b, &mut paul_b).await);
    for (name, bytes) in files
        .iter()
        .filter(|(n, _)| n.contains('/') && !n.starts_with("portail/"))
    {
        assert_eq!(
            String::from_utf8_lossy(entry(&again, name)),
            String::from_utf8_lossy(bytes),
            "{name} exported again from the second établissement"
        );
    }
    a.stop().await;
    b.stop().await;
}
