//! Two portal nodes on one PostgreSQL schema, each running a digest sender: every
//! opted-in user gets her digest once, with the items published on either node.
//!
//! The server is `CARTABLE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! trust authentication); `CARTABLE_TEST_PG=skip` skips this test. The schema is made for
//! the run and dropped after it, on failure too.

mod support;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cartable_mail::{DigestSender, MailConfig, TlsMode};
use cartable_postgres::{PostgresConfig, PostgresStorage};
use cartable_socle::digest::{self, DigestOptIns, Marker};
use cartable_socle::{Audience, DataScope, Notification, Notifier, Person, Profile, Storage};
use cartable_testkit::TestDirectory;
use support::SmtpSink;

fn url() -> String {
    std::env::var("CARTABLE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema for this run, dropped with everything in it when the guard is dropped.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let name = self.0.clone();
        // Drop may run inside the test's runtime: clean up on a thread of its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let config = tokio_postgres::Config::from_str(&url()).map_err(|e| e.to_string())?;
                let (client, connection) = config
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!(r#"DROP SCHEMA IF EXISTS "{name}" CASCADE"#))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {done:?}", self.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_send_each_digest_once() {
    if std::env::var("CARTABLE_TEST_PG").is_ok_and(|v| v == "skip") {
        eprintln!("skipped (CARTABLE_TEST_PG=skip)");
        return;
    }
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The prefix of cartable-postgres's tests: their stale-schema cleanup covers it.
    let schema = Schema(format!(
        "cartable_test_{now_secs}_{}_mail",
        std::process::id()
    ));
    let mut config = PostgresConfig::new(url()).with_schema(&schema.0);
    config.pool_size = 4;
    let connect = || async {
        PostgresStorage::connect(config.clone())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {} is unreachable ({e}); start it, point \
                     CARTABLE_TEST_PG_URL to one, or set CARTABLE_TEST_PG=skip",
                    url()
                )
            })
    };
    let (a, b) = (Arc::new(connect().await), Arc::new(connect().await));

    let people: Vec<Person> = (0..8)
        .map(|i| Person {
            id: format!("eleve{i}"),
            display_name: format!("Élève {i}"),
            profiles: vec![if i % 2 == 0 {
                Profile::Eleve
            } else {
                Profile::Parent
            }],
            attributes: BTreeMap::from([(
                "mail".to_string(),
                vec![format!("eleve{i}@lycee.example.org")],
            )]),
        })
        .collect();
    let t0 = Marker::at(SystemTime::now()).last_time();
    for (i, p) in people.iter().enumerate() {
        if i % 3 == 0 {
            // Opted in in the news portlet's data (the socle's fallback location).
            let scope = DataScope::User(p.id.clone());
            let legacy = digest::legacy::NAMESPACE;
            a.set_data(legacy, &scope, digest::OPT_IN_KEY, digest::OPTED_IN)
                .await
                .unwrap();
            a.set_data(
                legacy,
                &scope,
                digest::MARKER_KEY,
                &Marker::at(t0).to_json(),
            )
            .await
            .unwrap();
            b.set_data(
                legacy,
                &DataScope::Shared,
                &digest::index_key(&p.id),
                digest::OPTED_IN,
            )
            .await
            .unwrap();
        } else {
            DigestOptIns::new(a.clone())
                .opt_in(&p.id, t0)
                .await
                .unwrap();
        }
    }
    // Published on node A for pupils, on node B for parents.
    for (node, title, profile) in [
        (&a, "Sortie au musée", Profile::Eleve),
        (&b, "Réunion des parents", Profile::Parent),
    ] {
        node.publish(Notification {
            source: "nouveautes".into(),
            title: title.into(),
            link: None,
            audience: Audience::Profiles(vec![profile]),
            at: t0 + Duration::from_secs(60),
        })
        .await
        .unwrap();
    }

    let sink = SmtpSink::start().await;
    let directory = Arc::new(TestDirectory::new(people.clone()));
    let sender = |storage: &Arc<PostgresStorage>| {
        let mut mail = MailConfig::new("127.0.0.1", "ENT <ent@lycee.example.org>", 60);
        mail.starttls = TlsMode::None;
        mail.smtp_port = Some(sink.addr.port());
        DigestSender::new(
            mail,
            "Lycée Victor Hugo",
            storage.clone(),
            directory.clone(),
            storage.clone(),
        )
        .unwrap()
    };
    let (sa, sb) = (sender(&a), sender(&b));
    let at = t0 + Duration::from_secs(2 * 3600);
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { sa.run_once(at).await }),
        tokio::spawn(async move { sb.run_once(at).await }),
    );
    let (ra, rb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
    assert_eq!(ra.sent.len() + rb.sent.len(), people.len(), "{ra:?} {rb:?}");
    assert_eq!(sink.messages().len(), people.len());
    for (i, p) in people.iter().enumerate() {
        let mails = sink.to(&format!("{}@lycee.example.org", p.id));
        assert_eq!(mails.len(), 1, "{}", p.id);
        let text = mails[0].text();
        let (mine, theirs) = if i % 2 == 0 {
            ("Sortie au musée", "Réunion des parents")
        } else {
            ("Réunion des parents", "Sortie au musée")
        };
        assert!(
            text.contains(mine) && !text.contains(theirs),
            "{}: {text}",
            p.id
        );
    }
}
