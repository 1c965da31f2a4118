//! A query-heavy service page, measured (issue 14): "the week of 5 calendars" out of
//! 2,000 events each (10,000 in a school year), asked by 16 tasks at once over the pool of
//! `Database` (4 connections on SQLite, 16 on PostgreSQL), with a write now and then (an
//! event added: one writer for every 20 readers). Prints, for each shape of the query, the
//! median and the 99th percentile of the read, reads per second, and the CPU time of the
//! whole process per read.
//!
//! ```text
//! cargo bench -p cartable-db --features testing --bench week_query
//! CARTABLE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p cartable-db --features testing --bench week_query -- postgres
//! ```
//! Not a criterion bench: the figure asked for is a tail latency under concurrency,
//! which criterion's single-threaded iterations do not measure.
//!
//! The same workload in three shapes, each on a fresh database, one after the other:
//! - `wide`: the first version of this bench. An index on `(calendar, starts)`, every
//!   column of the event read (the location too), one row per event: SQLite visits the
//!   table for each of the ~235 rows.
//! - `rows`: what an agenda service should ship for its week grid if it reads one row per
//!   event. A covering index `(calendar, starts, ends, id, title)`, so SQLite answers from
//!   the index alone, and only what the grid shows (calendar, id, times, title); the
//!   location, and a description if there were one, are read when an event is opened.
//! - `packed`: the same index, and one row per calendar: the week's events of a calendar
//!   packed by `string_agg(... ORDER BY starts)` (SQLite ≥ 3.44 and PostgreSQL, the same
//!   SQL), unpacked in Rust. Most of a read's cost is not SQLite but sqlx handing each
//!   row from its SQLite worker thread to the async task (a channel message, a wake-up,
//!   and each value copied and decoded by the `Any` driver): 5 rows instead of ~235
//!   removes that. The separator is a control character that a title cannot hold.
//!
//! Pass `wide`, `rows` or `packed` to run one shape only.

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
const CALENDAR_IDS: [&str; CALENDARS] = ["cal-0", "cal-1", "cal-2", "cal-3", "cal-4"];
/// Between two events of a packed calendar (ASCII record separator): a title is one line
/// of text, and the service refuses control characters in it.
const RECORD: char = '\u{1e}';

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Wide,
    Rows,
    Packed,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Wide, Shape::Rows, Shape::Packed];

    fn name(self) -> &'static str {
        match self {
            Shape::Wide => "wide",
            Shape::Rows => "rows",
            Shape::Packed => "packed",
        }
    }
}

/// An event of the first version: everything, as a row.
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

/// What a week grid shows of an event.
#[derive(sqlx::FromRow)]
#[allow(dead_code)] // Read to be measured, not used.
struct Slot {
    calendar: String,
    id: i64,
    starts: i64,
    ends: i64,
    title: String,
}

/// A slot unpacked: its calendar by position in the page's list.
#[allow(dead_code)] // Read to be measured, not used.
struct PackedSlot {
    calendar: usize,
    id: i64,
    starts: i64,
    ends: i64,
    title: String,
}

async fn fill(db: &Database, shape: Shape) {
    let index = match shape {
        Shape::Wide => "CREATE INDEX agenda_event_when ON agenda_event (calendar, starts);",
        // The week grid from the index alone: what the WHERE asks, then what it shows.
        Shape::Rows | Shape::Packed => {
            "CREATE INDEX agenda_event_week ON agenda_event (calendar, starts, ends, id, title);"
        }
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE agenda_event (
            calendar TEXT NOT NULL,
            id BIGINT NOT NULL,
            starts BIGINT NOT NULL,
            ends BIGINT NOT NULL,
            title TEXT NOT NULL,
            location TEXT NOT NULL,
            PRIMARY KEY (calendar, id)
        );
        {index}"
    )))
    .execute(db.pool())
    .await
    .expect("the table is created");
    let mut tx = db.begin().await.expect("a transaction");
    for calendar in CALENDAR_IDS {
        for i in 0..EVENTS_PER_CALENDAR {
            // Spread over 300 days, 8:00 to 18:00, one hour each.
            let day = (i * 300 / EVENTS_PER_CALENDAR) as i64;
            let hour = 8 + (i % 10) as i64;
            let starts = YEAR_START + day * DAY + hour * 3600;
            sqlx::query(
                "INSERT INTO agenda_event (calendar, id, starts, ends, title, location) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(calendar)
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

/// The events of the week starting at `week_start` (none lasts more than a day), in
/// order; how many.
async fn week(db: &Database, shape: Shape, week_start: i64) -> usize {
    match shape {
        Shape::Wide => {
            let events: Vec<Event> = sqlx::query_as(
                "SELECT calendar, id, starts, ends, title, location FROM agenda_event \
                 WHERE calendar IN ($1, $2, $3, $4, $5) \
                   AND starts >= $6 AND starts < $7 AND ends > $8 \
                 ORDER BY starts",
            )
            .bind(CALENDAR_IDS[0])
            .bind(CALENDAR_IDS[1])
            .bind(CALENDAR_IDS[2])
            .bind(CALENDAR_IDS[3])
            .bind(CALENDAR_IDS[4])
            .bind(week_start - DAY)
            .bind(week_start + 7 * DAY)
            .bind(week_start)
            .fetch_all(db.pool())
            .await
            .expect("the week is read");
            events.len()
        }
        Shape::Rows => {
            let slots: Vec<Slot> = sqlx::query_as(
                "SELECT calendar, id, starts, ends, title FROM agenda_event \
                 WHERE calendar IN ($1, $2, $3, $4, $5) \
                   AND starts >= $6 AND starts < $7 AND ends > $8 \
                 ORDER BY starts",
            )
            .bind(CALENDAR_IDS[0])
            .bind(CALENDAR_IDS[1])
            .bind(CALENDAR_IDS[2])
            .bind(CALENDAR_IDS[3])
            .bind(CALENDAR_IDS[4])
            .bind(week_start - DAY)
            .bind(week_start + 7 * DAY)
            .bind(week_start)
            .fetch_all(db.pool())
            .await
            .expect("the week is read");
            slots.len()
        }
        Shape::Packed => {
            // `id || ','` is text on both databases; the title last, as it may hold commas.
            let calendars: Vec<(String, String)> = sqlx::query_as(
                "SELECT calendar, \
                        string_agg(id || ',' || starts || ',' || ends || ',' || title, $9 \
                                   ORDER BY starts) \
                 FROM agenda_event \
                 WHERE calendar IN ($1, $2, $3, $4, $5) \
                   AND starts >= $6 AND starts < $7 AND ends > $8 \
                 GROUP BY calendar",
            )
            .bind(CALENDAR_IDS[0])
            .bind(CALENDAR_IDS[1])
            .bind(CALENDAR_IDS[2])
            .bind(CALENDAR_IDS[3])
            .bind(CALENDAR_IDS[4])
            .bind(week_start - DAY)
            .bind(week_start + 7 * DAY)
            .bind(week_start)
            .bind(RECORD.to_string())
            .fetch_all(db.pool())
            .await
            .expect("the week is read");
            let mut slots = Vec::with_capacity(256);
            for (calendar, packed) in &calendars {
                let calendar = CALENDAR_IDS
                    .iter()
                    .position(|c| c == calendar)
                    .expect("one of the page's calendars");
                for record in packed.split(RECORD) {
                    let mut field = record.splitn(4, ',');
                    let mut number =
                        || -> i64 { field.next().and_then(|f| f.parse().ok()).expect("a number") };
                    let (id, starts, ends) = (number(), number(), number());
                    let title = field.next().expect("a title").to_owned();
                    slots.push(PackedSlot {
                        calendar,
                        id,
                        starts,
                        ends,
                        title,
                    });
                }
            }
            // The calendars' lists are each in order: a merge, sorted as one.
            slots.sort_by_key(|s| s.starts);
            slots.len()
        }
    }
}

async fn add(db: &Database, task: usize, n: usize) {
    sqlx::query(
        "INSERT INTO agenda_event (calendar, id, starts, ends, title, location) \
         VALUES ($1, $2, $3, $4, 'Réunion', 'CDI')",
    )
    .bind(CALENDAR_IDS[task % CALENDARS])
    .bind((1_000_000 + task * QUERIES_PER_TASK + n) as i64)
    .bind(YEAR_START + 30 * DAY)
    .bind(YEAR_START + 30 * DAY + 3600)
    .execute(db.pool())
    .await
    .expect("an event is added");
}

/// User and system CPU time of this process so far (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // After the command name in parentheses: utime and stime are fields 14 and 15.
            let rest = stat.get(stat.rfind(')')? + 2..)?;
            let mut fields = rest.split(' ').skip(11);
            let user: u64 = fields.next()?.parse().ok()?;
            let system: u64 = fields.next()?.parse().ok()?;
            Some(user + system)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

async fn run(name: &str, db: Database, shape: Shape) {
    fill(&db, shape).await;
    // Warm the pool and the caches.
    assert!(week(&db, shape, YEAR_START + 28 * DAY).await > 200);
    let cpu_before = cpu_time();
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
                    std::hint::black_box(week(&db, shape, week_start).await);
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
    let cpu = cpu_time().saturating_sub(cpu_before);
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "{name}, {:>6}: the week of {CALENDARS} calendars ({EVENTS_PER_CALENDAR} events each), \
         {TASKS} tasks, {} reads: median {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} reads/s, \
         {:.2} ms of CPU per read",
        shape.name(),
        all.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
        all.len() as f64 / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / all.len() as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let postgres = args.iter().any(|a| a == "postgres");
    let chosen: Vec<Shape> = Shape::ALL
        .into_iter()
        .filter(|s| args.iter().any(|a| a == s.name()))
        .collect();
    let shapes = if chosen.is_empty() {
        Shape::ALL.to_vec()
    } else {
        chosen
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for shape in shapes {
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
                run("PostgreSQL", pg.db.clone(), shape).await;
            } else {
                let sqlite = TestDatabase::sqlite().await;
                run("SQLite", sqlite.db.clone(), shape).await;
            }
        }
    });
}
