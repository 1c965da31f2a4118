//! The conformance suites: identity ([`check_directory`]), storage ([`check_storage`],
//! see the `check_*` functions below for its parts) and notifications
//! ([`check_notifier`], [`check_shared_notifier`]).
//!
//! The identity conformance suite: one set of checks every [`Directory`] backend must
//! pass when loaded with the lycée fixture ([`LYCEE_FIXTURE`], 200+ people of a lycée
//! with accents, apostrophes and LDAP metacharacters in names).
//!
//! A backend author loads the fixture into her backend (an LDIF import for an LDAP
//! server, `cartable_ldif::LdifDirectory::parse` for the embedded one) and calls
//! [`check_directory`] from a test; it panics with a message naming the failed check.
//!
//! ```no_run
//! # async fn run() {
//! let dir = cartable_ldif::LdifDirectory::parse(cartable_testkit::conformance::LYCEE_FIXTURE).unwrap();
//! cartable_testkit::conformance::check_directory(&dir).await;
//! # }
//! ```

use cartable_socle::{AuthError, Directory, Person, PersonQuery, Profile};

mod notify;
mod storage;

pub use notify::{check_notifier, check_shared_notifier};

pub use storage::{
    MAX_DATA_KEY_LEN, check_concurrent_writers, check_data, check_data_keys, check_delete_user,
    check_large_values, check_layouts, check_preferences, check_sessions, check_storage,
    check_versioned_data, check_versioned_layouts, check_versioned_preferences,
};

/// The lycée fixture (LDIF, `{ARGON2}` passwords `pw-<uid>`).
pub const LYCEE_FIXTURE: &str = include_str!("../../../tests/fixtures/lycee.ldif");

fn names(people: &[Person]) -> Vec<&str> {
    people.iter().map(|p| p.id.as_str()).collect()
}

async fn search(dir: &dyn Directory, query: PersonQuery) -> Vec<Person> {
    dir.search(&query)
        .await
        .unwrap_or_else(|e| panic!("search {query:?} failed: {e}"))
}

fn by_name(name: &str) -> PersonQuery {
    PersonQuery {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// Run every check against a directory loaded with [`LYCEE_FIXTURE`].
pub async fn check_directory(dir: &dyn Directory) {
    // Authentication.
    let lea = dir
        .authenticate("lmartin", "pw-lmartin")
        .await
        .unwrap_or_else(|e| panic!("lmartin must log in: {e}"));
    assert_eq!(lea.id, "lmartin");
    assert_eq!(lea.display_name, "Léa Martin");
    assert_eq!(lea.profiles, [Profile::Eleve], "National_ELV is élève");
    assert_eq!(lea.attribute("ENTEleveClasses"), Some("2nde-3"));
    assert_eq!(
        lea.attribute("mail"),
        Some("lea.martin@lycee-hugo.example.org")
    );
    assert!(
        !lea.attributes
            .keys()
            .any(|k| k.eq_ignore_ascii_case("userPassword")),
        "password hashes are never exposed"
    );
    let again = dir
        .authenticate("LMartin", "pw-lmartin")
        .await
        .expect("logins are case-insensitive, as LDAP uids");
    assert_eq!(again.id, "lmartin");
    for (login, password, why) in [
        ("lmartin", "wrong", "wrong password"),
        ("lmartin", "", "empty password (never an anonymous bind)"),
        ("nobody", "pw-nobody", "unknown login"),
        ("*", "pw-lmartin", "wildcard login"),
        (
            "lmartin)(uid=*",
            "pw-lmartin",
            "filter injection in the login",
        ),
    ] {
        match dir.authenticate(login, password).await {
            Err(AuthError::InvalidCredentials) => {}
            other => panic!("{why}: expected InvalidCredentials, got {other:?}"),
        }
    }
    match dir.authenticate("parti", "pw-parti").await {
        Err(AuthError::AccountDisabled) => {}
        other => panic!("a disabled account with the right password: {other:?}"),
    }
    match dir.authenticate("parti", "wrong").await {
        Err(AuthError::InvalidCredentials) => {}
        other => panic!("a disabled account with a wrong password tells nothing: {other:?}"),
    }

    // Lookup.
    let paul = dir
        .person("pdurand")
        .await
        .expect("lookup")
        .expect("pdurand exists");
    assert_eq!(paul.profiles, [Profile::Enseignant]);
    assert_eq!(paul.attribute("telephoneNumber"), Some("+33 1 23 45 67 89"));
    let nadia = dir
        .person("nbenali")
        .await
        .expect("lookup")
        .expect("nbenali");
    assert!(
        nadia.has_profile(&Profile::Personnel) && nadia.has_profile(&Profile::Admin),
        "cumulative profiles: {:?}",
        nadia.profiles
    );
    let sophie = dir
        .person("smartin")
        .await
        .expect("lookup")
        .expect("smartin");
    assert_eq!(sophie.profiles, [Profile::Parent]);
    assert!(
        sophie
            .attributes
            .get("ENTAuxPersRelEleveEleve")
            .is_some_and(|v| v.iter().any(|c| c == "lmartin")),
        "parents are linked to their children"
    );
    for missing in ["nobody", "*", "lmartin*", ""] {
        assert!(
            dir.person(missing).await.expect("lookup").is_none(),
            "person({missing:?}) must be None"
        );
    }

    // Search.
    let martins = search(dir, by_name("martin")).await;
    let ids = names(&martins);
    assert!(
        ids.contains(&"lmartin") && ids.contains(&"smartin"),
        "{ids:?}"
    );
    assert!(
        martins
            .iter()
            .all(|p| p.display_name.to_lowercase().contains("martin")),
        "name search is a substring match: {ids:?}"
    );
    let sorted: Vec<_> = martins.iter().map(|p| p.display_name.clone()).collect();
    let mut expected = sorted.clone();
    expected.sort_by_key(|n| n.to_lowercase());
    assert_eq!(sorted, expected, "results sorted by display name");
    let apostrophe = search(dir, by_name("L'Hôte")).await;
    assert_eq!(names(&apostrophe), ["zlhote"], "apostrophes and accents");

    let teachers = search(
        dir,
        PersonQuery {
            profile: Some(Profile::Enseignant),
            limit: 500,
            ..Default::default()
        },
    )
    .await;
    assert!(teachers.len() >= 20, "{} teachers", teachers.len());
    assert!(teachers.iter().all(|p| p.has_profile(&Profile::Enseignant)));
    assert!(names(&teachers).contains(&"pdurand"));

    let class = search(
        dir,
        PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
            limit: 500,
            ..Default::default()
        },
    )
    .await;
    let ids = names(&class);
    assert!(
        ids.contains(&"lmartin") && ids.contains(&"zlhote"),
        "{ids:?}"
    );
    assert!(
        class
            .iter()
            .all(|p| p.attribute("ENTEleveClasses") == Some("2nde-3")),
        "attribute search is an exact match"
    );
    let limited = search(
        dir,
        PersonQuery {
            profile: Some(Profile::Eleve),
            limit: 5,
            ..Default::default()
        },
    )
    .await;
    assert!(limited.len() <= 5, "limit honoured: {}", limited.len());

    // Metacharacters are matched literally and leak nothing.
    for (input, expected) in [
        ("*", vec!["meta"]),
        ("(Le)", vec!["meta"]),
        ("Gau\\lois", vec!["meta"]),
        ("*)(uid=*", vec![]),
        (")(|(cn=*", vec![]),
        ("\\2a", vec![]),
        ("\u{0}", vec![]),
    ] {
        let found = search(dir, by_name(input)).await;
        assert_eq!(names(&found), expected, "name search for {input:?}");
    }
    for (attr, value) in [
        ("uid", "*"),
        ("ENTEleveClasses", "*"),
        ("uid", "lmartin)(uid=*"),
    ] {
        let found = search(
            dir,
            PersonQuery {
                attribute: Some((attr.into(), value.into())),
                ..Default::default()
            },
        )
        .await;
        assert!(
            found.is_empty(),
            "{attr}={value:?} must match literally: {:?}",
            names(&found)
        );
    }
}
