//! Lost edits (issue 12, "Hardening"): one user, two sessions, 20 additions posted at once
//! to the notepad, to the links and to the directory's address book. Every addition the
//! portal confirmed (303) is stored; any other answer is a 409 "reload and try again",
//! never a confirmation whose data was silently overwritten by a parallel request.
//!
//! Over real HTTP on loopback, with the lycée demo as shipped (its configuration and
//! portlets), its directory extended by 20 pupils so the address book has 20 people to
//! take in.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use cartable::EntConfig;
use common::*;

/// Parallel additions in each scenario.
const ADDITIONS: usize = 20;

/// The demo portal, its directory extended with `camarade01`…`camarade20`.
async fn demo(data: &Path) -> TestPortal {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee");
    let mut config = EntConfig::load(&root.join("cartable.toml")).expect("the demo configuration");
    config.portal.data_dir = data.to_path_buf();
    let mut ldif = std::fs::read_to_string(root.join("annuaire.ldif")).expect("the demo LDIF");
    for i in 1..=ADDITIONS {
        ldif.push_str(&format!(
            "\ndn: uid=camarade{i:02},ou=people,dc=lycee-hugo,dc=fr\n\
             objectClass: top\nobjectClass: inetOrgPerson\nobjectClass: ENTPerson\n\
             objectClass: ENTEleve\nuid: camarade{i:02}\ncn: Camarade {i:02}\n\
             sn: Camarade\ndisplayName: Camarade {i:02}\nENTPersonProfils: eleve\n\
             ENTEleveClasses: 2nde-3\n"
        ));
    }
    let directory = data.join("annuaire.ldif");
    std::fs::write(&directory, ldif).unwrap();
    config.portal.directory = Some(directory);
    let site = cartable_demo::site::DemoSite::start().await.unwrap();
    config.portal.cas.services.extend(site.cas_services());
    let portlets = site.all_portlets(&config.portal.base_path);
    let portal = TestPortal::start_config(config, portlets).await;
    site.set_portal(format!("{}/", portal.base).parse().unwrap());
    portal
}

/// One logged-in session: its cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn session(p: &TestPortal, login: &str) -> Session {
    let mut c = p.client();
    c.login(login, login).await;
    let csrf = c.csrf().await;
    Session {
        cookie: c.cookie.clone().expect("a session cookie"),
        csrf,
    }
}

/// Post every form at once to `path`, alternating between the sessions; the status of
/// each answer, in the order of `forms`.
async fn post_all(
    p: &TestPortal,
    sessions: &[Session],
    path: &str,
    forms: Vec<Vec<(String, String)>>,
) -> Vec<u16> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(forms.len()));
    let tasks: Vec<_> = forms
        .into_iter()
        .enumerate()
        .map(|(i, form)| {
            let s = &sessions[i % sessions.len()];
            let mut c = Client::new(&p.base);
            c.cookie = Some(s.cookie.clone());
            let mut ser = form_urlencoded::Serializer::new(String::new());
            ser.append_pair("_csrf", &s.csrf);
            for (k, v) in &form {
                ser.append_pair(k, v);
            }
            let body = ser.finish();
            let path = path.to_string();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                c.request("POST", &path, Some(body)).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

/// Check the answers against what is stored: `stored` are the indexes of the additions
/// found afterwards.
fn check(what: &str, statuses: &[u16], stored: &BTreeSet<usize>) {
    let confirmed: BTreeSet<usize> = (0..statuses.len())
        .filter(|&i| statuses[i] == 303)
        .collect();
    eprintln!(
        "{what}: {} of {} answered 303, {} stored; answers {statuses:?}",
        confirmed.len(),
        statuses.len(),
        stored.len()
    );
    for (i, status) in statuses.iter().enumerate() {
        assert!(
            *status == 303 || *status == 409,
            "{what}: addition {i} answered {status}, neither done (303) nor retry (409)"
        );
    }
    let lost: Vec<usize> = confirmed.difference(stored).copied().collect();
    assert!(
        lost.is_empty(),
        "{what}: additions {lost:?} answered 303 but are not stored ({} of {} stored)",
        stored.len(),
        confirmed.len()
    );
    assert_eq!(
        stored, &confirmed,
        "{what}: only confirmed additions are stored"
    );
}

fn session_pair_forms(
    make: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Vec<Vec<(String, String)>> {
    (0..ADDITIONS)
        .map(|i| {
            make(i)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_notes_are_all_kept_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let sessions = [session(&p, "eleve").await, session(&p, "eleve").await];
    let forms = session_pair_forms(|i| {
        vec![
            ("op", "add".into()),
            ("text", format!("note parallèle {i:02}")),
        ]
    });
    let statuses = post_all(&p, &sessions, "/action/accueil/bloc-notes", forms).await;

    let mut c = p.client();
    c.login("eleve", "eleve").await;
    let export = c.get("/resource/accueil/bloc-notes/export").await;
    assert_eq!(export.status, 200, "{}", export.body);
    let notes: Vec<serde_json::Value> = serde_json::from_str(&export.body).unwrap();
    let stored: BTreeSet<usize> = notes
        .iter()
        .filter_map(|n| {
            n["text"]
                .as_str()?
                .strip_prefix("note parallèle ")?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(notes.len(), stored.len(), "no note twice, no stray note");
    let ids: BTreeSet<u64> = notes.iter().map(|n| n["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), notes.len(), "each note has its own id");
    check("notes", &statuses, &stored);
    // The page agrees with the export.
    let page = c.get("/page/accueil/bloc-notes?state=maximized").await.body;
    assert_eq!(page.matches(r#"class="note-text""#).count(), stored.len());
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_links_are_all_kept_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let sessions = [session(&p, "eleve").await, session(&p, "eleve").await];
    let forms = session_pair_forms(|i| {
        vec![
            ("op", "add".into()),
            ("title", format!("Lien {i:02}")),
            ("url", format!("https://lien{i:02}.example.org/")),
        ]
    });
    let statuses = post_all(&p, &sessions, "/action/outils/liens", forms).await;

    let mut c = p.client();
    c.login("eleve", "eleve").await;
    let page = c.get("/page/outils").await;
    assert_eq!(page.status, 200);
    let stored: BTreeSet<usize> = (0..ADDITIONS)
        .filter(|i| {
            page.body
                .contains(&format!(r#"href="https://lien{i:02}.example.org/""#))
        })
        .collect();
    assert_eq!(
        page.body.matches(r#"href="https://lien"#).count(),
        stored.len(),
        "no link twice, no stray link"
    );
    check("links", &statuses, &stored);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_address_book_additions_are_all_kept_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let sessions = [session(&p, "eleve").await, session(&p, "eleve").await];
    let forms = session_pair_forms(|i| {
        vec![
            ("op", "carnet".into()),
            ("uid", format!("camarade{:02}", i + 1)),
        ]
    });
    let statuses = post_all(&p, &sessions, "/action/annuaire/annuaire", forms).await;

    let mut c = p.client();
    c.login("eleve", "eleve").await;
    let page = c.get("/page/annuaire/annuaire?state=maximized").await;
    assert_eq!(page.status, 200);
    let carnet = page
        .body
        .split(r#"<ul class="annuaire-carnet">"#)
        .nth(1)
        .map(|rest| rest.split("</ul>").next().unwrap_or_default())
        .unwrap_or_default();
    let stored: BTreeSet<usize> = (0..ADDITIONS)
        .filter(|i| carnet.contains(&format!("<li>Camarade {:02} ", i + 1)))
        .collect();
    assert_eq!(
        carnet.matches("<li>").count(),
        stored.len(),
        "nobody twice, nobody else"
    );
    check("address book", &statuses, &stored);
    p.stop().await;
}
