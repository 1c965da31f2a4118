//! The people fixture slapd serves (tests/fixtures/lycee.ldif) is also a valid file for the
//! embedded `LdifDirectory`, with the entries the conformance tests rely on.

use std::path::{Path, PathBuf};

use cartable_ldif::LdifDirectory;
use cartable_socle::{AuthError, Directory, PersonQuery, Profile};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lycee.ldif")
}

#[tokio::test]
async fn lycee_fixture_parses_with_the_expected_people() {
    let dir = LdifDirectory::from_file(&fixture()).expect("the fixture parses");
    assert!(dir.len() >= 200, "{} people", dir.len());

    let lea = dir.person("lmartin").await.unwrap().expect("lmartin");
    assert_eq!(lea.display_name, "Léa Martin");
    assert_eq!(lea.attribute("givenName"), Some("Léa"));
    assert_eq!(lea.attribute("sn"), Some("Martin"));
    assert_eq!(lea.profiles, [Profile::Eleve]);
    assert_eq!(lea.attribute("ENTEleveClasses"), Some("2nde-3"));
    assert_eq!(lea.attribute("ENTPersonStructRattach"), Some("0750001A"));
    assert_eq!(
        lea.attribute("mail"),
        Some("lea.martin@lycee-hugo.example.org")
    );

    let zoe = dir.person("zlhote").await.unwrap().expect("zlhote");
    assert_eq!(zoe.display_name, "Zoé L'Hôte");
    assert_eq!(zoe.attribute("ENTEleveClasses"), Some("2nde-3"));

    let paul = dir.person("pdurand").await.unwrap().expect("pdurand");
    assert_eq!(paul.display_name, "Paul Durand");
    assert_eq!(paul.profiles, [Profile::Enseignant]);
    assert_eq!(paul.attribute("telephoneNumber"), Some("+33 1 23 45 67 89"));

    let sophie = dir.person("smartin").await.unwrap().expect("smartin");
    assert_eq!(sophie.display_name, "Sophie Martin");
    assert_eq!(sophie.profiles, [Profile::Parent]);
    assert_eq!(sophie.attribute("ENTAuxPersRelEleveEleve"), Some("lmartin"));

    let nadia = dir.person("nbenali").await.unwrap().expect("nbenali");
    assert_eq!(nadia.display_name, "Nadia Benali");
    assert_eq!(nadia.profiles, [Profile::Personnel, Profile::Admin]);

    let meta = dir.person("meta").await.unwrap().expect("meta");
    assert_eq!(meta.display_name, "Ast*rix (Le) Gau\\lois");
    assert_eq!(meta.profiles, [Profile::Personnel]);

    let parti = dir.person("parti").await.unwrap().expect("parti");
    assert_eq!(parti.display_name, "Jean Parti");
    assert_eq!(parti.attribute("cartableAccountDisabled"), Some("TRUE"));

    // Passwords are "pw-" + uid.
    assert_eq!(
        dir.authenticate("lmartin", "pw-lmartin").await.unwrap().id,
        "lmartin"
    );
    assert!(matches!(
        dir.authenticate("parti", "pw-parti").await,
        Err(AuthError::AccountDisabled)
    ));

    // The whole lycée: 150 pupils in 10 classes of 15, 25 teachers, every pupil has a parent.
    let everyone = dir
        .search(&PersonQuery {
            limit: 500,
            ..PersonQuery::default()
        })
        .await
        .unwrap();
    let with = |p: Profile| everyone.iter().filter(|x| x.has_profile(&p)).count();
    assert_eq!(with(Profile::Eleve), 150);
    assert_eq!(with(Profile::Enseignant), 25);
    assert!(with(Profile::Personnel) >= 10);
    let class = dir
        .search(&PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
            limit: 500,
            ..PersonQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(class.len(), 15);
    for pupil in everyone.iter().filter(|p| p.has_profile(&Profile::Eleve)) {
        assert!(
            everyone.iter().any(|parent| parent
                .attributes
                .get("ENTAuxPersRelEleveEleve")
                .is_some_and(|kids| kids.contains(&pupil.id))),
            "{} has no parent",
            pupil.id
        );
    }
}
