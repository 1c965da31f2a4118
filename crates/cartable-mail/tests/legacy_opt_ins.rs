//! Opt-ins stored in the news portlet's data (`nouveautes`, before the digest state was the
//! socle's; the annonces window still writes there) stay in force:
//! the socle reads that location as a fallback, the sender writes markers in its own
//! namespace, labels come from the integrator, and opting out clears both locations.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_mail::{DigestSender, MailConfig, TlsMode};
use cartable_socle::DbStore;
use cartable_socle::digest::{self, DigestOptIns, Marker};
use cartable_socle::{Audience, DataScope, Notification, Notifier, Person, Profile, Storage};
use cartable_testkit::TestDirectory;
use support::SmtpSink;

const HOUR: Duration = Duration::from_secs(3600);

fn lea() -> Person {
    Person {
        id: "lmartin".into(),
        display_name: "Léa Martin".into(),
        profiles: vec![Profile::Eleve],
        attributes: BTreeMap::from([(
            "mail".to_string(),
            vec!["lea.martin@lycee.example.org".to_string()],
        )]),
    }
}

/// Her opt-in as the news portlet writes it in its own data.
async fn legacy_opt_in(storage: &DbStore, user: &str, marker: &Marker) {
    let scope = DataScope::User(user.into());
    let at = digest::legacy::NAMESPACE;
    storage
        .set_data(at, &scope, digest::OPT_IN_KEY, digest::OPTED_IN)
        .await
        .unwrap();
    storage
        .set_data(at, &scope, digest::MARKER_KEY, &marker.to_json())
        .await
        .unwrap();
    storage
        .set_data(
            at,
            &DataScope::Shared,
            &digest::index_key(user),
            digest::OPTED_IN,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_opt_in_in_the_news_portlets_data_gets_its_digest() {
    let storage = Arc::new(DbStore::in_memory().await.unwrap());
    let sink = SmtpSink::start().await;
    let t0 = Marker::at(SystemTime::now()).last_time();
    legacy_opt_in(&storage, "lmartin", &Marker::at(t0)).await;
    let opt_ins = DigestOptIns::new(storage.clone());
    assert!(opt_ins.is_opted_in("lmartin").await.unwrap());
    assert_eq!(opt_ins.opted_in_users().await.unwrap(), ["lmartin"]);
    assert_eq!(
        opt_ins.marker("lmartin").await.unwrap().value,
        Some(Marker::at(t0))
    );

    storage
        .publish(Notification {
            source: "nouveautes".into(),
            title: "Réunion parents-professeurs".into(),
            link: None,
            audience: Audience::Everyone,
            at: t0 + Duration::from_secs(60),
        })
        .await
        .unwrap();
    let mut config = MailConfig::new("127.0.0.1", "ENT <ent@lycee.example.org>", 60);
    config.starttls = TlsMode::None;
    config.smtp_port = Some(sink.addr.port());
    let sender = DigestSender::new(
        config,
        "Lycée Victor Hugo",
        storage.clone(),
        Arc::new(TestDirectory::new(vec![lea()])),
        storage.clone(),
    )
    .unwrap()
    .with_source_labels([(cartable_annonces::ID, cartable_annonces::SOURCE_LABEL)]);
    let report = sender.run_once(t0 + HOUR * 2).await.unwrap();
    assert_eq!(report.sent, ["lmartin"], "{report:?}");
    let text = sink.to("lea.martin@lycee.example.org")[0].text();
    assert!(
        text.contains("- Réunion parents-professeurs\n  Annonce – "),
        "{text}"
    );

    // The marker moved to the socle's namespace; the later of the two counts.
    let marker = opt_ins.marker("lmartin").await.unwrap().value.unwrap();
    assert_eq!(marker, Marker::at(t0 + HOUR * 2));
    let stored = storage
        .data(
            digest::NAMESPACE,
            &DataScope::User("lmartin".into()),
            digest::MARKER_KEY,
        )
        .await
        .unwrap();
    assert_eq!(stored, Some(marker.to_json()));
    assert!(
        sender
            .run_once(t0 + HOUR * 4)
            .await
            .unwrap()
            .sent
            .is_empty()
    );

    // Opting out clears both locations.
    opt_ins.opt_out("lmartin").await.unwrap();
    assert!(!opt_ins.is_opted_in("lmartin").await.unwrap());
    assert!(opt_ins.opted_in_users().await.unwrap().is_empty());
    for namespace in [digest::NAMESPACE, digest::legacy::NAMESPACE] {
        let scope = DataScope::User("lmartin".into());
        for key in [digest::OPT_IN_KEY, digest::MARKER_KEY] {
            assert_eq!(
                storage.data(namespace, &scope, key).await.unwrap(),
                None,
                "{namespace} {key}"
            );
        }
    }
}

#[tokio::test]
async fn opting_in_again_keeps_the_marker_and_a_stale_index_key_is_forgotten() {
    let storage = Arc::new(DbStore::in_memory().await.unwrap());
    let opt_ins = DigestOptIns::new(storage.clone());
    let t0 = Marker::at(SystemTime::now()).last_time();
    opt_ins.opt_in("tom", t0).await.unwrap();
    opt_ins.opt_in("tom", t0 + HOUR).await.unwrap();
    assert_eq!(
        opt_ins.marker("tom").await.unwrap().value,
        Some(Marker::at(t0))
    );
    // A claim is a conditional write: a stale version is refused.
    let read = opt_ins.marker("tom").await.unwrap();
    let claim = Marker {
        last: Marker::at(t0).last,
        claimed_until: Some(Marker::at(t0 + HOUR).last),
    };
    let claimed = opt_ins
        .set_marker_if("tom", &claim, read.version)
        .await
        .unwrap();
    assert!(
        opt_ins
            .set_marker_if("tom", &claim, read.version)
            .await
            .is_err()
    );
    assert_ne!(claimed, read.version);

    // Her opt-in key gone, her index key stays until forgotten.
    storage
        .delete_data(
            digest::NAMESPACE,
            &DataScope::User("tom".into()),
            digest::OPT_IN_KEY,
        )
        .await
        .unwrap();
    assert!(!opt_ins.is_opted_in("tom").await.unwrap());
    assert_eq!(opt_ins.opted_in_users().await.unwrap(), ["tom"]);
    opt_ins.forget("tom").await.unwrap();
    assert!(opt_ins.opted_in_users().await.unwrap().is_empty());
}
