use cartable_db::testing::{self, TestDatabase};

use super::*;
use crate::{UpgradeSources, migrate};

async fn migrated(db: &Database) {
    migrate(db, &[&schema()], &UpgradeSources::new())
        .await
        .unwrap();
}

/// Another pool on the same database: another node of the établissement.
async fn another_pool(t: &TestDatabase, test: &str) -> (Database, Option<TestDatabase>) {
    match (&t.file, &t.schema) {
        (Some(file), _) => (Database::sqlite(file).await.unwrap(), None),
        (None, Some(schema)) => {
            let guard = TestDatabase::postgres_in(test, schema.clone())
                .await
                .unwrap();
            (guard.db.clone(), Some(guard))
        }
        (None, None) => panic!("a test database is a file or a schema"),
    }
}

fn day(d: &str) -> ReportQuery {
    ReportQuery {
        from: d.into(),
        to: d.into(),
        service: None,
    }
}

fn line(day: &str, service: &str, profile: &str, counts: [u64; 3], users: u64) -> Usage {
    Usage {
        day: day.into(),
        service: service.into(),
        profile: profile.into(),
        counts,
        users,
    }
}

#[tokio::test]
async fn counts_stay_in_memory_until_a_flush_adds_them() {
    for t in testing::both("indicators_memory").await {
        migrated(&t.db).await;
        let ind = Indicators::new(t.db.clone());
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "lea");
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "lea");
        ind.record("2027-01-15", "agenda", "eleve", Use::Action, "lea");
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "tom");
        ind.record("2027-01-15", "agenda", "enseignant", Use::Resource, "paul");
        ind.record("2027-01-16", "agenda", "eleve", Use::View, "lea");
        ind.record("2027-01-15", "signets", "eleve", Use::View, "");
        assert!(ind.report(&day("2027-01-15")).await.unwrap().is_empty());

        assert_eq!(ind.flush().await.unwrap(), 4);
        assert_eq!(
            ind.flush().await.unwrap(),
            0,
            "a flush takes what it writes"
        );
        assert_eq!(
            ind.report(&day("2027-01-15")).await.unwrap(),
            vec![
                line("2027-01-15", "agenda", "eleve", [3, 1, 0], 2),
                line("2027-01-15", "agenda", "enseignant", [0, 0, 1], 1),
                line("2027-01-15", "signets", "eleve", [1, 0, 0], 0),
            ],
            "{}",
            t.db.target()
        );
        let only = ReportQuery {
            from: "2027-01-01".into(),
            to: "2027-01-31".into(),
            service: Some("agenda".into()),
        };
        let month = ind.report(&only).await.unwrap();
        assert_eq!(month.len(), 3);
        assert_eq!(
            month[2],
            line("2027-01-16", "agenda", "eleve", [1, 0, 0], 1)
        );
        // Nothing of who did what is readable: the visitors are digests.
        let ids: Vec<(String,)> = sqlx::query_as("SELECT visitor FROM cartable_indicator_visitors")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|(v,)| v.len() == 32 && !v.contains("lea")));
        assert!(ind.report(&day("15/01/2027")).await.is_err());
    }
}

#[tokio::test]
async fn two_nodes_flushing_into_one_database_give_the_right_totals() {
    for t in testing::both("indicators_two_nodes").await {
        migrated(&t.db).await;
        let (other, _guard) = another_pool(&t, "indicators_two_nodes").await;
        let a = Indicators::new(t.db.clone());
        let b = Indicators::new(other);
        // Each node counts from several tasks at once, and flushes while counting.
        let mut tasks = Vec::new();
        for (node, name) in [(a.clone(), "a"), (b.clone(), "b")] {
            for task in 0..4 {
                let node = node.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..250 {
                        let user = format!("user{}", (task * 250 + i) % 30);
                        node.record("2027-01-15", "agenda", "eleve", Use::View, &user);
                        if i % 5 == 0 {
                            node.record("2027-01-15", "agenda", "eleve", Use::Action, &user);
                        }
                        if i % 100 == 0 {
                            node.flush().await.unwrap();
                        }
                    }
                    // One person only this node sees.
                    node.record("2027-01-15", "agenda", "eleve", Use::Resource, name);
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        a.flush().await.unwrap();
        b.flush().await.unwrap();
        assert_eq!(
            a.report(&day("2027-01-15")).await.unwrap(),
            // 2 nodes × 4 tasks × 250 views, a fifth of them with an action, one resource
            // call per task; 30 people seen by both nodes count once, plus "a" and "b".
            vec![line("2027-01-15", "agenda", "eleve", [2000, 400, 8], 32)],
            "{}",
            t.db.target()
        );
        assert_eq!(
            a.report(&day("2027-01-15")).await.unwrap(),
            b.report(&day("2027-01-15")).await.unwrap()
        );
    }
}

#[tokio::test]
async fn a_failed_flush_keeps_its_counts_for_the_next_one() {
    for t in testing::both("indicators_failed_flush").await {
        let ind = Indicators::new(t.db.clone());
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "lea");
        // No tables yet: the flush fails, the counts stay.
        assert!(ind.flush().await.is_err());
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "tom");
        migrated(&t.db).await;
        assert_eq!(ind.flush().await.unwrap(), 1);
        assert_eq!(
            ind.report(&day("2027-01-15")).await.unwrap(),
            vec![line("2027-01-15", "agenda", "eleve", [2, 0, 0], 2)],
            "{}",
            t.db.target()
        );
    }
}

#[tokio::test]
async fn closing_a_day_keeps_its_counts_and_forgets_who() {
    for t in testing::both("indicators_close").await {
        migrated(&t.db).await;
        let ind = Indicators::new(t.db.clone());
        for user in ["lea", "tom", "zoe"] {
            ind.record("2027-01-14", "agenda", "eleve", Use::View, user);
        }
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "lea");
        ind.flush().await.unwrap();
        assert_eq!(ind.close_days_before("2027-01-15").await.unwrap(), 3);
        assert_eq!(ind.close_days_before("2027-01-15").await.unwrap(), 0);
        let left: Vec<(String,)> = sqlx::query_as("SELECT day FROM cartable_indicator_visitors")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
        assert_eq!(left, vec![("2027-01-15".to_string(),)]);
        let both_days = ReportQuery {
            from: "2027-01-14".into(),
            to: "2027-01-15".into(),
            service: None,
        };
        assert_eq!(
            ind.report(&both_days).await.unwrap(),
            vec![
                line("2027-01-14", "agenda", "eleve", [3, 0, 0], 3),
                line("2027-01-15", "agenda", "eleve", [1, 0, 0], 1),
            ],
            "{}",
            t.db.target()
        );
    }
}

#[tokio::test]
async fn what_the_open_days_say_of_a_user_and_nothing_once_closed() {
    for t in testing::both("indicators_used_by").await {
        migrated(&t.db).await;
        let ind = Indicators::new(t.db.clone());
        ind.record("2027-01-14", "agenda", "eleve", Use::View, "lea");
        ind.record("2027-01-15", "bloc-notes", "eleve", Use::Action, "lea");
        ind.record("2027-01-15", "agenda", "eleve", Use::View, "tom");
        ind.flush().await.unwrap();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            ind.used_by("lea").await.unwrap(),
            pairs(&[("2027-01-14", "agenda"), ("2027-01-15", "bloc-notes")])
        );
        assert_eq!(
            ind.used_by("tom").await.unwrap(),
            pairs(&[("2027-01-15", "agenda")])
        );
        assert!(ind.used_by("zoe").await.unwrap().is_empty());
        ind.close_days_before("2027-01-15").await.unwrap();
        assert_eq!(
            ind.used_by("lea").await.unwrap(),
            pairs(&[("2027-01-15", "bloc-notes")]),
            "a closed day says nothing of who"
        );
    }
}

#[test]
fn days_are_written_year_month_day() {
    assert!(is_day("2027-01-15"));
    for wrong in ["2027-1-15", "15/01/2027", "2027-01-15'", "", "2027_01_15"] {
        assert!(!is_day(wrong), "{wrong}");
    }
    assert_eq!(values(2, 2), "($1, $2), ($3, $4)");
}
