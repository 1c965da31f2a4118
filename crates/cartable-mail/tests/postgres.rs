//! Two portal nodes on one PostgreSQL schema, each running a digest sender: every
//! opted-in user gets her digest once, with the items published on either node.
//!
//! The server is `CARTABLE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`,
//! trust authentication); `CARTABLE_TEST_PG=skip` skips this test. The schema is made for
//! the run and dropped after it, on failure too.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_db::testing::TestDatabase;
use cartable_mail::{DigestSender, MailConfig, TlsMode};
use cartable_socle::digest::{self, DigestOptIns, Marker};
use cartable_socle::{
    Audience, DataScope, DbStore, Notification, Notifier, Person, Profile, Storage,
};
use cartable_testkit::TestDirectory;
use support::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_send_each_digest_once() {
    const TEST: &str = "two_nodes_on_one_postgresql_send_each_digest_once";
    // A schema for this run, dropped with everything in it when the guard is dropped.
    let Some(first) = TestDatabase::postgres(TEST).await else {
        return;
    };
    let schema = first.schema.clone().expect("a PostgreSQL schema");
    let second = TestDatabase::postgres_in(TEST, schema)
        .await
        .expect("the same schema");
    let a = Arc::new(DbStore::open(first.db.clone()).await.unwrap());
    let b = Arc::new(DbStore::open(second.db.clone()).await.unwrap());
    // The schema is dropped once, by `first`.
    std::mem::forget(second);

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
    let sender = |storage: &Arc<DbStore>| {
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
