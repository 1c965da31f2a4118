//! The ENT-wide search through a real portal on loopback (issue 15): the same query gives
//! a pupil, a teacher and a parent different people (the annuaire's rules applied when
//! they search); a pupil never finds another user's notes; a rebuild of the index gives
//! what the incremental feeding gave; bad searches get a clear page, never a 500.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cartable::ldif::{LdifDirectory, hash_password};
use cartable::prelude::*;
use cartable::{EntBuilder, EntConfig};
use common::{Client, TestPortal};

/// (uid, display name, profile, class)
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("lea", "Léa Martin", "eleve", "1S1"),
    ("hugo", "Hugo Martin", "eleve", "2A"),
    ("marc", "Marc Martin", "enseignant", ""),
    ("sophie", "Sophie Martin", "parent", ""),
    ("nadia", "Nadia Benali", "admin", ""),
];

fn ldif() -> String {
    let mut out = String::new();
    for (uid, name, profile, class) in PEOPLE {
        out.push_str(&format!(
            "dn: uid={uid},ou=people,dc=test\nuid: {uid}\ncn: {name}\ndisplayName: {name}\nENTPersonProfils: {profile}\nmail: {uid}@example.org\nuserPassword: {{ARGON2}}{}\n",
            hash_password(&format!("{uid}-pw"))
        ));
        if !class.is_empty() {
            out.push_str(&format!("ENTEleveClasses: {class}\n"));
        }
        out.push('\n');
    }
    out
}

/// Pupils find pupils and teachers; parents find teachers and parents; teachers everyone.
const CONFIG: &str = r#"etablissement = "Lycée de la Recherche"
[portlets.annuaire.preferences]
people_eleve = { value = "eleve,enseignant", locked = true }
people_parent = { value = "enseignant,parent", locked = true }
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "bloc-notes" }, { portlet = "annuaire" }]]
"#;

async fn portal(dir: &std::path::Path) -> TestPortal {
    let mut config = EntConfig::from_toml(CONFIG, dir).expect("config parses");
    config.portal.data_dir = dir.to_path_buf();
    let directory = LdifDirectory::parse(&ldif()).expect("LDIF parses");
    let portlets: Vec<Arc<dyn Portlet>> = vec![
        Arc::new(cartable::bloc_notes::Notes::new()),
        Arc::new(cartable::annuaire::Annuaire::new()),
    ];
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

fn url(q: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("/recherche?q={q}")
}

/// The titles of the hits of a search, sorted, and the page's status.
async fn hits(client: &mut Client, q: &str) -> Vec<String> {
    let page = client.get(&url(q)).await;
    assert_eq!(page.status, 200, "{q:?}: {}", page.body);
    titles(&page.body)
}

fn titles(html: &str) -> Vec<String> {
    let mut out: Vec<String> = html
        .split("<p class=\"search-hit\">")
        .skip(1)
        .filter_map(|s| {
            let s = s.split("</a>").next()?;
            let title = s.rsplit('>').next()?.trim();
            Some(
                title
                    .replace("&#39;", "'")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Search until `want` comes (the index is fed by jobs), at most 20 s.
async fn eventually(client: &mut Client, q: &str, want: &[&str]) {
    let started = Instant::now();
    loop {
        let got = hits(client, q).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{q:?}: still {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the job queue has nothing waiting or running (the admin page's counts).
async fn jobs_done(admin: &mut Client) {
    let started = Instant::now();
    loop {
        let page = admin.get("/admin").await;
        assert_eq!(page.status, 200);
        if page.body.contains("En attente : 0 · en cours : 0") {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "jobs never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn each_reader_finds_what_she_may_see_now() {
    let dir = tempfile::tempdir().unwrap();
    let portal = portal(dir.path()).await;
    let (mut lea, mut hugo) = (login(&portal, "lea").await, login(&portal, "hugo").await);
    let (mut marc, mut sophie) = (login(&portal, "marc").await, login(&portal, "sophie").await);
    let mut nadia = login(&portal, "nadia").await;

    // The first start rebuilt the index from the directory: the same query, three
    // readers, three answers.
    eventually(
        &mut marc,
        "martin",
        &["Hugo Martin", "Léa Martin", "Marc Martin", "Sophie Martin"],
    )
    .await;
    assert_eq!(
        hits(&mut lea, "martin").await,
        ["Hugo Martin", "Léa Martin", "Marc Martin"]
    );
    assert_eq!(
        hits(&mut sophie, "martin").await,
        ["Marc Martin", "Sophie Martin"]
    );
    // By profile name and class, accents folded.
    assert_eq!(hits(&mut lea, "eleve 1S1").await, ["Léa Martin"]);
    assert_eq!(hits(&mut sophie, "élèves").await, Vec::<String>::new());

    // Notes: each finds her own, never another's.
    for (client, text) in [
        (&mut lea, "Préparer la réunion des élèves délégués"),
        (&mut hugo, "Réunions secrètes du club d'échecs"),
    ] {
        let r = client
            .post_csrf(
                "/action/accueil/bloc-notes",
                &[("op", "add"), ("text", text)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    eventually(
        &mut lea,
        "reunions",
        &["Préparer la réunion des élèves délégués"],
    )
    .await;
    eventually(
        &mut hugo,
        "réunion",
        &["Réunions secrètes du club d'échecs"],
    )
    .await;
    for reader in [&mut lea, &mut marc, &mut sophie, &mut nadia] {
        assert_eq!(hits(reader, "echecs").await, Vec::<String>::new());
        assert_eq!(hits(reader, "secrètes club").await, Vec::<String>::new());
    }
    // The results page groups by service and filters by type, without JavaScript.
    let page = lea.get(&url("martin réunion")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("role=\"search\""));
    let page = lea.get("/recherche?q=eleves").await;
    assert!(page.body.contains("Bloc-notes (1)"), "{}", page.body);
    assert!(
        page.body.contains("type=annuaire%2Fpersonne"),
        "{}",
        page.body
    );
    let filtered = lea.get("/recherche?q=eleves&type=bloc-notes%2Fnote").await;
    assert_eq!(
        titles(&filtered.body),
        ["Préparer la réunion des élèves délégués"]
    );

    // What each finds now is kept, then the admin rebuilds the index from the services'
    // data: the same answers.
    let queries = ["martin", "réunion", "eleves", "echecs", "1S1"];
    let mut before = Vec::new();
    for reader in [&mut lea, &mut hugo, &mut marc, &mut sophie, &mut nadia] {
        for q in queries {
            before.push(hits(reader, q).await);
        }
    }
    let r = nadia.post_csrf("/admin/recherche/reconstruire", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().contains("reindex=1"));
    jobs_done(&mut nadia).await;
    let mut after = Vec::new();
    for reader in [&mut lea, &mut hugo, &mut marc, &mut sophie, &mut nadia] {
        for q in queries {
            after.push(hits(reader, q).await);
        }
    }
    assert_eq!(before, after);
    // Only an administrator rebuilds.
    let r = lea.post_csrf("/admin/recherche/reconstruire", &[]).await;
    assert_eq!(r.status, 403);

    // Bad searches: a clear page, 400, never a 500.
    for (q, says) in [
        ("\"réunion", "guillemet"),
        ("-echecs", "aucun mot"),
        ("!!!", "aucun mot"),
        (&"réunion ".repeat(100), "trop longue"),
    ] {
        let page = lea.get(&url(q)).await;
        assert_eq!(page.status, 400, "{q:?}");
        assert!(page.body.contains(says), "{q:?}: {}", page.body);
    }
    // What is syntax elsewhere is words here.
    for q in ["l'élève", "title:x", "(a OR", "a^2", "C++", "*:*"] {
        let page = lea.get(&url(q)).await;
        assert!(
            page.status == 200 || page.status == 400,
            "{q:?}: {}",
            page.status
        );
    }
    // An empty box: the form alone.
    let page = lea.get("/recherche?q=").await;
    assert_eq!(page.status, 200);
    // A hit's link opens the service's window on her page.
    let open = lea.get("/recherche/aller/annuaire?nom=Marc").await;
    assert_eq!(open.status, 303);
    assert!(
        open.location().starts_with("/page/accueil/"),
        "{}",
        open.location()
    );
    assert!(open.location().contains("p.nom=Marc"));
    assert_eq!(lea.get("/recherche/aller/inconnu").await.status, 404);
    portal.stop().await;
}
