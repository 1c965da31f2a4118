//! The notifier conformance suite of cartable-testkit on PostgreSQL, on one node and on
//! two nodes sharing a schema.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_socle::{Audience, Notification, Notifier, RECENT_MAX_AGE, Reader};
use cartable_testkit::conformance;
use support::TestSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_notifier_conformance_suite() {
    let Some(schema) = TestSchema::new("passes_the_notifier_conformance_suite").await else {
        return;
    };
    conformance::check_notifier(Arc::new(schema.storage().await)).await;
}

/// Two portal nodes (two storages, two pools) on one schema: what one publishes the other
/// reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_notifications() {
    let Some(schema) = TestSchema::new("two_nodes_share_notifications").await else {
        return;
    };
    let (a, b) = tokio::join!(schema.storage(), schema.storage());
    conformance::check_shared_notifier(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test]
async fn old_notifications_are_purged() {
    let Some(schema) = TestSchema::new("old_notifications_are_purged").await else {
        return;
    };
    let storage = schema.storage().await;
    let now = SystemTime::now();
    for (title, at) in [
        ("vieille", now - RECENT_MAX_AGE - Duration::from_secs(60)),
        ("récente", now),
    ] {
        storage
            .publish(Notification {
                source: "test".into(),
                title: title.into(),
                link: None,
                audience: Audience::Everyone,
                at,
            })
            .await
            .unwrap();
    }
    assert_eq!(storage.purge_before(now - RECENT_MAX_AGE).await.unwrap(), 1);
    let left = storage.recent(&Reader::new("x", []), 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].title, "récente");
}
