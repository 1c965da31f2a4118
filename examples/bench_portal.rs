//! The portal under test in the load scenarios (`benches/load/run.sh`).
//!
//! ```text
//! # A: one tab of 12 in-process portlets
//! cargo run --release --example bench_portal -- --data-dir /tmp/a
//! # A0: the same tab, each portlet answering a fixed fragment (the portal's own cost)
//! cargo run --release --example bench_portal -- --data-dir /tmp/a0 --fixed-fragment benches/load/fragment.html
//! # B/C: one tab of N remote windows from a producer (examples/bench_producer.rs)
//! cargo run --release --example bench_portal -- --data-dir /tmp/b --remote http://127.0.0.1:P/ --fragments 5
//! # D: 15,000 users with a session each, sessions written to a file, on PostgreSQL
//! cargo run --release --example bench_portal -- --data-dir /tmp/d --users 15000 \
//!     --sessions 15000 --cookies /tmp/d/cookies --storage postgres --pg-schema bench_load
//! ```
//!
//! | option | default | what |
//! |---|---|---|
//! | `--listen ADDR` | `127.0.0.1:0` | address |
//! | `--data-dir DIR` | required | the SQLite file lives here |
//! | `--local N` | 12 without `--remote`, else 0 | in-process portlets on the page |
//! | `--remote URL` | none | a `cartable-remote/2` producer (`bench_producer`) |
//! | `--fragments N` | 1 | remote windows on the page (`f0` … `f{N-1}` of the producer) |
//! | `--timeout-ms MS` | 1000 | each remote call's deadline (`[[remote]] timeout_ms`) |
//! | `--deadline-ms MS` | timeout + 100 | the portal's per-window deadline (`deadline_ms`) |
//! | `--fixed-fragment FILE` | none (a minijinja list) | the in-process portlets answer the file's bytes as they are, every time (scenario A0: no portlet work, what remains is the portal's) |
//! | `--cache-secs S` | none (render on every page) | the in-process portlets let the portal keep each user's fragment for S seconds (`CachePolicy::PerUser`, the JSR-286 expiration cache) |
//! | `--no-breaker` | breaker on (3 failures) | never open the remote circuit breaker |
//! | `--sanitize` | trusted producer | sanitize remote markup (`trusted = false`) |
//! | `--users N` | 1 | people in the generated directory: `eleve0` … (password `bench-pw`) |
//! | `--sessions N`, `--cookies FILE` | none | open N sessions (users `eleve0` … round robin) in the session store before serving and write their ids, one a line, to FILE |
//! | `--agenda N` | none | scenario W: the page is the agenda alone (tab `agenda`), and `eleve0` reads 5 agendas of N events each over 300 days around today (her own, the établissement's, and three that `eleve1` … `eleve3` let her write); `--users` is raised to 4 |
//! | `--storage sqlite\|postgres` | `sqlite` | storage and session store |
//! | `--pg-url URL`, `--pg-schema NAME` | `postgres://postgres@127.0.0.1:5432/test`, `bench_load` | PostgreSQL; the schema is created (the run script drops it) |
//!
//! The page is `/page/accueil`. Sessions are created directly in the session store
//! (what a login does after checking the password: `Session::new` + `save_session`),
//! because 15,000 argon2 logins would take minutes of CPU before the run; the run script
//! still logs `eleve0` in through the login form for scenarios A–C. The first line on
//! stdout is the portal's URL, printed once sessions are written; it runs until SIGTERM or
//! Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cartable::ldif::{LdifDirectory, hash_password};
use cartable::prelude::*;
use cartable::socle::DbStore;
use cartable::socle::{Session, SessionStore, Storage};
use cartable::{EntBuilder, EntConfig};
use cartable_postgres::PostgresConfig;

/// The allocator of every Cartable server example (see the `mimalloc` note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key `bench_producer` accepts unless told otherwise (loopback benchmarks only).
const BENCH_KEY_ID: &str = "bench";
const BENCH_KEY: &str = "bench-key-for-loopback-only-0123456789abcdef";
/// Everyone's password in the generated directory.
const PASSWORD: &str = "bench-pw";

struct Options {
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    local: Option<usize>,
    fixed_fragment: Option<PathBuf>,
    cache_secs: Option<u64>,
    remote: Option<String>,
    fragments: usize,
    timeout_ms: u64,
    deadline_ms: Option<u64>,
    breaker: bool,
    trusted: bool,
    users: usize,
    sessions: usize,
    cookies: Option<PathBuf>,
    postgres: bool,
    pg_url: String,
    pg_schema: String,
    agenda: Option<usize>,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut o = Options {
        listen: "127.0.0.1:0".parse()?,
        data_dir: None,
        local: None,
        fixed_fragment: None,
        cache_secs: None,
        remote: None,
        fragments: 1,
        timeout_ms: 1000,
        deadline_ms: None,
        breaker: true,
        trusted: true,
        users: 1,
        sessions: 0,
        cookies: None,
        postgres: false,
        pg_url: "postgres://postgres@127.0.0.1:5432/test".into(),
        pg_schema: "bench_load".into(),
        agenda: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--no-breaker" => {
                o.breaker = false;
                continue;
            }
            "--sanitize" => {
                o.trusted = false;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => o.listen = value.parse()?,
            "--data-dir" => o.data_dir = Some(value.into()),
            "--local" => o.local = Some(value.parse()?),
            "--fixed-fragment" => o.fixed_fragment = Some(value.into()),
            "--cache-secs" => o.cache_secs = Some(value.parse()?),
            "--remote" => o.remote = Some(value),
            "--fragments" => o.fragments = value.parse()?,
            "--timeout-ms" => o.timeout_ms = value.parse()?,
            "--deadline-ms" => o.deadline_ms = Some(value.parse()?),
            "--users" => o.users = value.parse()?,
            "--agenda" => o.agenda = Some(value.parse()?),
            "--sessions" => o.sessions = value.parse()?,
            "--cookies" => o.cookies = Some(value.into()),
            "--storage" => {
                o.postgres = match value.as_str() {
                    "sqlite" => false,
                    "postgres" => true,
                    other => return Err(format!("--storage sqlite|postgres, not {other:?}").into()),
                }
            }
            "--pg-url" => o.pg_url = value,
            "--pg-schema" => o.pg_schema = value,
            other => return Err(format!("unknown option {other:?} (see the file's header)").into()),
        }
    }
    if o.sessions > 0 && o.cookies.is_none() {
        return Err("--sessions needs --cookies FILE".into());
    }
    Ok(o)
}

/// A portlet rendering a small list through a compiled template, like most services do
/// (the portlet of `benches/page_render.rs`).
struct Item(Descriptor, Templates);

#[async_trait]
impl Portlet for Item {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let items: Vec<String> = (1..=8)
            .map(|i| format!("Élément {i} pour {}", ctx.user().display_name))
            .collect();
        let m = self.1.render(
            "list",
            minijinja::context! { items => items, ns => ctx.window().namespace(),
            url => ctx.urls().render().param("page", 2).to_string() },
        )?;
        Ok(m.into())
    }
}

fn local_portlets(
    n: usize,
    cache_secs: Option<u64>,
) -> Result<Vec<Arc<dyn Portlet>>, Box<dyn std::error::Error>> {
    (0..n)
        .map(|i| {
            let t = Templates::new([(
                "list",
                r#"<ul id="{{ ns }}-list">{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul><a href="{{ url }}">Suite</a>"#,
            )])?;
            let mut d = Descriptor::new(&format!("p{i}"), format!("Service {i}").as_str());
            if let Some(secs) = cache_secs {
                d.cache = cartable::portlet::CachePolicy::PerUser(Duration::from_secs(secs));
            }
            Ok(Arc::new(Item(d, t)) as Arc<dyn Portlet>)
        })
        .collect()
}

/// A portlet answering the same fragment on every render, with no work of its own
/// (scenario A0): what a page of them costs is the portal's cost.
struct Fixed(Descriptor, String);

#[async_trait]
impl Portlet for Fixed {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        // The fragment is the bench's own file, not user or remote input.
        Ok(Markup::trusted_html(self.1.clone()).into())
    }
}

/// `n` portlets `p0` … answering the file's fragment (`--fixed-fragment`), uncached
/// unless `--cache-secs` is given.
fn fixed_portlets(
    n: usize,
    file: &std::path::Path,
    cache_secs: Option<u64>,
) -> Result<Vec<Arc<dyn Portlet>>, Box<dyn std::error::Error>> {
    let html = std::fs::read_to_string(file)
        .map_err(|e| format!("--fixed-fragment {}: {e}", file.display()))?;
    Ok((0..n)
        .map(|i| {
            let mut d = Descriptor::new(&format!("p{i}"), format!("Service {i}").as_str());
            if let Some(secs) = cache_secs {
                d.cache = cartable::portlet::CachePolicy::PerUser(Duration::from_secs(secs));
            }
            Arc::new(Fixed(d, html.clone())) as Arc<dyn Portlet>
        })
        .collect())
}

/// The in-process portlets of the page: fixed fragments (A0) or the list portlet (A, D).
fn in_process_portlets(
    o: &Options,
    n: usize,
) -> Result<Vec<Arc<dyn Portlet>>, Box<dyn std::error::Error>> {
    match &o.fixed_fragment {
        Some(file) => fixed_portlets(n, file, o.cache_secs),
        None => local_portlets(n, o.cache_secs),
    }
}

/// The generated directory: `eleve0` … `eleve{n-1}`, one password hash for all (hashing
/// 15,000 times would take minutes; the hash is only checked at login).
fn ldif(n: usize) -> String {
    let hash = hash_password(PASSWORD);
    let mut out = String::with_capacity(n * 260);
    for i in 0..n {
        out.push_str(&format!(
            "dn: uid=eleve{i},ou=people,dc=bench\nuid: eleve{i}\ncn: Élève {i}\ndisplayName: Élève {i}\nENTPersonProfils: eleve\nENTEleveClasses: 2nde {}\nmail: eleve{i}@example.org\nuserPassword: {{ARGON2}}{hash}\n\n",
            i % 12
        ));
    }
    out
}

/// The configuration: one tab `accueil` whose windows are spread over three columns.
fn config(
    o: &Options,
    data_dir: &std::path::Path,
    local: usize,
) -> Result<EntConfig, Box<dyn std::error::Error>> {
    let mut windows: Vec<String> = (0..local).map(|i| format!("p{i}")).collect();
    if o.agenda.is_some() {
        windows.push(cartable::agenda::ID.to_string());
    }
    let tab = if o.agenda.is_some() {
        "agenda"
    } else {
        "accueil"
    };
    let mut toml = String::new();
    let deadline = o.deadline_ms.unwrap_or(o.timeout_ms + 100);
    toml.push_str(&format!("deadline_ms = {deadline}\n"));
    if let Some(url) = &o.remote {
        let parsed = url::Url::parse(url)?;
        let host = format!(
            "{}:{}",
            parsed.host_str().ok_or("--remote needs a host")?,
            parsed.port_or_known_default().unwrap_or(80)
        );
        toml.push_str(&format!("allowed_hosts = [\"{host}\"]\n"));
        windows.extend((0..o.fragments).map(|i| format!("r-f{i}")));
    }
    let columns: Vec<String> = (0..3)
        .map(|c| {
            let ws: Vec<String> = windows
                .iter()
                .skip(c)
                .step_by(3)
                .map(|w| format!("{{ portlet = \"{w}\" }}"))
                .collect();
            format!("[{}]", ws.join(", "))
        })
        .collect();
    toml.push_str(&format!(
        "[[layouts.default.tabs]]\nid = \"{tab}\"\ntitle = \"Accueil\"\ncolumns = [{}]\n",
        columns.join(", ")
    ));
    if let Some(url) = &o.remote {
        let wanted: Vec<String> = (0..o.fragments).map(|i| format!("\"f{i}\"")).collect();
        toml.push_str(&format!(
            "[[remote]]\nid = \"r\"\nurl = \"{url}\"\nkey_id = \"{BENCH_KEY_ID}\"\nkey = \"{BENCH_KEY}\"\ntrusted = {}\ntimeout_ms = {}\nfailures_before_open = {}\nportlets = [{}]\n",
            o.trusted,
            o.timeout_ms,
            if o.breaker { 3 } else { u32::MAX },
            wanted.join(", ")
        ));
    }
    let mut config = EntConfig::from_toml(&toml, data_dir)?;
    config.portal.data_dir = data_dir.to_path_buf();
    Ok(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let data_dir = o.data_dir.clone().ok_or("--data-dir DIR is required")?;
    std::fs::create_dir_all(&data_dir)?;
    let local = o
        .local
        .unwrap_or(if o.remote.is_some() || o.agenda.is_some() {
            0
        } else {
            12
        });
    let users = if o.agenda.is_some() {
        o.users.max(4)
    } else {
        o.users.max(1)
    };
    let config = config(&o, &data_dir, local)?;
    let ttl = Duration::from_secs(config.portal.session_ttl_minutes * 60);
    let directory = LdifDirectory::parse(&ldif(users))?;
    let database = if o.postgres {
        cartable_postgres::connect(
            &PostgresConfig::new(o.pg_url.clone()).with_schema(o.pg_schema.clone()),
        )
        .await?
    } else {
        cartable::db::Database::sqlite(&data_dir.join("cartable.sqlite3")).await?
    };
    let store = Arc::new(DbStore::open(database.clone()).await?);
    let (storage, sessions): (Arc<dyn Storage>, Arc<dyn SessionStore>) = (store.clone(), store);
    if let Some(file) = &o.cookies {
        let ids = open_sessions(&sessions, o.sessions, users, ttl).await?;
        std::fs::write(file, ids.join("\n") + "\n")?;
    }
    // Storage given by hand (sessions are written before the portal starts): the builder
    // wires only the `[[remote]]` producer of the configuration; the services' tables go
    // in the same database.
    let portal = EntBuilder::new(config)
        .directory(Arc::new(directory))
        .storage(storage)
        .sessions(sessions)
        .with_portal(|p| p.database(database.clone()))
        .portlets(in_process_portlets(&o, local)?)
        .portlets(
            o.agenda
                .map(|_| Arc::new(cartable::agenda::Agenda::new()) as Arc<dyn Portlet>),
        )
        .build()
        .await?;
    if let Some(events) = o.agenda {
        fill_agendas(&database, events).await?;
    }
    let listener = tokio::net::TcpListener::bind(o.listen).await?;
    let running = portal.serve(listener)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{}/", running.local_addr())?;
    out.flush()?;
    drop(out);
    cartable::portal::shutdown_signal().await;
    // No graceful drain: a run ends with requests still in flight.
    std::process::exit(0);
}

/// Scenario W: five agendas that `eleve0` reads, of `events` events each, spread over
/// 300 days around today (about 47 a week in each for 2,000); one in fifty recurs
/// weekly ten times. Written with the agenda's own types, as its form would.
async fn fill_agendas(
    db: &cartable::db::Database,
    events: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use cartable::agenda::{ics, store};
    use chrono::{Duration as Days, NaiveTime};
    // 300 days around today, so that the tab's own view (this week) shows its share.
    let first = chrono::Utc::now().date_naive() - Days::days(150);
    let calendars = ["u:eleve0", "etab", "u:eleve1", "u:eleve2", "u:eleve3"];
    for owner in &calendars[2..] {
        store::set_grant(db, owner, "u:eleve0", true).await?;
    }
    for calendar in calendars {
        for i in 0..events {
            let day = first + Days::days((i * 300 / events.max(1)) as i64);
            let hour = 8 + (i % 9) as u32;
            let text = ics::write_event(&ics::NewEvent {
                uid: format!("{calendar}-{i}@bench"),
                summary: format!("Cours {i}"),
                location: "Salle 12".into(),
                description: String::new(),
                day,
                times: Some((
                    NaiveTime::from_hms_opt(hour, 0, 0).ok_or("time")?,
                    NaiveTime::from_hms_opt(hour + 1, 0, 0).ok_or("time")?,
                )),
                last_day: day,
                zone: chrono_tz::Europe::Paris,
                rrule: (i % 50 == 0).then(|| "FREQ=WEEKLY;COUNT=10".to_string()),
                reminder: None,
                stamp: chrono::Utc::now(),
            });
            let object = ics::read_object(text.as_bytes(), chrono_tz::Europe::Paris)?;
            store::put(
                db,
                store::Put {
                    calendar,
                    name: &format!("{i}.ics"),
                    object: &object,
                    author: "eleve0",
                    now: 0,
                    precondition: &cartable::portlet::dav::Precondition::None,
                    zone: chrono_tz::Europe::Paris,
                },
            )
            .await
            .map_err(|e| format!("agenda {calendar}: {e}"))?;
        }
    }
    Ok(())
}

/// Open `n` sessions for `eleve0` … round robin, 64 saves at a time.
async fn open_sessions(
    store: &Arc<dyn SessionStore>,
    n: usize,
    users: usize,
    ttl: Duration,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut ids = Vec::with_capacity(n);
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(64) {
        let batch: Vec<Session> = chunk
            .iter()
            .map(|i| Session::new(Some(format!("eleve{}", i % users)), "fr", ttl))
            .collect();
        let saves = batch.iter().map(|s| store.save_session(s));
        for r in futures::future::join_all(saves).await {
            r?;
        }
        ids.extend(batch.iter().map(|s| s.id.as_str().to_string()));
    }
    Ok(ids)
}
