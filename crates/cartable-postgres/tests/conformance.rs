//! The storage conformance suite of cartable-testkit on PostgreSQL, on one node and on
//! two nodes sharing a database.

mod support;

use std::sync::Arc;

use cartable_socle::{Session, SessionStore, SocleError, Storage, Version};
use cartable_testkit::conformance;
use support::TestSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_storage_conformance_suite() {
    let Some(schema) = TestSchema::new("passes_the_storage_conformance_suite").await else {
        return;
    };
    let storage = Arc::new(schema.storage().await);
    conformance::check_storage(storage.clone(), storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_with_every_check_running_at_once() {
    let Some(schema) = TestSchema::new("passes_with_every_check_running_at_once").await else {
        return;
    };
    let store = Arc::new(schema.storage().await);
    let s: Arc<dyn Storage> = store.clone();
    let sessions: Arc<dyn SessionStore> = store;
    tokio::join!(
        conformance::check_preferences(&*s),
        conformance::check_layouts(&*s),
        conformance::check_data(&*s),
        conformance::check_data_keys(&*s),
        conformance::check_large_values(&*s),
        conformance::check_delete_user(&*s, &*sessions),
        conformance::check_versioned_preferences(&*s),
        conformance::check_versioned_layouts(&*s),
        conformance::check_versioned_data(&*s),
        conformance::check_concurrent_writers(Arc::clone(&s)),
        conformance::check_sessions(&*sessions),
    );
}

/// Two portal nodes (two storages, two pools) on one database: what one writes the other
/// reads, and of two nodes writing the same version exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_database() {
    let Some(schema) = TestSchema::new("two_nodes_share_one_database").await else {
        return;
    };
    let (a, b) = tokio::join!(schema.storage(), schema.storage());
    let (a, b) = (Arc::new(a), Arc::new(b));

    let session = Session::new(
        Some("lmartin".into()),
        "fr",
        std::time::Duration::from_secs(60),
    );
    a.save_session(&session).await.unwrap();
    assert_eq!(b.session(&session.id).await.unwrap(), Some(session.clone()));
    b.delete_sessions_of("lmartin").await.unwrap();
    assert_eq!(a.session(&session.id).await.unwrap(), None);

    for round in 0..10 {
        let start = a.layout_versioned("lmartin").await.unwrap().version;
        let (left, right) = (Arc::clone(&a), Arc::clone(&b));
        let one =
            tokio::spawn(async move { left.set_layout_if("lmartin", "[\"a\"]", start).await });
        let two =
            tokio::spawn(async move { right.set_layout_if("lmartin", "[\"b\"]", start).await });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(SocleError::Conflict { .. })))
            .count();
        assert_eq!((wins, conflicts), (1, 1), "round {round}: {results:?}");
        let stored = b.layout_versioned("lmartin").await.unwrap();
        let winner = results.iter().find_map(|r| r.as_ref().ok()).copied();
        assert_eq!(Some(stored.version), winner, "round {round}");
        assert_ne!(stored.version, Version::NEW);
    }
}
