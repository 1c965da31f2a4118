//! A remote-portlet producer (SDET integration level 2a) as its own process: another ENT
//! shows these portlets through `cartable_remote::RemoteProducer`.
//!
//! ```text
//! cargo run --example remote_producer -- --listen 127.0.0.1:8081 --key-id ent-voisin --key "$(openssl rand -hex 32)"
//! ```
//!
//! Serves the `bienvenue`, `bloc-notes` and `nouveautes` portlets of the services
//! `cartable-accueil`, `cartable-bloc-notes` and `cartable-annonces` (features of the
//! `cartable` crate) and the demo's own small `cantine` portlet (the canteen menu, and a
//! form to book tomorrow's lunch). Options, each also read from the environment:
//!
//! | option | environment | default |
//! |---|---|---|
//! | `--listen ADDR` | `CARTABLE_REMOTE_LISTEN` | `127.0.0.1:8081` |
//! | `--key-id ID` | `CARTABLE_REMOTE_KEY_ID` | `consumer` |
//! | `--key SECRET` | `CARTABLE_REMOTE_KEY` | a development key, on loopback only |
//! | `--data-dir DIR` | `CARTABLE_REMOTE_DATA_DIR` | none: data in memory |
//! | `--exit-after SECONDS` | — | never (tests use it so the process always ends) |
//!
//! The first line on stdout is the producer's base URL, e.g. `http://127.0.0.1:8081/`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cartable::remote::Producer;
use cartable::socle::DbStore;

/// A key for trying the example on one machine; never use it on a network.
const DEVELOPMENT_KEY: &str = "development-key-for-loopback-only-0123456789";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("remote_producer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line and environment, read.
struct Options {
    listen: SocketAddr,
    key_id: String,
    key: Option<String>,
    data_dir: Option<PathBuf>,
    exit_after: Option<Duration>,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut listen = env("CARTABLE_REMOTE_LISTEN").unwrap_or_else(|| "127.0.0.1:8081".into());
    let mut key_id = env("CARTABLE_REMOTE_KEY_ID").unwrap_or_else(|| "consumer".into());
    let mut key = env("CARTABLE_REMOTE_KEY");
    let mut data_dir = env("CARTABLE_REMOTE_DATA_DIR").map(PathBuf::from);
    let mut exit_after = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value (see --help)"))
        };
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--key-id" => key_id = value()?,
            "--key" => key = Some(value()?),
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--exit-after" => {
                let secs: u64 = value()?
                    .parse()
                    .map_err(|_| "--exit-after takes a number of seconds")?;
                exit_after = Some(Duration::from_secs(secs));
            }
            "--help" | "-h" => {
                println!(
                    "usage: remote_producer [--listen ADDR] [--key-id ID] [--key SECRET] [--data-dir DIR] [--exit-after SECONDS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (see --help)").into()),
        }
    }
    let listen = listen
        .parse()
        .map_err(|_| format!("--listen {listen:?} is not an address such as 127.0.0.1:8081"))?;
    Ok(Options {
        listen,
        key_id,
        key,
        data_dir,
        exit_after,
    })
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let key = match options.key {
        Some(k) => k,
        None if options.listen.ip().is_loopback() => {
            eprintln!("remote_producer: no --key given, using the development key (loopback only)");
            DEVELOPMENT_KEY.to_string()
        }
        None => return Err("give the shared key with --key or CARTABLE_REMOTE_KEY".into()),
    };
    let mut builder = Producer::builder("Cartable remote producer example")
        .consumer(&options.key_id, &key)?
        .portlet(Arc::new(cartable::accueil::Welcome::new()))
        .portlet(Arc::new(cartable::bloc_notes::Notes::new()))
        .portlet(Arc::new(cartable::annonces::News::new()))
        .portlet(Arc::new(cartable_demo::Cantine::new()));
    if let Some(dir) = options.data_dir {
        std::fs::create_dir_all(&dir)?;
        let storage = DbStore::sqlite(&dir.join("remote-producer.sqlite3")).await?;
        builder = builder.storage(Arc::new(storage));
    }
    let producer = builder.build().await?;
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    let running = producer.serve(listener)?;
    // The first line of stdout: tests and scripts read the address from it.
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{}/", running.local_addr())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "remote_producer: serving bienvenue, bloc-notes, nouveautes and cantine to key {:?}",
        options.key_id
    );
    match options.exit_after {
        Some(after) => {
            tokio::select! {
                _ = tokio::time::sleep(after) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            running.shutdown().await;
        }
        None => running.wait().await,
    }
    Ok(())
}
