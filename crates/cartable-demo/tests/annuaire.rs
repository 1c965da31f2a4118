//! The lycée example's directory fixture loads, its demo accounts log in, and the demo
//! portlets read it.
//!
//! Password checks are argon2id: slow-ish in debug builds (a fraction of a second each),
//! so all logins are checked in one test, concurrently.

use std::sync::Arc;

use cartable_ldif::LdifDirectory;
use cartable_profil::MyProfile;
use cartable_socle::{AuthError, Directory, PersonQuery, Profile};
use cartable_testkit::TestKit;

const ANNUAIRE: &str = include_str!("../../../examples/lycee/annuaire.ldif");

fn directory() -> LdifDirectory {
    LdifDirectory::parse(ANNUAIRE).expect("examples/lycee/annuaire.ldif parses")
}

#[test]
fn the_fixture_loads_from_its_file() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lycee/annuaire.ldif");
    let dir = LdifDirectory::from_file(&path).unwrap();
    assert_eq!(dir.len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_accounts_log_in() {
    let dir = Arc::new(directory());
    let accounts = [
        ("eleve", "Léa Martin", vec![Profile::Eleve]),
        ("enseignant", "Paul Durand", vec![Profile::Enseignant]),
        ("parent", "Sophie Martin", vec![Profile::Parent]),
        (
            "personnel",
            "Nadia Benali",
            vec![Profile::Personnel, Profile::Admin],
        ),
    ];
    let mut checks = Vec::new();
    for (login, name, profiles) in accounts {
        let dir = dir.clone();
        checks.push(tokio::spawn(async move {
            let person = dir
                .authenticate(login, login)
                .await
                .unwrap_or_else(|e| panic!("{login} cannot log in: {e}"));
            assert_eq!(person.id, login);
            assert_eq!(person.display_name, name);
            assert_eq!(person.profiles, profiles);
            assert!(person.attribute("userPassword").is_none());
            assert!(matches!(
                dir.authenticate(login, "wrong").await,
                Err(AuthError::InvalidCredentials)
            ));
        }));
    }
    // People without a password cannot log in.
    let dir2 = dir.clone();
    checks.push(tokio::spawn(async move {
        assert!(matches!(
            dir2.authenticate("zlhote", "zlhote").await,
            Err(AuthError::InvalidCredentials)
        ));
    }));
    for check in checks {
        check.await.unwrap();
    }
}

#[tokio::test]
async fn the_fixture_has_what_the_demo_needs() {
    let dir = directory();
    let lea = dir.person("eleve").await.unwrap().unwrap();
    assert_eq!(lea.attribute("ENTEleveClasses"), Some("2nde-3"));
    assert_eq!(lea.attribute("ENTPersonStructRattach"), Some("0750001A"));
    let sophie = dir.person("parent").await.unwrap().unwrap();
    assert_eq!(sophie.attribute("ENTAuxPersRelEleveEleve"), Some("eleve"));
    let paul = dir.person("enseignant").await.unwrap().unwrap();
    assert!(paul.attribute("telephoneNumber").is_some());

    let zoe = dir
        .search(&PersonQuery {
            name: Some("zoe l'hote".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(zoe.len(), 1);
    assert_eq!(zoe[0].display_name, "Zoé L'Hôte");

    let class = dir
        .search(&PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(class.len(), 2);
    let cumulative = dir
        .search(&PersonQuery {
            profile: Some(Profile::Parent),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        cumulative.len(),
        2,
        "Sophie Martin and Hélène Moreau-Lefèvre"
    );
}

#[tokio::test]
async fn the_profile_portlet_reads_the_fixture() {
    let dir = Arc::new(directory());
    let sophie = dir.person("parent").await.unwrap().unwrap();
    let kit = TestKit::new(Arc::new(MyProfile::new()))
        .user(sophie)
        .with_directory(dir.clone());
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    let text = out.text();
    assert!(text.contains("Enfants scolarisés Léa Martin"), "{text}");
    assert!(
        text.contains("Courriel sophie.martin@example.org"),
        "{text}"
    );

    let zoe = dir.person("zlhote").await.unwrap().unwrap();
    let out = kit.user(zoe).render().await.unwrap();
    assert!(out.html().contains("Zoé L&#39;Hôte"), "{}", out.html());
    assert!(out.text().contains("Classe 2nde-3"));
}
