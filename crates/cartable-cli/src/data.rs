//! `cartable export` and `cartable import`: a user's "Mes données" archive from a shell,
//! the same archive as `/compte` builds (one ZIP, its manifest signed by the
//! établissement) and the same import (verified whole, restored in one transaction,
//! reported line by line).
//!
//! The portal is built offline ([`PortalBuilder::offline`](cartable::portal::PortalBuilder::offline)):
//! nothing is served or started, so the command runs beside serving nodes; the search
//! updates an import causes wait in the database's queue for one of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cartable::portal::Portal;
use cartable::portal::portability::{ACTIVITY_SERVICE, ImportOutcome, Origin, Portability};
use cartable::portlet::export::{ImportReport, Outcome};
use indicatif::{ProgressBar, ProgressStyle};

/// Why an export or an import did not happen (nothing was written or imported).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The configuration cannot be loaded.
    #[error("{path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The portal cannot be assembled from the configuration (a backend down…).
    #[error("cannot open the ENT's data: {0}")]
    Portal(String),
    /// No such person in the directory.
    #[error(
        "no person {0:?} in the directory: give the login the directory knows (`uid`), or leave --user out to import as the archive's owner"
    )]
    UnknownUser(String),
    /// The archive is not one this ENT accepts.
    #[error("{path}: {message}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// Why it is refused (nothing was imported).
        message: String,
    },
    /// Writing or reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A service failed while exporting or importing.
    #[error("{0}; nothing was imported")]
    Service(String),
}

impl DataError {
    /// The error of an I/O failure on `path`.
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
        move |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Load the configuration and build the portal offline, with the `cartable` crate's
/// services (those `check` and `migrate` know).
pub async fn open(config_path: &Path) -> Result<Portal, DataError> {
    let config_error = |e: &dyn std::fmt::Display| DataError::Config {
        path: config_path.to_path_buf(),
        message: e.to_string(),
    };
    let mut config = cartable::EntConfig::load(config_path).map_err(|e| config_error(&e))?;
    config.apply_env().map_err(|e| config_error(&e))?;
    cartable::EntBuilder::new(config)
        .portlets(crate::check::services())
        .with_portal(|p| p.offline())
        .build()
        .await
        .map_err(|e| DataError::Portal(e.to_string()))
}

/// A bar over the services, on stderr (hidden when stderr is not a terminal).
fn services_bar(len: usize, verb: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{verb} {{msg}} [{{bar:30}}] {{pos}}/{{len}} services"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Write `user`'s archive to `out` (atomically: a partial file never has the name);
/// its size in bytes.
pub async fn export(portal: &Portal, user: &str, out: &Path) -> Result<u64, DataError> {
    let person = portal
        .person(user)
        .await
        .map_err(|e| DataError::Portal(e.to_string()))?
        .ok_or_else(|| DataError::UnknownUser(user.to_string()))?;
    let portability = portal.portability();
    let bar = services_bar(portability.service_names().len(), "export");
    let progress = {
        let bar = bar.clone();
        move |service: &str| {
            bar.set_message(service.to_string());
            bar.inc(1);
        }
    };
    let (mut archive, size) = portability
        .build_reporting(Arc::clone(&person), "fr", &progress)
        .await
        .map_err(|e| DataError::Service(e.to_string()))?;
    bar.finish_and_clear();
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut spool = tempfile::NamedTempFile::new_in(dir).map_err(DataError::io(dir))?;
    std::io::copy(&mut archive, &mut spool).map_err(DataError::io(out))?;
    spool.persist(out).map_err(|e| DataError::Io {
        path: out.to_path_buf(),
        source: e.error,
    })?;
    Ok(size)
}

/// What an import did: the outcome, and for whom.
#[derive(Debug)]
pub struct Imported {
    /// The person whose data it now is.
    pub user: String,
    /// Where the archive came from.
    pub origin: Origin,
    /// Each service's report.
    pub outcome: ImportOutcome,
}

impl Imported {
    /// How many items the services refused. The portal's record of her activity in
    /// another ENT is never restored (it stays hers, in the archive): not counted.
    pub fn refused(&self) -> usize {
        self.reports()
            .filter(|(service, _)| *service != ACTIVITY_SERVICE)
            .map(|(_, r)| r.refused())
            .sum()
    }

    /// How many items were restored, in all services.
    pub fn accepted(&self) -> usize {
        self.reports().map(|(_, r)| r.accepted()).sum()
    }

    /// The reports of the services installed here.
    fn reports(&self) -> impl Iterator<Item = (&str, &ImportReport)> {
        self.outcome
            .reports
            .iter()
            .filter_map(|(service, r)| Some((service.as_str(), r.as_ref()?)))
    }
}

/// Verify `archive` whole, then give each service its files in one transaction, as
/// `user` (default: the archive's owner).
pub async fn import(
    portal: &Portal,
    archive: &Path,
    user: Option<&str>,
) -> Result<Imported, DataError> {
    let refused = |e: &dyn std::fmt::Display| DataError::Archive {
        path: archive.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(archive).map_err(DataError::io(archive))?;
    let verified = Portability::verify(file).map_err(|e| refused(&e))?;
    let portability = portal.portability();
    let origin = portability
        .admit(&verified.manifest)
        .map_err(|e| refused(&e))?;
    let user = user.unwrap_or(&verified.manifest.user.id).to_string();
    let person = portal
        .person(&user)
        .await
        .map_err(|e| DataError::Portal(e.to_string()))?
        .ok_or_else(|| DataError::UnknownUser(user.clone()))?;
    let bar = services_bar(verified.files.len(), "import");
    let progress = {
        let bar = bar.clone();
        move |service: &str| {
            bar.set_message(service.to_string());
            bar.inc(1);
        }
    };
    let outcome = portability
        .import_reporting(person, "fr", verified, &progress)
        .await
        .map_err(|e| DataError::Service(e.to_string()))?;
    bar.finish_and_clear();
    Ok(Imported {
        user,
        origin,
        outcome,
    })
}

/// The report of an import, one line per refused item and one per service.
pub fn report(imported: &Imported) -> Vec<String> {
    let mut out = Vec::new();
    for (service, report) in &imported.outcome.reports {
        if service == ACTIVITY_SERVICE {
            out.push(format!(
                "{service}: the activity another ENT kept stays in the archive (not restored)"
            ));
            continue;
        }
        let Some(report) = report else {
            out.push(format!(
                "{service}: not installed here, its files were left aside"
            ));
            continue;
        };
        out.push(format!(
            "{service}: {} restored, {} refused",
            report.accepted(),
            report.refused()
        ));
        for line in &report.lines {
            if let Outcome::Refused(why) = &line.outcome {
                let at = if line.location.is_empty() {
                    String::new()
                } else {
                    format!(":{}", line.location)
                };
                out.push(format!(
                    "  refused {service}/{}{at} {:?}: {why}",
                    line.file, line.item
                ));
            }
        }
    }
    out
}
