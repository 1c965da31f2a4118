//! `cartable`: the command of Cartable integrators.
//!
//! - `cartable check <config.toml>`: the configuration loaded as a portal loads it, and
//!   the checks a portal makes at start that need no server; each problem names its key
//!   and its line. Exit status 0 when valid, 1 when not, 2 on a usage error.
//! - `cartable new-service <name>`: a service crate in the shape of the design brief.
//! - `cartable export <config.toml> --user <id> [--out <file.zip>]` and `cartable import
//!   <config.toml> <file.zip> [--user <id>]`: a user's "Mes données" archive, as `/compte`
//!   makes and imports it. An import that restored everything exits with 0, one that
//!   restored what it could and refused some items (each listed) with 3.
//! - `cartable import-directory <file.ldif>`: an LDIF export checked, summarized and, with
//!   `--install`, put in place of the configuration's `directory`.
//!
//! See `crates/cartable-cli/README.md`.

mod check;
mod data;
mod import;
mod locate;
mod new_service;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::Severity;

/// Exit status of a configuration or file found invalid.
const INVALID: u8 = 1;
/// Exit status of a usage error (as clap's own).
const USAGE: u8 = 2;
/// Exit status of an import that restored what it could and refused some items.
const PARTIAL: u8 = 3;

/// The Cartable command for integrators.
#[derive(Debug, Parser)]
#[command(
    name = "cartable",
    version,
    about = "The Cartable command for integrators: check a configuration, apply the database \
             migrations, start a service crate, import a directory export",
    after_help = "Exit status: 0 when all is well, 1 when something is invalid or failed (nothing \
                  changed), 2 on a usage error, 3 when an import restored what it could and \
                  refused some items (each listed)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a configuration file as a portal loads it, without starting one: every
    /// problem is said with its key and its line.
    Check {
        /// The configuration file (cartable.toml).
        config: PathBuf,
        /// A portlet id your main.rs registers beside the `cartable` crate's services
        /// (repeat it for each): layouts may name it.
        #[arg(long = "portlet", value_name = "ID")]
        portlets: Vec<String>,
        /// Your binary registers none of the `cartable` crate's services.
        #[arg(long)]
        no_services: bool,
    },
    /// Apply the pending database migrations of the socle and of the `cartable` crate's
    /// services to the configuration's database (the SQLite file of its data directory,
    /// or `[postgres]`), without starting the portal; say each one applied.
    Migrate {
        /// The configuration file (cartable.toml).
        config: PathBuf,
    },
    /// Ask the portal to rebuild its search index from the services' data: a job is put
    /// in the configuration's database (after its pending migrations), and a running node
    /// rebuilds the index (or the first node to start). The admin page has the same button.
    Reindex {
        /// The configuration file (cartable.toml).
        config: PathBuf,
    },
    /// Write a user's "Mes données" archive (one ZIP, every service's part in an open
    /// format, a manifest signed by the établissement), as `/compte` builds it.
    Export {
        /// The configuration file (cartable.toml).
        config: PathBuf,
        /// The user's login as the directory knows it.
        #[arg(long)]
        user: String,
        /// Where to write the archive (default: mes-donnees-<user>.zip here). Written
        /// whole or not at all.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Import a "Mes données" archive (of this ENT or of another Cartable): verified
    /// whole first, restored in one transaction, each refused item listed with why.
    Import {
        /// The configuration file (cartable.toml).
        config: PathBuf,
        /// The archive.
        archive: PathBuf,
        /// Whose data it becomes (default: the archive's owner, by her login).
        #[arg(long)]
        user: Option<String>,
    },
    /// Write a new service crate (portlet, templates, locales, tests), by default at
    /// crates/services/cartable-<NAME> of the workspace you are in.
    NewService {
        /// The service's name, also its portlet id: lower-case letters, digits and '-'.
        name: String,
        /// The crate's directory, instead of crates/services/cartable-<NAME>.
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// Check an LDIF export of the reference directory as the portal reads it, say what
    /// it holds and, with --install, put it in place of the configuration's `directory`.
    ImportDirectory {
        /// The LDIF file.
        file: PathBuf,
        /// The ENT's configuration: where --install puts the file.
        #[arg(long, value_name = "CONFIG")]
        config: Option<PathBuf>,
        /// Replace the configuration's `directory` file by this one (atomically; the old
        /// one is kept as <name>.previous). Only a file with no refused entry is installed.
        #[arg(long, requires = "config")]
        install: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            config,
            portlets,
            no_services,
        } => run_check(check::Options {
            config,
            portlets,
            no_services,
        }),
        Command::Migrate { config } => run_migrate(&config),
        Command::Reindex { config } => run_reindex(&config),
        Command::Export { config, user, out } => run_export(&config, &user, out),
        Command::Import {
            config,
            archive,
            user,
        } => run_data_import(&config, &archive, user.as_deref()),
        Command::NewService { name, path } => run_new_service(&name, path),
        Command::ImportDirectory {
            file,
            config,
            install,
        } => run_import(&file, config, install),
    }
}

fn run_check(options: check::Options) -> ExitCode {
    let outcome = check::check(&options);
    let mut problems = outcome.problems.clone();
    // Errors first, then warnings, then notes; in the order found within each.
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    for problem in &problems {
        eprintln!("{problem}");
    }
    if outcome.has_errors() {
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        eprintln!(
            "{}: invalid ({errors} error{})",
            options.config.display(),
            if errors == 1 { "" } else { "s" }
        );
        return ExitCode::from(INVALID);
    }
    if let Some(summary) = outcome.summary {
        println!("{summary}");
    }
    ExitCode::SUCCESS
}

fn run_migrate(path: &std::path::Path) -> ExitCode {
    let mut config = match cartable::EntConfig::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(INVALID);
        }
    };
    if let Err(e) = config.apply_env() {
        eprintln!("error: {}: {e}", path.display());
        return ExitCode::from(INVALID);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cartable::migrate(&config, &check::services())) {
        Ok(applied) if applied.0.is_empty() => {
            println!("{}: nothing to migrate", path.display());
            ExitCode::SUCCESS
        }
        Ok(applied) => {
            for (service, name) in &applied.0 {
                println!("applied {service} {name}");
            }
            println!(
                "{}: {} migration{} applied",
                path.display(),
                applied.0.len(),
                if applied.0.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_reindex(path: &std::path::Path) -> ExitCode {
    let mut config = match cartable::EntConfig::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(INVALID);
        }
    };
    if let Err(e) = config.apply_env() {
        eprintln!("error: {}: {e}", path.display());
        return ExitCode::from(INVALID);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cartable::reindex(&config, &check::services())) {
        Ok(()) => {
            println!(
                "{}: the search index will be rebuilt by the portal (job search.rebuild queued)",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A runtime for one command.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

fn run_export(config: &std::path::Path, user: &str, out: Option<PathBuf>) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let out = out.unwrap_or_else(|| PathBuf::from(format!("mes-donnees-{user}.zip")));
    let done = runtime.block_on(async {
        let portal = data::open(config).await?;
        data::export(&portal, user, &out).await
    });
    match done {
        Ok(size) => {
            println!(
                "{}: archive of {user} written ({size} bytes)",
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(INVALID)
        }
    }
}

fn run_data_import(
    config: &std::path::Path,
    archive: &std::path::Path,
    user: Option<&str>,
) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let done = runtime.block_on(async {
        let portal = data::open(config).await?;
        data::import(&portal, archive, user).await
    });
    match done {
        Ok(imported) => {
            for line in data::report(&imported) {
                println!("{line}");
            }
            let from = match &imported.origin {
                cartable::portal::portability::Origin::Own => "this établissement".to_string(),
                cartable::portal::portability::Origin::Trusted(name) => format!("{name} (trusted)"),
                cartable::portal::portability::Origin::Unknown => {
                    "an établissement whose key this ENT does not know".to_string()
                }
            };
            let refused = imported.refused();
            println!(
                "{}: imported for {} from {from}: {} item{} restored, {refused} refused",
                archive.display(),
                imported.user,
                imported.accepted(),
                if imported.accepted() == 1 { "" } else { "s" },
            );
            if refused > 0 {
                ExitCode::from(PARTIAL)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(INVALID)
        }
    }
}

fn run_new_service(name: &str, path: Option<PathBuf>) -> ExitCode {
    let result = (|| {
        let names = new_service::Names::new(name)?;
        let cwd =
            std::env::current_dir().map_err(|source| new_service::NewServiceError::Write {
                path: PathBuf::from("."),
                source,
            })?;
        let dir = new_service::target_dir(&names, path.as_deref(), &cwd)?;
        let files = new_service::write(&names, &dir)?;
        Ok::<_, new_service::NewServiceError>((names, dir, files))
    })();
    match result {
        Ok((names, dir, files)) => {
            if let Err(why) = new_service::format(&files) {
                eprintln!("note: the Rust files are not formatted ({why}); run cargo fmt");
            }
            println!(
                "created {} ({} files): the portlet `{}` in src/lib.rs, migrations/, templates/, \
                 locales/, tests/",
                dir.display(),
                files.len(),
                names.service
            );
            println!("next: cargo test -p {}", names.crate_name);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_usage() { USAGE } else { INVALID })
        }
    }
}

fn run_import(file: &std::path::Path, config: Option<PathBuf>, install: bool) -> ExitCode {
    // Where it would go, known first: a configuration that says nowhere stops here.
    let target = match config.as_deref().map(import::install_target).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(INVALID);
        }
    };
    let text = match import::read_text(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(INVALID);
        }
    };
    let findings = match import::examine(&text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(INVALID);
        }
    };
    for refusal in &findings.refused {
        let dn = refusal
            .dn
            .as_deref()
            .map(|dn| format!("entry {dn:?}: "))
            .unwrap_or_default();
        match refusal.line {
            0 => eprintln!("error: {}: {dn}{}", file.display(), refusal.message),
            line => eprintln!("error: {}:{line}: {dn}{}", file.display(), refusal.message),
        }
    }
    if !findings.refused.is_empty() {
        eprintln!(
            "{}: {}{} entr{} refused: the portal would refuse the whole file; fix the lines above{}",
            file.display(),
            if findings.stopped_early {
                "at least "
            } else {
                ""
            },
            findings.refused.len(),
            if findings.refused.len() == 1 {
                "y"
            } else {
                "ies"
            },
            if install {
                "; nothing was installed"
            } else {
                ""
            }
        );
        return ExitCode::from(INVALID);
    }
    let mut profiles: Vec<String> = findings
        .per_profile
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    if findings.without_profile > 0 {
        profiles.push(format!("no profile {}", findings.without_profile));
    }
    println!(
        "{}: {} people ({}), no entry refused",
        file.display(),
        findings.people,
        if profiles.is_empty() {
            "none".to_string()
        } else {
            profiles.join(", ")
        }
    );
    for (profile, n) in &findings.per_profile {
        if let Some(code) = profile.strip_prefix("national_") {
            eprintln!(
                "warning: {n} {} the profile `{profile}`: {code:?} is not a National_ code                  Cartable knows (ELV, ENS, TUT, DIR, EVS, ETA, DOC, COL, PERS), so it is taken as                  an établissement profile; check the ENTPersonProfils values",
                if *n == 1 { "person has" } else { "people have" }
            );
        }
    }
    let Some(target) = target else {
        return ExitCode::SUCCESS;
    };
    if !install {
        println!(
            "not installed: --install replaces {} (kept as {})",
            target.display(),
            import::previous_path(&target).display()
        );
        return ExitCode::SUCCESS;
    }
    match import::install(&text, &target) {
        Ok(import::Installed::Unchanged) => {
            println!(
                "{} has this content already: nothing changed",
                target.display()
            );
            ExitCode::SUCCESS
        }
        Ok(import::Installed::Written { previous }) => {
            match previous {
                Some(p) => println!(
                    "installed as {} (the previous file is {}); restart the portal to use it",
                    target.display(),
                    p.display()
                ),
                None => println!(
                    "installed as {}; restart the portal to use it",
                    target.display()
                ),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(INVALID)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
