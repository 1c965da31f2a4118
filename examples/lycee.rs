//! The lycée demo ENT: `cargo run --release --example lycee`, then open
//! <http://127.0.0.1:8080> and log in as `eleve`/`eleve`, `enseignant`/`enseignant`,
//! `parent`/`parent` or `personnel`/`personnel`.
//!
//! Runs on embedded defaults: the configuration and directory under `examples/lycee/`,
//! a SQLite file under `examples/lycee/data/`. `--config FILE` uses another configuration
//! (`examples/lycee/cartable-ldap.toml` runs it on the test LDAP directory);
//! `CARTABLE_LISTEN` and `CARTABLE_DATA_DIR` override the address and the data directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use cartable::ldap::{LdapConfig, LdapDirectory};
use cartable::portal::{Config, PortalBuilder};

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
    let mut config = Config::load(&config_path)?;
    config.apply_env()?;
    // The demo's neighbours (news feeds, a CAS-linked CDI, a remote producer) on a
    // loopback port of their own.
    let site = cartable_demo::site::DemoSite::start().await?;
    config.cas.services.extend(site.cas_services());
    let mut builder =
        PortalBuilder::new(config.clone()).portlets(site.all_portlets(&config.base_path));
    // With an [ldap] section, the directory is LDAP; otherwise the LDIF file.
    if let Some(table) = config.ldap {
        let ldap: LdapConfig = toml::Value::Table(table).try_into()?;
        let directory = LdapDirectory::new(ldap)?;
        if let Err(e) = directory.check().await {
            eprintln!("lycee: the LDAP directory does not answer yet ({e}); logins will say so");
        }
        builder = builder.directory(Arc::new(directory));
    }
    let portal = builder.build().await?;
    let running = portal.bind().await?;
    site.set_portal(url::Url::parse(&format!(
        "http://{}{}/",
        running.local_addr(),
        config.base_path
    ))?);
    println!("Lycée Victor Hugo ENT on http://{}", running.local_addr());
    println!("Demo logins: eleve/eleve, enseignant/enseignant, parent/parent, personnel/personnel");
    running.wait().await;
    Ok(())
}
