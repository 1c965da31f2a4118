//! The change bus over LISTEN/NOTIFY between two nodes sharing one database.

mod support;

use std::time::Duration;

use cartable_postgres::PostgresBus;
use cartable_socle::{Change, ChangeBus};
use support::TestSchema;

async fn next(rx: &mut tokio::sync::broadcast::Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a change within 5 s")
        .expect("the bus is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_publishes_every_node_hears() {
    let Some(schema) = TestSchema::new("what_one_node_publishes_every_node_hears").await else {
        return;
    };
    let a = PostgresBus::start(&schema.database().await, &schema.config())
        .await
        .expect("bus A");
    let b = PostgresBus::start(&schema.database().await, &schema.config())
        .await
        .expect("bus B");
    assert!(a.channel().starts_with("cartable_changes_"));
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    let change = Change::Preferences {
        user: "léa".into(),
        window: "w1".into(),
        portlet: "notes".into(),
    };
    a.publish(change.clone()).await.expect("publish");
    assert_eq!(next(&mut on_b).await, change, "the other node");
    assert_eq!(next(&mut on_a).await, change, "the publishing node too");
    b.publish(Change::Settings).await.expect("publish");
    assert_eq!(next(&mut on_a).await, Change::Settings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_do_not_hear_each_other() {
    let Some(one) = TestSchema::new("schemas_do_not_hear_each_other_1").await else {
        return;
    };
    let Some(two) = TestSchema::new("schemas_do_not_hear_each_other_2").await else {
        return;
    };
    let a = PostgresBus::start(&one.database().await, &one.config())
        .await
        .expect("bus");
    let b = PostgresBus::start(&two.database().await, &two.config())
        .await
        .expect("bus");
    let mut on_b = b.subscribe();
    a.publish(Change::Everything).await.expect("publish");
    b.publish(Change::Settings).await.expect("publish");
    assert_eq!(
        next(&mut on_b).await,
        Change::Settings,
        "only its own schema's change"
    );
}
