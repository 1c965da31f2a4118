//! The recipient picker (`cartable::portlet::recipients`) over the real annuaire and
//! carnet d'adresses of the lycée demo:
//!
//! - through the test kit: what a pupil's address book shows of a teacher is what the
//!   annuaire lets a pupil see, without what the teacher hid, and follows her choice;
//!   a teacher may pick the parents of a class she teaches, a pupil may not;
//! - through the running demo portal: a group's manager finds people and a class's
//!   parents on `/compte/groupes/{id}` and adds them by ticking; a forged choice is
//!   refused with nothing changed.

mod common;

use std::path::Path;
use std::sync::Arc;

use cartable::annuaire::{Annuaire, hidden_key};
use cartable::carnet::Carnet;
use cartable::portlet::PortletData;
use cartable::portlet::recipients::RecipientKind;
use cartable::testing::{RenderOptions, TestKit};
use cartable::{EntConfig, socle::Directory};
use cartable_ldif::LdifDirectory;
use common::*;

fn demo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee")
}

async fn demo_directory() -> Arc<LdifDirectory> {
    Arc::new(LdifDirectory::from_file(&demo_root().join("annuaire.ldif")).expect("the demo LDIF"))
}

/// The carnet as `uid` of the demo directory, with the annuaire installed.
async fn kit_as(directory: &Arc<LdifDirectory>, uid: &str) -> TestKit {
    let person = directory.person(uid).await.unwrap().expect(uid);
    TestKit::new(Arc::new(Carnet::new()))
        .with_directory(directory.clone())
        .with_recipient_source(Arc::new(Annuaire::new()), [])
        .user(person)
}

#[tokio::test]
async fn the_carnet_shows_a_person_as_the_annuaire_lets_the_reader_see_her() {
    let directory = demo_directory().await;
    let eleve = kit_as(&directory, "eleve").await;
    eleve
        .action([("op", "add-person"), ("person", "enseignant")])
        .await
        .unwrap();
    let page = eleve.render().await.unwrap();
    page.assert_accessible();
    let text = page.text();
    assert!(text.contains("Paul Durand"), "{text}");
    assert!(
        text.contains("paul.durand@lycee-hugo.example.org"),
        "{text}"
    );
    assert!(text.contains("Professeur de mathématiques"), "{text}");
    assert!(
        !text.contains("+33 1 40 00 00 12"),
        "pupils see no telephone numbers (the annuaire's fields_eleve): {text}"
    );
    // He hides his e-mail address from the directory: gone from her book and export.
    PortletData::new(eleve.storage().clone(), "annuaire", "enseignant")
        .shared()
        .set_json(&hidden_key("enseignant"), &["mail"])
        .await
        .unwrap();
    let text = eleve.render().await.unwrap().text();
    assert!(
        text.contains("Paul Durand") && !text.contains("paul.durand@"),
        "{text}"
    );
    let export = eleve
        .resource("export", [("format", "vcard3")])
        .await
        .unwrap();
    let export = String::from_utf8_lossy(&export.body).into_owned();
    assert!(
        export.contains("Paul Durand") && !export.contains("paul.durand@"),
        "{export}"
    );
    // The staff's rules show his telephone to the secretariat, and the mail he hid to
    // nobody but administrators.
    let personnel = kit_as(&directory, "personnel").await;
    personnel
        .action([("op", "add-person"), ("person", "enseignant")])
        .await
        .unwrap();
    let text = personnel.render().await.unwrap().text();
    assert!(text.contains("+33 1 40 00 00 12"), "{text}");
}

#[tokio::test]
async fn a_teacher_picks_the_parents_of_her_class_and_a_pupil_may_not() {
    let directory = demo_directory().await;
    let prof = kit_as(&directory, "enseignant").await;
    let picker = prof.recipients().await.unwrap();
    let found = picker
        .find(prof.current_user(), "2nde-3", 20)
        .await
        .unwrap();
    let parents = found
        .iter()
        .find(|r| r.kind == RecipientKind::ClassParents)
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(parents.id, "parents:2nde-3");
    assert_eq!(parents.label, "Parents de la classe 2nde-3");
    let members = picker
        .members(prof.current_user(), "parents:2nde-3")
        .await
        .unwrap()
        .unwrap();
    assert!(members.contains(&"parent".to_string()), "{members:?}");
    // Not a class he teaches.
    assert_eq!(
        picker
            .members(prof.current_user(), "parents:Tle-1")
            .await
            .unwrap(),
        None
    );
    // People by name, with what he may see.
    let found = picker
        .find(prof.current_user(), "Martin", 20)
        .await
        .unwrap();
    let lea = found
        .iter()
        .find(|r| r.id == "user:eleve")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(lea.label, "Léa Martin");
    assert_eq!(
        lea.email.as_deref(),
        Some("lea.martin@lycee-hugo.example.org")
    );
    // A pupil: no class's parents, whatever she forges.
    let eleve = kit_as(&directory, "eleve").await;
    let picker = eleve.recipients().await.unwrap();
    let found = picker
        .find(eleve.current_user(), "2nde-3", 20)
        .await
        .unwrap();
    assert!(
        found.iter().all(|r| r.kind != RecipientKind::ClassParents),
        "{found:?}"
    );
    assert_eq!(
        picker
            .members(eleve.current_user(), "parents:2nde-3")
            .await
            .unwrap(),
        None
    );
    // The empty search lists nobody of the directory.
    assert!(
        picker
            .find(eleve.current_user(), "", 20)
            .await
            .unwrap()
            .iter()
            .all(|r| r.source != "annuaire")
    );
    // The carnet's search page offers the same people.
    let page = eleve
        .render_with(&RenderOptions::new().param("annuaire", "Durand"))
        .await
        .unwrap();
    page.assert_accessible();
    assert!(page.text().contains("Paul Durand"), "{}", page.text());
}

/// The demo portal on its own directory (`examples/lycee`).
async fn demo(data: &Path) -> TestPortal {
    let root = demo_root();
    let mut config = EntConfig::load(&root.join("cartable.toml")).expect("the demo configuration");
    config.portal.data_dir = data.to_path_buf();
    config.portal.directory = Some(root.join("annuaire.ldif"));
    let site = cartable_demo::site::DemoSite::start().await.unwrap();
    config.portal.cas.services.extend(site.cas_services());
    let portlets = site.all_portlets(&config.portal.base_path);
    let portal = TestPortal::start_config(config, portlets).await;
    site.set_portal(format!("{}/", portal.base).parse().unwrap());
    portal
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_manager_adds_members_with_the_picker() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let mut prof = p.client();
    prof.login("enseignant", "enseignant").await;
    let ends = {
        let now = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400 * 30);
        let g = cartable::socle::format_generalized_time(now);
        format!("{}-{}-{}", &g[0..4], &g[4..6], &g[6..8])
    };
    let r = prof
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Sortie au musée"),
                ("members", ""),
                ("ends", &ends),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let path = r.location().split('?').next().unwrap().to_string();
    assert!(path.contains("/compte/groupes/"), "{path}");
    let page = prof.get(&format!("{path}?chercher=2nde-3")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Parents de la classe 2nde-3"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"value="parents:2nde-3""#));
    let page = prof.get(&format!("{path}?chercher=Martin")).await;
    assert!(page.body.contains(r#"value="user:eleve""#), "{}", page.body);
    // Ticked: the class's parents and Léa.
    let r = prof
        .post_csrf(
            &path,
            &[
                ("op", "members"),
                ("pick.1", "parents:2nde-3"),
                ("pick.2", "user:eleve"),
                ("add_right", "reader"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = prof.get(&path).await;
    assert!(page.body.contains("Sophie Martin"), "{}", page.body);
    assert!(page.body.contains("Léa Martin"));
    // Forged: a class he does not teach, someone unknown. Refused, nothing changed.
    for forged in ["parents:Tle-1", "user:personne", "group:inconnu"] {
        let r = prof
            .post_csrf(
                &path,
                &[
                    ("op", "members"),
                    ("pick.1", forged),
                    ("add_right", "reader"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{forged}: {}", r.body);
        assert!(r.body.contains("Choix refusé"), "{forged}");
    }
    let page = prof.get(&path).await;
    assert!(page.body.contains("Sophie Martin") && page.body.contains("Léa Martin"));
    p.stop().await;
}
