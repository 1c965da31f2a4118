//! A database that is down, unreachable, silent or locked gives `SocleError::Unavailable`
//! within the timeouts, never a hang; the pool recovers by itself when the database is
//! back (through a loopback TCP proxy the tests cut and restore); a write blocked midway
//! leaves nothing half-written.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cartable_db::sqlx::{self, Connection};
use cartable_postgres::PostgresConfig;
use cartable_socle::{DataScope, DbStore, SocleError, Storage};
use support::{TestSchema, admin};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn is_unavailable(err: &SocleError) -> bool {
    matches!(
        err,
        SocleError::Unavailable {
            backend: cartable_socle::store::BACKEND,
            ..
        }
    )
}

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forward both ways.
    Up,
    /// Close every connection, open or new (the server is down).
    Down,
    /// Keep every connection open and forward nothing (the network silently drops
    /// packets): no error, only silence.
    Blackhole,
}

/// A loopback TCP proxy in front of the test database.
struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Up);
        let modes = mode.clone();
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, upstream, modes.subscribe()));
            }
        });
        Proxy { addr, mode, accept }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Dropping the sender ends every held connection.
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let now = *mode.borrow_and_update();
    match now {
        Mode::Down => return,
        Mode::Blackhole => return hold(client, mode).await,
        Mode::Up => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let blackhole = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        changed = mode.wait_for(|m| *m != Mode::Up) => {
            changed.is_ok_and(|m| *m == Mode::Blackhole)
        }
    };
    if blackhole {
        hold((client, server), mode).await;
    }
    // Otherwise (down, or a side closed): both sockets are dropped, so closed.
}

/// Keep sockets open without a word until the proxy goes down or away.
async fn hold<T>(sockets: T, mut mode: watch::Receiver<Mode>) {
    let _ = mode.wait_for(|m| *m == Mode::Down).await;
    drop(sockets);
}

/// The test server's address, and a URL reaching it through `proxy` when given.
fn through(proxy: Option<SocketAddr>) -> (SocketAddr, String) {
    let mut url = url::Url::parse(&support::url()).unwrap();
    let host = url
        .host_str()
        .unwrap_or_else(|| panic!("the proxy test needs a TCP host in CARTABLE_TEST_PG_URL"))
        .to_string();
    let port = url.port().unwrap_or(5432);
    let upstream = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .unwrap()
        .next()
        .unwrap();
    let via = proxy.unwrap_or(upstream);
    url.set_host(Some(&via.ip().to_string())).unwrap();
    url.set_port(Some(via.port())).unwrap();
    (upstream, url.to_string())
}

/// A node's storage on `config`: the pool, then the socle's tables. A database that cannot
/// be reached is `SocleError::Unavailable`, as the portal reports it.
async fn open(config: &PostgresConfig) -> Result<DbStore, SocleError> {
    let db = cartable_postgres::connect(config)
        .await
        .map_err(|e| SocleError::Unavailable {
            backend: cartable_socle::store::BACKEND,
            detail: e.to_string(),
        })?;
    Ok(DbStore::open(db).await.unwrap())
}

/// Every call fails with `Unavailable` within `limit`, also many at once.
async fn all_fail_quickly(storage: &Arc<DbStore>, limit: Duration, why: &str) {
    for _ in 0..3 {
        let started = Instant::now();
        let err = storage.layout("lea").await.unwrap_err();
        assert!(is_unavailable(&err), "{why}: {err:?}");
        eprintln!("{why}: {err}");
        assert!(
            started.elapsed() < limit,
            "{why}: took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let calls: Vec<_> = (0..12)
        .map(|i| {
            let storage = Arc::clone(storage);
            tokio::spawn(async move {
                storage
                    .set_data("notes", &DataScope::Shared, &format!("k{i}"), b"v")
                    .await
            })
        })
        .collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert!(is_unavailable(&err), "{why}: {err:?}");
    }
    assert!(
        started.elapsed() < limit * 2,
        "{why}: 12 calls at once took {:?}",
        started.elapsed()
    );
}

/// Calls succeed again within `within`, then keep succeeding.
async fn recovers(storage: &DbStore, within: Duration, why: &str) {
    let started = Instant::now();
    loop {
        match storage.layout("lea").await {
            Ok(layout) => {
                eprintln!("{why}: back after {:?}", started.elapsed());
                assert_eq!(layout.as_deref(), Some("[\"kept\"]"), "{why}");
                break;
            }
            Err(e) if started.elapsed() < within => {
                assert!(is_unavailable(&e), "{why}: {e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{why}: not back after {within:?}: {e}"),
        }
    }
    for i in 0..20 {
        storage
            .set_data("notes", &DataScope::Shared, &format!("after{i}"), b"v")
            .await
            .unwrap_or_else(|e| panic!("{why}: call {i} after recovery: {e}"));
    }
    storage.check().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_recovers_when_the_database_comes_back() {
    let Some(schema) = TestSchema::new("the_pool_recovers_when_the_database_comes_back").await
    else {
        return;
    };
    let proxy = Proxy::start(through(None).0).await;
    let (_, url) = through(Some(proxy.addr));
    let mut config = PostgresConfig::new(url).with_schema(&schema.name);
    config.pool_size = 4;
    config.connect_timeout_ms = 400;
    config.statement_timeout_ms = 800;
    // The deadline of a call is connect + statement timeouts; leave room for scheduling.
    let limit = Duration::from_millis(400 + 800 + 700);
    let storage = Arc::new(open(&config).await.unwrap());
    storage.set_layout("lea", "[\"kept\"]").await.unwrap();
    warm_up(&storage).await;

    // The server goes down: open connections are closed, new ones refused.
    proxy.set(Mode::Down);
    all_fail_quickly(&storage, limit, "database down").await;
    proxy.set(Mode::Up);
    recovers(
        &storage,
        Duration::from_secs(5),
        "after the database was down",
    )
    .await;

    // The network goes silent: nothing is closed, nothing answers.
    proxy.set(Mode::Blackhole);
    all_fail_quickly(&storage, limit, "network silent").await;
    // The silent connections stay open (and dead) in the pool: the pool must find them
    // out by itself.
    proxy.set(Mode::Up);
    recovers(
        &storage,
        Duration::from_secs(10),
        "after the network was silent",
    )
    .await;

    // A short silence while connections sit idle in the pool: nothing fails then, but
    // those connections are dead when the network is back. The pool must find them out
    // (their check before reuse times out) and open new ones.
    warm_up(&storage).await;
    proxy.set(Mode::Blackhole);
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.set(Mode::Up);
    recovers(
        &storage,
        Duration::from_secs(10),
        "after idle connections died",
    )
    .await;
}

/// Open several connections (calls at once).
async fn warm_up(storage: &Arc<DbStore>) {
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let storage = Arc::clone(storage);
            tokio::spawn(async move { storage.layout("lea").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_closed_port_fails_at_once() {
    // Bind then drop: the port is free and refuses connections.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = PostgresConfig::new(format!("postgres://postgres@127.0.0.1:{port}/test"));
    config.connect_timeout_ms = 2000;
    let started = Instant::now();
    let err = open(&config).await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("server runs"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = PostgresConfig::new(format!("postgres://postgres:secret@{addr}/test"));
    config.connect_timeout_ms = 300;
    let started = Instant::now();
    let err = open(&config).await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("within 300 ms"), "{message}");
    assert!(!message.contains("secret"), "never the password: {message}");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    holder.abort();
}

#[tokio::test]
async fn a_blocked_write_is_cancelled_and_leaves_nothing_half_written() {
    let Some(schema) =
        TestSchema::new("a_blocked_write_is_cancelled_and_leaves_nothing_half_written").await
    else {
        return;
    };
    let mut config = schema.config();
    config.statement_timeout_ms = 500;
    let storage = open(&config).await.unwrap();
    let prefs = [("k".to_string(), "v".to_string())].into();
    storage.set_preferences("lea", "w", &prefs).await.unwrap();
    storage.set_layout("lea", "[]").await.unwrap();
    storage
        .set_data("notes", &DataScope::User("lea".into()), "n", b"x")
        .await
        .unwrap();

    // Another session holds the key-value table: delete_user waits on it until the
    // server cancels the statement.
    let mut locker = admin().await;
    let mut tx = locker.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"LOCK TABLE "{}".cartable_kv IN ACCESS EXCLUSIVE MODE"#,
        schema.name
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    let started = Instant::now();
    let err = storage.delete_user("lea").await.unwrap_err();
    assert!(is_unavailable(&err), "{err:?}");
    assert!(err.to_string().contains("statement timeout"), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    tx.rollback().await.unwrap();

    assert_eq!(
        storage.preferences("lea", "w").await.unwrap(),
        prefs,
        "the transaction was rolled back as a whole"
    );
    assert_eq!(storage.layout("lea").await.unwrap().as_deref(), Some("[]"));
    storage.delete_user("lea").await.unwrap();
    assert!(storage.preferences("lea", "w").await.unwrap().is_empty());
    assert_eq!(
        storage
            .data("notes", &DataScope::User("lea".into()), "n")
            .await
            .unwrap(),
        None
    );
}
