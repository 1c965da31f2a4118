//! Without any directory server: a port that refuses connections and one that accepts them
//! and never answers both give `SocleError::Unavailable` within the timeout, never a hang
//! or a panic.

use std::time::{Duration, Instant};

use cartable_ldap::{LdapConfig, LdapDirectory};
use cartable_socle::{AuthError, Directory, PersonQuery, SocleError};
use tokio::net::TcpListener;

fn config(url: String) -> LdapConfig {
    let mut config = LdapConfig::new(url, "ou=people,dc=lycee-hugo,dc=fr");
    config.bind_dn = "cn=cartable,ou=services,dc=lycee-hugo,dc=fr".into();
    config.bind_password = "secret".into();
    config.timeout_ms = 300;
    config
}

fn unavailable(err: &SocleError) -> bool {
    matches!(
        err,
        SocleError::Unavailable {
            backend: "ldap directory",
            ..
        }
    )
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    // Accept connections and hold them without a word.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = LdapDirectory::new(config(url)).unwrap();
    let limit = Duration::from_millis(300) * 3;

    let started = Instant::now();
    let err = dir.person("lmartin").await.unwrap_err();
    assert!(unavailable(&err), "{err:?}");
    assert!(err.to_string().contains("300 ms"), "{err}");
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());

    let started = Instant::now();
    let err = dir.authenticate("lmartin", "pw").await.unwrap_err();
    assert!(
        matches!(&err, AuthError::Backend(e) if unavailable(e)),
        "{err:?}"
    );
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());

    // Many callers at once: each gives up at its deadline, none waits for the others.
    let started = Instant::now();
    let query = PersonQuery::default();
    let calls = (0..20).map(|_| dir.search(&query));
    for result in futures::future::join_all(calls).await {
        assert!(unavailable(&result.unwrap_err()));
    }
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    holder.abort();
}

#[tokio::test]
async fn a_closed_port_fails_at_once() {
    // Bind then drop: the port is free and refuses connections.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = LdapDirectory::new(config(format!("ldap://127.0.0.1:{port}"))).unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        let err = dir.person("lmartin").await.unwrap_err();
        assert!(unavailable(&err), "{err:?}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
    }
    assert!(started.elapsed() < Duration::from_millis(300) * 5);
    assert!(dir.check().await.is_err());
    assert_eq!(dir.connections_opened(), 0);
}
