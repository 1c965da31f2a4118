//! `LdapDirectory` against a real OpenLDAP slapd loaded with tests/fixtures/lycee.ldif.
//!
//! They need `CARTABLE_TEST_LDAP_URL` (scripts/test.sh starts slapd and sets it); without
//! it each test says loudly that it is skipped and passes.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use cartable_ldap::{LdapConfig, LdapDirectory, SchemaPreset};
use cartable_ldif::LdifDirectory;
use cartable_socle::{AuthError, Directory, Person, PersonQuery, Profile, SocleError};
use support::{Mode, Proxy, TestServer};

macro_rules! server {
    () => {
        match TestServer::from_env(module_path!()) {
            Some(server) => server,
            None => return,
        }
    };
}

fn directory(config: LdapConfig) -> LdapDirectory {
    LdapDirectory::new(config).expect("valid configuration")
}

fn ids(people: &[Person]) -> Vec<&str> {
    people.iter().map(|p| p.id.as_str()).collect()
}

fn by_name(name: &str) -> PersonQuery {
    PersonQuery {
        name: Some(name.into()),
        ..PersonQuery::default()
    }
}

fn is_unavailable(err: &SocleError) -> bool {
    matches!(
        err,
        SocleError::Unavailable {
            backend: "ldap directory",
            ..
        }
    )
}

fn auth_unavailable(err: &AuthError) -> bool {
    matches!(err, AuthError::Backend(e) if is_unavailable(e))
}

/// The identity conformance suite every `Directory` backend passes (cartable-testkit), on
/// slapd loaded with the same lycée fixture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_directory_passes_the_conformance_suite() {
    let server = server!();
    let dir = directory(server.config());
    cartable_testkit::conformance::check_directory(&dir).await;
}

#[tokio::test]
async fn authenticates_with_the_password_checked_by_slapd() {
    let server = server!();
    let dir = directory(server.config());
    dir.check().await.expect("the test directory is usable");

    let lea = dir
        .authenticate("lmartin", "pw-lmartin")
        .await
        .expect("login");
    assert_eq!(lea.id, "lmartin");
    assert_eq!(lea.display_name, "Léa Martin");
    assert_eq!(lea.profiles, [Profile::Eleve]);
    assert_eq!(lea.attribute("ENTEleveClasses"), Some("2nde-3"));
    assert_eq!(lea.attribute("ENTPersonStructRattach"), Some("0750001A"));
    assert_eq!(
        lea.attribute("mail"),
        Some("lea.martin@lycee-hugo.example.org")
    );
    assert_eq!(lea.attribute("givenName"), Some("Léa"));
    assert!(
        !lea.attributes
            .keys()
            .any(|k| k.eq_ignore_ascii_case("userPassword")),
        "never a password hash: {:?}",
        lea.attributes.keys()
    );

    // uid matches without regard to case, as in the LDIF directory.
    let again = dir
        .authenticate("LMartin", "pw-lmartin")
        .await
        .expect("login");
    assert_eq!(again.id, "lmartin");

    let nadia = dir.authenticate("nbenali", "pw-nbenali").await.unwrap();
    assert_eq!(nadia.profiles, [Profile::Personnel, Profile::Admin]);
    let meta = dir.authenticate("meta", "pw-meta").await.unwrap();
    assert_eq!(meta.display_name, "Ast*rix (Le) Gau\\lois");
}

#[tokio::test]
async fn refuses_wrong_passwords_and_unknown_logins_alike() {
    let server = server!();
    let dir = directory(server.config());
    for (login, password) in [
        ("lmartin", "pw-zlhote"),
        ("lmartin", "PW-LMARTIN"),
        ("lmartin", ""),
        ("nobody", "pw-nobody"),
        ("*", "pw-lmartin"),
        ("lmartin)(uid=*", "pw-lmartin"),
        ("*)(uid=*)(|(cn=*", "x"),
        ("lmart*", "pw-lmartin"),
        ("cartable", "cartable-service-pw"),
        ("", "pw-lmartin"),
    ] {
        let err = dir.authenticate(login, password).await.unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidCredentials),
            "{login:?}/{password:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn disabled_account_is_told_only_after_the_password() {
    let server = server!();
    let dir = directory(server.config());
    let err = dir.authenticate("parti", "pw-parti").await.unwrap_err();
    assert!(matches!(err, AuthError::AccountDisabled), "{err:?}");
    let err = dir.authenticate("parti", "wrong").await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn looks_people_up() {
    let server = server!();
    let dir = directory(server.config());
    let paul = dir.person("pdurand").await.unwrap().expect("pdurand");
    assert_eq!(paul.display_name, "Paul Durand");
    assert_eq!(paul.profiles, [Profile::Enseignant]);
    assert_eq!(paul.attribute("telephoneNumber"), Some("+33 1 23 45 67 89"));
    let sophie = dir.person("smartin").await.unwrap().expect("smartin");
    assert_eq!(sophie.profiles, [Profile::Parent]);
    assert_eq!(sophie.attribute("ENTAuxPersRelEleveEleve"), Some("lmartin"));
    let zoe = dir.person("zlhote").await.unwrap().expect("zlhote");
    assert_eq!(zoe.display_name, "Zoé L'Hôte");
    for missing in ["nobody", "*", "lmartin)(uid=*", "\\", ""] {
        assert_eq!(dir.person(missing).await.unwrap(), None, "{missing:?}");
    }
}

/// The same queries give the same people, in the same order, as the embedded directory
/// loaded from the same fixture.
#[tokio::test]
async fn searches_like_the_ldif_directory() {
    let server = server!();
    let dir = directory(server.config());
    let ldif = LdifDirectory::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lycee.ldif"),
    )
    .unwrap();
    let queries = [
        by_name("martin"),
        by_name("MARTIN"),
        by_name("L'Hôte"),
        by_name("Zoé"),
        by_name("(Le) Gau\\lois"),
        by_name("  durand "),
        PersonQuery {
            profile: Some(Profile::Eleve),
            limit: 500,
            ..PersonQuery::default()
        },
        PersonQuery {
            profile: Some(Profile::Admin),
            ..PersonQuery::default()
        },
        PersonQuery {
            profile: Some(Profile::Personnel),
            ..PersonQuery::default()
        },
        PersonQuery {
            name: Some("martin".into()),
            profile: Some(Profile::Parent),
            ..PersonQuery::default()
        },
        PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
            ..PersonQuery::default()
        },
        PersonQuery {
            attribute: Some(("ENTAuxPersRelEleveEleve".into(), "lmartin".into())),
            ..PersonQuery::default()
        },
        PersonQuery {
            profile: Some(Profile::Enseignant),
            attribute: Some(("ENTAuxEnsMatiereEnseignEtab".into(), "Mathématiques".into())),
            ..PersonQuery::default()
        },
        PersonQuery {
            limit: 500,
            ..PersonQuery::default()
        },
    ];
    for query in queries {
        let expected = ldif.search(&query).await.unwrap();
        let found = dir.search(&query).await.unwrap();
        assert!(!expected.is_empty(), "{query:?} finds nobody in the LDIF");
        assert_eq!(ids(&found), ids(&expected), "{query:?}");
        assert_eq!(found, expected, "{query:?}: same people, same attributes");
    }

    let class = dir
        .search(&PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
            ..PersonQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(class.len(), 15);
    assert!(ids(&class).contains(&"lmartin") && ids(&class).contains(&"zlhote"));
    let eleves = dir
        .search(&PersonQuery {
            profile: Some(Profile::Eleve),
            limit: 500,
            ..PersonQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(eleves.len(), 150);
}

#[tokio::test]
async fn metacharacters_are_matched_literally() {
    let server = server!();
    let dir = directory(server.config());
    for hostile in [
        "*)(uid=*)(|(cn=*",
        "*)(uid=*",
        ")(",
        "\\2a",
        "x\0y",
        "*)(objectClass=*",
    ] {
        let found = dir.search(&by_name(hostile)).await.unwrap();
        assert!(found.is_empty(), "{hostile:?} found {:?}", ids(&found));
        let found = dir
            .search(&PersonQuery {
                attribute: Some(("uid".into(), hostile.into())),
                ..PersonQuery::default()
            })
            .await
            .unwrap();
        assert!(found.is_empty(), "uid={hostile:?} found {:?}", ids(&found));
    }
    // The characters themselves are found where they really are: in meta's name only.
    for literal in [
        "*",
        "\\",
        "Ast*rix (Le)",
        "Gau\\lois",
        "(le) gau\\LOIS",
        "*rix (",
    ] {
        let found = dir.search(&by_name(literal)).await.unwrap();
        assert_eq!(ids(&found), ["meta"], "{literal:?}");
    }
    // A few pupils have a nickname in parentheses, e.g. "Léo (L.) Barbier".
    for literal in ["(", ")"] {
        let found = dir.search(&by_name(literal)).await.unwrap();
        assert!(found.len() > 1, "{literal:?}");
        assert!(ids(&found).contains(&"meta"), "{literal:?}");
        assert!(
            found.iter().all(|p| p.display_name.contains(literal)),
            "{literal:?}"
        );
    }
    for (attribute, value) in [
        ("uid", "*"),
        ("ENTEleveClasses", "2nde-3)(uid=*"),
        ("ENTEleveClasses", "2nde*"),
        ("ENTEleveClasses", "2nde-3\\"),
        ("ENTPersonProfils", "*"),
    ] {
        let found = dir
            .search(&PersonQuery {
                attribute: Some((attribute.into(), value.into())),
                ..PersonQuery::default()
            })
            .await
            .unwrap();
        assert!(
            found.is_empty(),
            "{attribute}={value:?} found {:?}",
            ids(&found)
        );
    }
    // An attribute name is never a way in: refused before any request.
    let err = dir
        .search(&PersonQuery {
            attribute: Some(("uid=*)(cn".into(), "x".into())),
            ..PersonQuery::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SocleError::Invalid(_)), "{err:?}");
    // Nor is the password attribute.
    let found = dir
        .search(&PersonQuery {
            attribute: Some(("userPassword".into(), "{ARGON2}*".into())),
            ..PersonQuery::default()
        })
        .await
        .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn limits_results() {
    let server = server!();
    let dir = directory(server.config());
    let count = |limit| {
        let dir = &dir;
        async move {
            dir.search(&PersonQuery {
                limit,
                ..PersonQuery::default()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(count(0).await.len(), 50, "0 means the default, 50");
    let seven = count(7).await;
    assert_eq!(seven.len(), 7);
    let mut sorted = seven.clone();
    sorted.sort_by_key(|p| p.display_name.to_lowercase());
    assert_eq!(
        ids(&seven),
        ids(&sorted),
        "sorted by display name (these have no accent first)"
    );
    let all = count(100_000).await;
    assert!(all.len() >= 200 && all.len() <= 500, "{}", all.len());
}

#[tokio::test]
async fn pool_serves_many_concurrent_calls_with_few_connections() {
    let server = server!();
    let proxy = Proxy::start(server.addr()).await;
    let mut config = server.config_for(&proxy.url());
    config.pool_size = 4;
    let dir = directory(config);
    let started = Instant::now();
    let tasks = (0..50).map(|i| {
        let dir = &dir;
        async move {
            let query = match i % 3 {
                0 => by_name("martin"),
                1 => PersonQuery {
                    attribute: Some(("ENTEleveClasses".into(), "2nde-3".into())),
                    ..PersonQuery::default()
                },
                _ => PersonQuery {
                    profile: Some(Profile::Enseignant),
                    ..PersonQuery::default()
                },
            };
            dir.search(&query).await
        }
    });
    let results = futures::future::join_all(tasks).await;
    for result in &results {
        assert!(!result.as_ref().expect("search").is_empty());
    }
    assert!(
        dir.connections_opened() <= 4,
        "opened {}",
        dir.connections_opened()
    );
    assert!(proxy.forwarded() <= 4, "forwarded {}", proxy.forwarded());
    assert!(dir.idle_connections() <= 4);
    // The connections are kept: later calls open none.
    let opened = dir.connections_opened();
    for _ in 0..10 {
        dir.person("lmartin").await.unwrap().unwrap();
    }
    assert_eq!(dir.connections_opened(), opened);
    eprintln!(
        "50 concurrent searches on {opened} connections in {:?}",
        started.elapsed()
    );
}

/// The server goes away (connections closed, new ones refused), then hangs (nothing
/// answers), then comes back: calls fail with `Unavailable` within the timeout, then work
/// again on the same `LdapDirectory`.
#[tokio::test]
async fn server_down_then_back() {
    let server = server!();
    let proxy = Proxy::start(server.addr()).await;
    let mut config = server.config_for(&proxy.url());
    config.timeout_ms = 800;
    config.pool_size = 2;
    let timeout = Duration::from_millis(800);
    let dir = directory(config);

    assert!(dir.person("lmartin").await.unwrap().is_some());
    dir.authenticate("lmartin", "pw-lmartin").await.unwrap();
    let opened_before = dir.connections_opened();

    // Down: every call fails fast.
    proxy.set(Mode::Cut);
    let started = Instant::now();
    let err = dir.person("lmartin").await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    let err = dir.search(&by_name("martin")).await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    let err = dir.authenticate("lmartin", "pw-lmartin").await.unwrap_err();
    assert!(auth_unavailable(&err), "{err:?}");
    assert!(dir.check().await.is_err());
    assert!(
        started.elapsed() < timeout * 4,
        "four failed calls took {:?}",
        started.elapsed()
    );

    // Hung: every call gives up at the timeout, not later.
    proxy.set(Mode::Hang);
    for call in 0..2 {
        let started = Instant::now();
        let err = if call == 0 {
            dir.person("lmartin").await.unwrap_err()
        } else {
            match dir.authenticate("lmartin", "pw-lmartin").await.unwrap_err() {
                AuthError::Backend(e) => e,
                other => panic!("{other:?}"),
            }
        };
        let elapsed = started.elapsed();
        assert!(is_unavailable(&err), "{err:?}");
        assert!(
            // At the deadline; the margin only absorbs a loaded machine's scheduling.
            elapsed < timeout * 2,
            "call {call} took {elapsed:?}"
        );
        assert!(
            err.to_string().contains("800 ms"),
            "the message says why: {err}"
        );
    }

    // Back: the same directory works again, on new connections.
    proxy.set(Mode::Up);
    let lea = dir.person("lmartin").await.unwrap().expect("lmartin");
    assert_eq!(lea.display_name, "Léa Martin");
    dir.authenticate("lmartin", "pw-lmartin").await.unwrap();
    assert!(!dir.search(&by_name("martin")).await.unwrap().is_empty());
    dir.check().await.unwrap();
    assert!(dir.connections_opened() > opened_before);
}

#[tokio::test]
async fn wrong_service_account_or_base_is_a_clear_error() {
    let server = server!();
    let mut config = server.config();
    config.bind_password = "not-the-password".into();
    let dir = directory(config);
    let err = dir.person("lmartin").await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("bind_password"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    let err = dir.authenticate("lmartin", "pw-lmartin").await.unwrap_err();
    assert!(auth_unavailable(&err), "{err:?}");

    let mut config = server.config();
    config.people_base = "ou=nowhere,dc=lycee-hugo,dc=fr".into();
    let dir = directory(config);
    let err = dir.check().await.unwrap_err();
    assert!(err.to_string().contains("noSuchObject"), "{err}");
}

#[tokio::test]
async fn supann_preset() {
    let server = server!();
    let mut config = server.config();
    config.schema = SchemaPreset::Supann;
    config.people_base = "ou=supann,dc=lycee-hugo,dc=fr".into();
    let dir = directory(config);
    let student = dir.authenticate("etudiant1", "pw-etudiant1").await.unwrap();
    assert_eq!(student.display_name, "Élise Fontaine");
    assert_eq!(
        student.profiles,
        [Profile::Eleve, Profile::Other("member".into())]
    );
    assert_eq!(
        student.attribute("supannEtablissement"),
        Some("{UAI}0751717J")
    );
    let find = |profile| {
        let dir = &dir;
        async move {
            dir.search(&PersonQuery {
                profile: Some(profile),
                ..PersonQuery::default()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(ids(&find(Profile::Enseignant).await), ["enseignant1"]);
    // employee (Karim Benoît, also faculty) and staff (Odile Marchand) are Personnel.
    assert_eq!(
        ids(&find(Profile::Personnel).await),
        ["enseignant1", "biatss1"]
    );
    // The ENT people are not SUPANN people.
    assert!(dir.person("lmartin").await.unwrap().is_none());
}

/// `ldaps://` and StartTLS, with the test CA given in `tls_ca_file`; without it the
/// server's certificate is refused (verification is always on).
#[tokio::test]
async fn tls_ldaps_and_starttls_verify_the_certificate() {
    let server = server!();
    let (Ok(ldaps), Ok(ca)) = (
        std::env::var("CARTABLE_TEST_LDAPS_URL"),
        std::env::var("CARTABLE_TEST_LDAP_CA_FILE"),
    ) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED tls test: the test directory runs without TLS (openssl missing?) ***"
        );
        return;
    };

    let mut config = server.config_for(&ldaps);
    config.tls_ca_file = Some(ca.clone().into());
    let dir = directory(config);
    dir.check().await.expect("ldaps with the test CA");
    let lea = dir.authenticate("lmartin", "pw-lmartin").await.unwrap();
    assert_eq!(lea.display_name, "Léa Martin");

    let mut config = server.config();
    config.starttls = true;
    config.tls_ca_file = Some(ca.into());
    let dir = directory(config);
    dir.check().await.expect("StartTLS with the test CA");
    dir.authenticate("pdurand", "pw-pdurand").await.unwrap();
    assert!(dir.person("zlhote").await.unwrap().is_some());

    // The system's CA store does not know the test CA.
    for config in [server.config_for(&ldaps), {
        let mut c = server.config();
        c.starttls = true;
        c
    }] {
        let dir = directory(config);
        let err = dir.person("lmartin").await.unwrap_err();
        assert!(is_unavailable(&err), "{err:?}");
        let message = err.to_string().to_lowercase();
        assert!(
            message.contains("certificate") || message.contains("issuer"),
            "{message}"
        );
        let err = dir.authenticate("lmartin", "pw-lmartin").await.unwrap_err();
        assert!(auth_unavailable(&err), "{err:?}");
    }
}
