//! A query-heavy service page, measured (issue 14): "the week of 5 calendars" out of
//! 2,000 events each (10,000 in a school year), asked by 16 tasks at once over a pool of
//! 16 connections, with a write now and then (an event added: one writer for every 20
//! readers). Prints the median and the 99th percentile of the read, and reads per second.
//!
//! ```text
//! cargo bench -p cartable-db --features testing --bench week_query
//! CARTABLE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p cartable-db --features testing --bench week_query -- postgres
//! ```
//! Not a criterion bench: the figure asked for is a tail latency under concurrency,
//! which criterion's single-threaded iterations do not measure.

use std::time::{Duration, Instant};

use cartable_db::testing::TestDatabase;
use cartable_db::{Database, sqlx};

const CALENDARS: usize = 5;
const EVENTS_PER_CALENDAR: usize = 2000;
const TASKS: usize = 16;
const QUERIES_PER_TASK: usize = 500;
const DAY: i64 = 86_400;
/// 2026-09-01 00:00 UTC: the school year starts.
const YEAR_START: i64 = 1_788_220_800;

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // Read to be measured, not used.
struct Event {
    calendar: String,
    id: i64,
    starts: i64,
    ends: i64,
    title: String,
    location: String,
}

async fn fill(db: &Database) {
    sqlx::raw_sql(
        "CREATE TABLE agenda_event (
            calendar TEXT NOT NULL,
            id BIGINT NOT NULL,
            starts BIGINT NOT NULL,
            ends BIGINT NOT NULL,
            title TEXT NOT NULL,
            location TEXT NOT NULL,
            PRIMARY KEY (calendar, id)
        );
        CREATE INDEX agenda_event_when ON agenda_event (calendar, starts);",
    )
    .execute(db.pool())
    .await
    .expect("the table is created");
    let mut tx = db.begin().await.expect("a transaction");
    for c in 0..CALENDARS {
        for i in 0..EVENTS_PER_CALENDAR {
            // Spread over 300 days, 8:00 to 18:00, one hour each.
            let day = (i * 300 / EVENTS_PER_CALENDAR) as i64;
            let hour = 8 + (i % 10) as i64;
            let starts = YEAR_START + day * DAY + hour * 3600;
            sqlx::query(
                "INSERT INTO agenda_event (calendar, id, starts, ends, title, location) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(format!("cal-{c}"))
            .bind(i as i64)
            .bind(starts)
            .bind(starts + 3600)
            .bind(format!("Cours {i} — mathématiques"))
            .bind("Salle B12")
            .execute(&mut *tx)
            .await
            .expect("an event is inserted");
        }
    }
    tx.commit().await.expect("the events are committed");
}

async fn week(db: &Database, week_start: i64) -> usize {
    let events: Vec<Event> = sqlx::query_as(
        "SELECT calendar, id, starts, ends, title, location FROM agenda_event \
         WHERE calendar IN ($1, $2, $3, $4, $5) \
           AND starts >= $6 AND starts < $7 AND ends > $8 \
         ORDER BY starts",
    )
    .bind("cal-0")
    .bind("cal-1")
    .bind("cal-2")
    .bind("cal-3")
    .bind("cal-4")
    .bind(week_start - DAY)
    .bind(week_start + 7 * DAY)
    .bind(week_start)
    .fetch_all(db.pool())
    .await
    .expect("the week is read");
    events.len()
}

async fn add(db: &Database, task: usize, n: usize) {
    sqlx::query(
        "INSERT INTO agenda_event (calendar, id, starts, ends, title, location) \
         VALUES ($1, $2, $3, $4, 'Réunion', 'CDI')",
    )
    .bind(format!("cal-{}", task % CALENDARS))
    .bind((1_000_000 + task * QUERIES_PER_TASK + n) as i64)
    .bind(YEAR_START + 30 * DAY)
    .bind(YEAR_START + 30 * DAY + 3600)
    .execute(db.pool())
    .await
    .expect("an event is added");
}

async fn run(name: &str, db: Database) {
    fill(&db).await;
    // Warm the pool and the caches.
    assert!(week(&db, YEAR_START + 28 * DAY).await > 0);
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut took = Vec::with_capacity(QUERIES_PER_TASK);
                for n in 0..QUERIES_PER_TASK {
                    if n % 20 == 19 {
                        add(&db, t, n).await;
                        continue;
                    }
                    let week_start = YEAR_START + (((t * 7 + n) % 40) as i64) * 7 * DAY;
                    let at = Instant::now();
                    std::hint::black_box(week(&db, week_start).await);
                    took.push(at.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a task ends"));
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "{name}: the week of {CALENDARS} calendars ({EVENTS_PER_CALENDAR} events each), \
         {TASKS} tasks, {} reads: median {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} reads/s",
        all.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
        all.len() as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let postgres = std::env::args().any(|a| a == "postgres");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        if postgres {
            let schema = cartable_db::testing::fresh_schema_name();
            let options = cartable_db::PostgresOptions {
                schema: Some(schema.clone()),
                pool_size: TASKS as u32,
                ..Default::default()
            };
            let db = Database::postgres(&cartable_db::testing::pg_url(), options)
                .await
                .expect("the PostgreSQL server of CARTABLE_TEST_PG_URL answers");
            // Dropped with its schema at the end.
            let pg = TestDatabase {
                db,
                schema: Some(schema),
                file: None,
            };
            run("PostgreSQL", pg.db.clone()).await;
        } else {
            let sqlite = TestDatabase::sqlite().await;
            run("SQLite", sqlite.db.clone()).await;
        }
    });
}
