//! The notifier conformance suite: the checks every [`Notifier`] backend must pass, so
//! that the news a user reads does not depend on where they are stored.
//!
//! A backend author calls [`check_notifier`] on an empty notifier (it panics with a
//! message naming the failed check), and [`check_shared_notifier`] on two instances
//! sharing one store (two portal nodes on one database).
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! let store = Arc::new(cartable_socle::DbStore::in_memory().await.unwrap());
//! cartable_testkit::conformance::check_notifier(store).await;
//! # }
//! ```
//!
//! What is checked: every field comes back as published (unicode, quotes, the time to the
//! nanosecond); each kind of [`Audience`] reaches exactly its readers (a user id, a profile
//! and a group id that look alike never stand for one another, nor do ids shaped like JSON
//! or SQL); newest first by time whatever the publication order, the later published first
//! at the same time; the limit; items older than [`RECENT_MAX_AGE`] are not returned;
//! invalid items are refused with [`SocleError::Invalid`] and not stored; concurrent
//! publishers lose nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_socle::{
    Audience, Notification, Notifier, Profile, RECENT_MAX_AGE, Reader, SocleError,
};

/// One item of `source`, published at `at`.
fn item(source: &str, title: &str, audience: Audience, at: SystemTime) -> Notification {
    Notification {
        source: source.into(),
        title: title.into(),
        link: None,
        audience,
        at,
    }
}

async fn publish(n: &dyn Notifier, item: Notification) {
    let title = item.title.clone();
    n.publish(item)
        .await
        .unwrap_or_else(|e| panic!("publishing {title:?} failed: {e}"));
}

/// The titles of the items of `source` the reader gets (of at most `limit`), in order.
async fn titles(n: &dyn Notifier, reader: &Reader, limit: usize, source: &str) -> Vec<String> {
    n.recent(reader, limit)
        .await
        .unwrap_or_else(|e| panic!("recent for {reader:?} failed: {e}"))
        .into_iter()
        .filter(|i| i.source == source)
        .map(|i| i.title)
        .collect()
}

/// Run every check of this suite on an empty notifier.
pub async fn check_notifier(n: Arc<dyn Notifier>) {
    check_round_trip(&*n).await;
    check_audiences(&*n).await;
    check_order_and_limit(&*n).await;
    check_period(&*n).await;
    check_invalid_items(&*n).await;
    check_concurrent_publishers(Arc::clone(&n)).await;
}

/// What one instance publishes, another instance on the same store (another portal node)
/// reads, and the other way round; run on two instances of an empty store.
pub async fn check_shared_notifier(a: Arc<dyn Notifier>, b: Arc<dyn Notifier>) {
    let source = "conformance-shared";
    let now = SystemTime::now();
    let lea = Reader::new("shared-lea", [Profile::Eleve]).with_groups(["shared-club"]);
    publish(
        &*a,
        item(
            source,
            "publiée sur le nœud A",
            Audience::Groups(vec!["shared-club".into()]),
            now - Duration::from_secs(2),
        ),
    )
    .await;
    assert_eq!(
        titles(&*b, &lea, 10, source).await,
        ["publiée sur le nœud A"],
        "an item published on node A is read on node B"
    );
    publish(
        &*b,
        item(
            source,
            "publiée sur le nœud B",
            Audience::Users(vec!["shared-lea".into()]),
            now - Duration::from_secs(1),
        ),
    )
    .await;
    assert_eq!(
        titles(&*a, &lea, 10, source).await,
        ["publiée sur le nœud B", "publiée sur le nœud A"],
        "and the other way round, newest first"
    );
    assert!(
        titles(
            &*a,
            &Reader::new("shared-tom", [Profile::Eleve]),
            10,
            source
        )
        .await
        .is_empty(),
        "neither item is for tom"
    );
}

/// Every field comes back as published.
async fn check_round_trip(n: &dyn Notifier) {
    let source = "conformance-round-trip";
    let at = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .saturating_sub(3600),
        )
        + Duration::from_nanos(123_456_789);
    let sent = Notification {
        source: source.into(),
        title: r#"Sortie au musée d'Orsay : « Les <Nymphéas> » & "Quiz" – 日本 🎨 %_\"#.into(),
        link: Some("/page/accueil?x=1&y='2'".into()),
        audience: Audience::Users(vec!["rt-léa".into(), "rt-o'hara".into()]),
        at,
    };
    publish(n, sent.clone()).await;
    let got: Vec<Notification> = n
        .recent(&Reader::new("rt-o'hara", []), 10)
        .await
        .unwrap_or_else(|e| panic!("round trip: recent failed: {e}"))
        .into_iter()
        .filter(|i| i.source == source)
        .collect();
    assert_eq!(
        got,
        std::slice::from_ref(&sent),
        "round trip: every field, at to the nanosecond"
    );
    let mut without_link = sent;
    without_link.link = None;
    without_link.title = "sans lien".into();
    without_link.at += Duration::from_secs(1);
    publish(n, without_link.clone()).await;
    let got = n
        .recent(&Reader::new("rt-léa", []), 1)
        .await
        .unwrap_or_else(|e| panic!("round trip: recent failed: {e}"));
    assert_eq!(got, [without_link], "round trip: no link");
}

/// Each kind of audience reaches exactly its readers.
async fn check_audiences(n: &dyn Notifier) {
    let source = "conformance-audiences";
    let base = SystemTime::now() - Duration::from_secs(600);
    let cpe = Profile::Other("aud-cpe".into());
    let items = [
        ("tous", Audience::Everyone),
        ("léa", Audience::Users(vec!["aud-lea".into()])),
        (
            "profs et cpe",
            Audience::Profiles(vec![Profile::Enseignant, cpe.clone()]),
        ),
        ("élèves", Audience::Profiles(vec![Profile::Eleve])),
        (
            "club",
            Audience::Groups(vec!["aud-club".into(), "aud-chorale".into()]),
        ),
        // Ids that look like another kind, or like JSON or SQL, stand for nothing else.
        ("user nommé eleve", Audience::Users(vec!["eleve".into()])),
        ("groupe nommé eleve", Audience::Groups(vec!["eleve".into()])),
        (
            "groupe nommé aud-lea",
            Audience::Groups(vec!["aud-lea".into()]),
        ),
        (
            "injection",
            Audience::Users(vec![
                r#"aud-lea"]"#.into(),
                "' OR '1'='1".into(),
                r#"%"#.into(),
            ]),
        ),
        ("personne", Audience::Users(vec![])),
        ("aucun groupe", Audience::Groups(vec![])),
    ];
    for (i, (title, audience)) in items.iter().enumerate() {
        let at = base + Duration::from_secs(u64::try_from(i).unwrap_or(0));
        publish(n, item(source, title, audience.clone(), at)).await;
    }
    let cases: [(&str, Reader, &[&str]); 8] = [
        (
            "a pupil, no group",
            Reader::new("aud-lea", [Profile::Eleve]),
            &["élèves", "léa", "tous"],
        ),
        (
            "a pupil in a group",
            Reader::new("aud-lea", [Profile::Eleve]).with_groups(["aud-chorale"]),
            &["club", "élèves", "léa", "tous"],
        ),
        (
            "a teacher",
            Reader::new("aud-paul", [Profile::Enseignant]),
            &["profs et cpe", "tous"],
        ),
        (
            "an établissement profile",
            Reader::new("aud-nadia", [Profile::Personnel, cpe]),
            &["profs et cpe", "tous"],
        ),
        (
            "a user with no profile",
            Reader::new("aud-x", []),
            &["tous"],
        ),
        (
            "a user named like a profile",
            Reader::new("eleve", []),
            &["user nommé eleve", "tous"],
        ),
        (
            "a member of a group named like a profile",
            Reader::new("aud-y", []).with_groups(["eleve"]),
            &["groupe nommé eleve", "tous"],
        ),
        (
            "a user with a quote in her id",
            Reader::new("' OR '1'='1", []),
            &["injection", "tous"],
        ),
    ];
    for (what, reader, expected) in cases {
        assert_eq!(
            titles(n, &reader, 100, source).await,
            expected,
            "audiences: {what} ({reader:?})"
        );
    }
}

/// Newest first by time, the later published first at the same time; the limit.
async fn check_order_and_limit(n: &dyn Notifier) {
    let source = "conformance-order";
    let reader = Reader::new("order-lea", []);
    let to_her = || Audience::Users(vec!["order-lea".into()]);
    let base = SystemTime::now() - Duration::from_secs(3000);
    // Published out of time order.
    for (title, minutes) in [("b", 20), ("a", 10), ("d", 40), ("c", 30)] {
        publish(
            n,
            item(
                source,
                title,
                to_her(),
                base + Duration::from_secs(minutes * 60),
            ),
        )
        .await;
    }
    let same = base + Duration::from_secs(50 * 60);
    for title in ["e1", "e2", "e3"] {
        publish(n, item(source, title, to_her(), same)).await;
    }
    assert_eq!(
        titles(n, &reader, 100, source).await,
        ["e3", "e2", "e1", "d", "c", "b", "a"],
        "order: newest first by time, then the later published first"
    );
    assert_eq!(
        titles(n, &reader, 2, source).await,
        ["e3", "e2"],
        "limit: the newest"
    );
    assert!(
        n.recent(&reader, 0)
            .await
            .unwrap_or_else(|e| panic!("limit 0: {e}"))
            .is_empty(),
        "limit 0: nothing"
    );
}

/// Items older than [`RECENT_MAX_AGE`] are not returned.
async fn check_period(n: &dyn Notifier) {
    let source = "conformance-period";
    let reader = Reader::new("period-lea", []);
    let to_her = || Audience::Users(vec!["period-lea".into()]);
    let now = SystemTime::now();
    let day = Duration::from_secs(24 * 3600);
    publish(
        n,
        item(source, "trop vieille", to_her(), now - RECENT_MAX_AGE - day),
    )
    .await;
    publish(
        n,
        item(source, "ancienne", to_her(), now - RECENT_MAX_AGE + day),
    )
    .await;
    assert_eq!(
        titles(n, &reader, 10, source).await,
        ["ancienne"],
        "period: nothing older than RECENT_MAX_AGE"
    );
}

/// Invalid items are refused and not stored.
async fn check_invalid_items(n: &dyn Notifier) {
    let source = "conformance-invalid";
    let reader = Reader::new("invalid-lea", []);
    let good = item(
        source,
        "ok",
        Audience::Users(vec!["invalid-lea".into()]),
        SystemTime::now() - Duration::from_secs(5),
    );
    let mut bad = Vec::new();
    for title in ["", "  ", "deux\nlignes", "nul\0"] {
        let mut i = good.clone();
        i.title = title.into();
        bad.push(("title", i));
    }
    let mut i = good.clone();
    i.source = String::new();
    bad.push(("empty source", i));
    let mut i = good.clone();
    i.link = Some("/a\r\nSet-Cookie: x".into());
    bad.push(("link with a line break", i));
    let mut i = good.clone();
    i.audience = Audience::Users(vec!["invalid-lea".into(), String::new()]);
    bad.push(("empty audience id", i));
    let mut i = good.clone();
    i.title = "x".repeat(100_000);
    bad.push(("100 000-character title", i));
    for (what, i) in bad {
        match n.publish(i).await {
            Err(SocleError::Invalid(_)) => {}
            other => panic!("invalid items: {what} must be refused as invalid, got {other:?}"),
        }
    }
    assert!(
        titles(n, &reader, 10, source).await.is_empty(),
        "invalid items: nothing stored"
    );
    publish(n, good).await;
    assert_eq!(titles(n, &reader, 10, source).await, ["ok"]);
}

/// Publishers on several tasks at once lose nothing.
async fn check_concurrent_publishers(n: Arc<dyn Notifier>) {
    let source = "conformance-concurrent";
    let reader = Reader::new("concurrent-lea", []);
    let now = SystemTime::now() - Duration::from_secs(60);
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let n = Arc::clone(&n);
            tokio::spawn(async move {
                for i in 0..10 {
                    publish(
                        &*n,
                        item(
                            source,
                            &format!("{t}-{i}"),
                            Audience::Users(vec!["concurrent-lea".into()]),
                            now,
                        ),
                    )
                    .await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("concurrent publishers: a task failed: {e}"));
    }
    let mut got = titles(&*n, &reader, 100, source).await;
    assert_eq!(got.len(), 40, "concurrent publishers: {got:?}");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 40, "concurrent publishers: no duplicate");
}

#[cfg(test)]
mod tests {
    use cartable_socle::DbStore;
    use cartable_socle::MemoryNotifier;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_notifier_passes() {
        check_notifier(Arc::new(MemoryNotifier::default())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_in_memory_passes() {
        check_notifier(Arc::new(
            DbStore::in_memory().await.expect("in-memory SQLite"),
        ))
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_sqlite_nodes_on_one_file_share_notifications() {
        let dir = std::env::temp_dir().join(format!(
            "cartable-notifier-conformance-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let path = dir.join("cartable.db");
        let a = DbStore::sqlite(&path).await.expect("SQLite file");
        let b = DbStore::sqlite(&path)
            .await
            .expect("SQLite file, second connection");
        check_shared_notifier(Arc::new(a), Arc::new(b)).await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
