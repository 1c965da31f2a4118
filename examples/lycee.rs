//! The lycée demo ENT: `cargo run --release --example lycee`, then open
//! <http://127.0.0.1:8080> and log in as `eleve`/`eleve`, `enseignant`/`enseignant`,
//! `parent`/`parent` or `personnel`/`personnel`.
//!
//! Runs on embedded defaults: the configuration and directory under `examples/lycee/`,
//! a SQLite file under `examples/lycee/data/`. `--config FILE` uses another configuration;
//! `CARTABLE_LISTEN` and `CARTABLE_DATA_DIR` override the address and the data directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cartable::portal::{Config, PortalBuilder};

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
    let mut config = Config::load(&config_path)?;
    config.apply_env()?;
    let portal = PortalBuilder::new(config)
        .portlets(cartable_demo::all())
        .build()
        .await?;
    let running = portal.bind().await?;
    println!("Lycée Victor Hugo ENT on http://{}", running.local_addr());
    println!("Demo logins: eleve/eleve, enseignant/enseignant, parent/parent, personnel/personnel");
    running.wait().await;
    Ok(())
}
