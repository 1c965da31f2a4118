//! The lycée demo ENT: `cargo run --release --example lycee`, then open
//! <http://127.0.0.1:8080> and log in as `eleve`/`eleve`, `enseignant`/`enseignant`,
//! `parent`/`parent` or `personnel`/`personnel`.
//!
//! Runs on embedded defaults: the configuration and directory under `examples/lycee/`,
//! a SQLite file under `examples/lycee/data/`. `--config FILE` uses another configuration
//! (`examples/lycee/cartable-ldap.toml` runs it on the test LDAP directory; a `[postgres]`
//! section, or `CARTABLE_POSTGRES_URL`, moves its data to PostgreSQL); `CARTABLE_LISTEN`
//! and `CARTABLE_DATA_DIR` override the address and the data directory.
//!
//! The backends come from the configuration through [`cartable::EntBuilder`]: this file
//! only adds the demo's portlets.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cartable::{EntBuilder, EntConfig};

/// The allocator of every Cartable server example (see the `mimalloc` note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lycee: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config_path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => PathBuf::from(path),
        (None, _) => Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee/cartable.toml"),
        _ => return Err("usage: lycee [--config FILE]".into()),
    };
    let mut config = EntConfig::load(&config_path)?;
    config.apply_env()?;
    // The demo's neighbours (news feeds, a CAS-linked CDI, a remote producer) on a
    // loopback port of their own.
    let site = cartable_demo::site::DemoSite::start().await?;
    config.portal.cas.services.extend(site.cas_services());
    let base_path = config.portal.base_path.clone();
    let portal = EntBuilder::new(config)
        .portlets(site.all_portlets(&base_path))
        .build()
        .await?;
    let running = portal.bind().await?;
    site.set_portal(url::Url::parse(&format!(
        "http://{}{base_path}/",
        running.local_addr(),
    ))?);
    println!("Lycée Victor Hugo ENT on http://{}", running.local_addr());
    println!("Demo logins: eleve/eleve, enseignant/enseignant, parent/parent, personnel/personnel");
    running.wait().await;
    Ok(())
}
