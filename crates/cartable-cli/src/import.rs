//! `cartable import-directory <file.ldif>`: an LDIF export of the reference directory
//! checked as the portal's embedded directory reads it (`cartable::ldif::LdifDirectory`),
//! what it holds, and with `--install` the file put in place of the configuration's
//! `directory`, atomically, the old one kept as `<name>.previous`.
//!
//! The portal refuses a whole file for its first bad entry. To list every refused entry
//! with its line, the file is read again without that entry (its lines blanked, so that
//! the line numbers of the others stay the same) until it is accepted, at most
//! [`MAX_REFUSED`] times.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use cartable::EntConfig;
use cartable::ldif::{LdifDirectory, LdifError};
use cartable::socle::Directory;
use indicatif::{ProgressBar, ProgressStyle};
use thiserror::Error;

/// The most refused entries listed; the file is not read further after that many.
pub const MAX_REFUSED: usize = 100;

/// Why the file could not be checked or installed.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The LDIF file cannot be read.
    #[error("cannot read {}: {source}; check the path and its permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text (LDIF values that are not are written in base64).
    #[error(
        "{}: not UTF-8 text at byte {offset}; export the directory as UTF-8 (values that are \
         not text go in base64 after `attr::`)",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The first byte that is not.
        offset: usize,
    },
    /// The configuration says nowhere to install the file.
    #[error("{0}")]
    Config(String),
    /// Installing failed; the file in place is unchanged.
    #[error("cannot install {}: {source}; the directory file in place is unchanged", path.display())]
    Install {
        /// The file being written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The directory could not be queried.
    #[error("cannot count the people of the file: {0}")]
    Count(String),
}

/// An entry the portal would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The line of the problem (1-based).
    pub line: usize,
    /// The entry's dn, when it has one.
    pub dn: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

/// What an LDIF file holds.
#[derive(Debug, Default)]
pub struct Findings {
    /// The people accepted (entries with a `uid`).
    pub people: usize,
    /// People by profile (`eleve`, `enseignant`…); someone with two profiles counts twice.
    pub per_profile: BTreeMap<String, usize>,
    /// People with no profile.
    pub without_profile: usize,
    /// Entries refused, in the order of the file.
    pub refused: Vec<Refusal>,
    /// More entries may be refused after the listed ones ([`MAX_REFUSED`]).
    pub stopped_early: bool,
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Read a file with a progress bar of its bytes.
pub fn read_text(path: &Path) -> Result<String, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = bar(
        len,
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
    );
    progress.set_message(format!("reading {}", path.display()));
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut chunk).map_err(read_error)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    String::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// The line an error is about.
fn error_line(e: &LdifError) -> Option<usize> {
    match e {
        LdifError::Io { .. } => None,
        LdifError::Syntax { line, .. }
        | LdifError::Base64 { line, .. }
        | LdifError::DuplicateUid { line, .. }
        | LdifError::PasswordScheme { line, .. }
        | LdifError::Entry { line, .. } => Some(*line),
    }
}

/// The lines (0-based, end excluded) of the record holding 0-based line `at`: the lines
/// between the blank lines around it.
fn record_around(lines: &[String], at: usize) -> (usize, usize) {
    let blank = |l: &String| l.trim().is_empty();
    let start = lines[..at].iter().rposition(blank).map_or(0, |i| i + 1);
    let end = lines[at..]
        .iter()
        .position(blank)
        .map_or(lines.len(), |i| at + i);
    (start, end)
}

/// The value of an attribute of one record's lines (unfolded; base64 decoded).
fn attribute(record: &[String], name: &str) -> Option<String> {
    let mut logical: Vec<String> = Vec::new();
    for line in record {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix(' ') {
            if let Some(last) = logical.last_mut() {
                last.push_str(rest);
            }
        } else if line.starts_with('#') {
            // A comment (its continuations are dropped with it below).
            logical.push(String::new());
        } else {
            logical.push(line.to_string());
        }
    }
    logical.iter().find_map(|l| {
        let (n, rest) = l.split_once(':')?;
        if !n.eq_ignore_ascii_case(name) {
            return None;
        }
        match rest.strip_prefix(':') {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok()),
            None => Some(rest.trim().to_string()),
        }
    })
}

/// Check LDIF text as the portal's directory reads it, listing every refused entry, and
/// count the people by profile.
pub fn examine(text: &str) -> Result<Findings, ImportError> {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut findings = Findings::default();
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner.set_message("checking the entries");
    let directory = loop {
        match LdifDirectory::parse(&lines.join("\n")) {
            Ok(directory) => break Some(directory),
            Err(e) => {
                let Some(line) = error_line(&e).filter(|l| (1..=lines.len()).contains(l)) else {
                    findings.refused.push(Refusal {
                        line: 0,
                        dn: None,
                        message: e.to_string(),
                    });
                    break None;
                };
                let (start, end) = record_around(&lines, line - 1);
                let dn = attribute(&lines[start..end], "dn");
                // The line and the entry are said apart: not again in the message.
                let full = e.to_string();
                let message = full
                    .strip_prefix(&format!("LDIF line {line}: "))
                    .unwrap_or(&full);
                let message = dn
                    .as_ref()
                    .and_then(|dn| message.strip_prefix(&format!("entry {dn:?}: ")))
                    .unwrap_or(message)
                    .to_string();
                findings.refused.push(Refusal { line, dn, message });
                if findings.refused.len() >= MAX_REFUSED {
                    findings.stopped_early = true;
                    break None;
                }
                lines[start..end].iter_mut().for_each(String::clear);
                spinner.set_message(format!(
                    "checking the entries ({} refused)",
                    findings.refused.len()
                ));
            }
        }
    };
    spinner.finish_and_clear();
    let Some(directory) = directory else {
        return Ok(findings);
    };
    findings.people = directory.len();
    // Every uid of the accepted text, looked up as the portal would.
    let mut uids = Vec::new();
    let mut start = 0;
    for (i, line) in lines
        .iter()
        .enumerate()
        .chain(std::iter::once((lines.len(), &String::new())))
    {
        if line.trim().is_empty() {
            if start < i
                && let Some(uid) = attribute(&lines[start..i], "uid")
            {
                uids.push(uid);
            }
            start = i + 1;
        }
    }
    let progress = bar(uids.len() as u64, "{msg} [{bar:30}] {pos}/{len}");
    progress.set_message("counting the people by profile");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| ImportError::Count(e.to_string()))?;
    for uid in &uids {
        let person = runtime
            .block_on(directory.person(uid))
            .map_err(|e| ImportError::Count(e.to_string()))?;
        if let Some(person) = person {
            if person.profiles.is_empty() {
                findings.without_profile += 1;
            }
            for profile in &person.profiles {
                *findings
                    .per_profile
                    .entry(profile.as_str().to_string())
                    .or_default() += 1;
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(findings)
}

/// Where the configuration keeps its LDIF directory.
pub fn install_target(config: &Path) -> Result<PathBuf, ImportError> {
    let config = EntConfig::load(config).map_err(|e| ImportError::Config(e.to_string()))?;
    if let Some(ldap) = &config.ldap {
        return Err(ImportError::Config(format!(
            "this ENT's directory is on LDAP ([ldap] url = {:?}): load the file into the LDAP \
             server (ldapadd, slapadd); nothing was installed",
            ldap.url
        )));
    }
    config.portal.directory.clone().ok_or_else(|| {
        ImportError::Config(
            "the configuration names no `directory` (the LDIF file of the embedded directory): \
             set `directory = \"annuaire.ldif\"` first; nothing was installed"
                .into(),
        )
    })
}

/// The name the replaced file is kept under: `annuaire.ldif.previous`.
pub fn previous_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".previous");
    target.with_file_name(name)
}

/// What [`install`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// The file was written; the one it replaced, if any, is kept there.
    Written {
        /// The copy of the file replaced.
        previous: Option<PathBuf>,
    },
    /// The file in place has the same content: nothing was changed.
    Unchanged,
}

/// Put `text` at `target` atomically: written to a temporary file in the same directory,
/// then renamed over it; the file replaced is kept as `<name>.previous` (its permissions
/// are given to the new one).
pub fn install(text: &str, target: &Path) -> Result<Installed, ImportError> {
    let error = |source| ImportError::Install {
        path: target.to_path_buf(),
        source,
    };
    let existing = match std::fs::read(target) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(error(e)),
    };
    if existing.as_deref() == Some(text.as_bytes()) {
        return Ok(Installed::Unchanged);
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cartable-import-")
        .suffix(".ldif")
        .tempfile_in(dir)
        .map_err(error)?;
    tmp.write_all(text.as_bytes()).map_err(error)?;
    tmp.as_file().sync_all().map_err(error)?;
    let mut previous = None;
    if existing.is_some() {
        let permissions = std::fs::metadata(target).map_err(error)?.permissions();
        tmp.as_file().set_permissions(permissions).map_err(error)?;
        let kept = previous_path(target);
        match std::fs::remove_file(&kept) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error(e)),
        }
        // A second name for the old file, so that `target` is never missing.
        if std::fs::hard_link(target, &kept).is_err() {
            std::fs::copy(target, &kept).map_err(error)?;
        }
        previous = Some(kept);
    }
    tmp.persist(target).map_err(|e| error(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Make the rename durable where the system allows it.
        let _ = d.sync_all();
    }
    Ok(Installed::Written { previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: 1\n\ndn: ou=people,dc=x\nou: people\n\ndn: uid=a,ou=people,dc=x\nuid: a\ncn: A\nENTPersonProfils: National_ELV\n\ndn: uid=b,ou=people,dc=x\nuid:: Yg==\ncn: B\nENTPersonProfils: National_ENS\nENTPersonProfils: National_TUT\n\ndn: uid=c,ou=people,dc=x\nuid: c\ncn: C\n";

    #[test]
    fn people_are_counted_by_profile() {
        let f = examine(GOOD).unwrap();
        assert!(f.refused.is_empty());
        assert_eq!(f.people, 3);
        assert_eq!(f.per_profile.get("eleve"), Some(&1));
        assert_eq!(f.per_profile.get("enseignant"), Some(&1));
        assert_eq!(f.per_profile.get("parent"), Some(&1));
        assert_eq!(f.without_profile, 1);
    }

    #[test]
    fn every_refused_entry_is_listed_with_its_line() {
        let bad = GOOD
            .replace("ENTPersonProfils: National_ELV", "userPassword: secret")
            .replace("uid: c\n", "uid: c\nuid: c2\n");
        let f = examine(&bad).unwrap();
        let lines: Vec<usize> = f.refused.iter().map(|r| r.line).collect();
        assert_eq!(lines, [9, 19], "{f:?}");
        assert_eq!(f.refused[0].dn.as_deref(), Some("uid=a,ou=people,dc=x"));
        assert!(f.refused[0].message.contains("plain-text"), "{f:?}");
        assert!(
            !f.refused[0].message.contains("secret"),
            "never the password: {f:?}"
        );
        assert_eq!(f.refused[1].dn.as_deref(), Some("uid=c,ou=people,dc=x"));
        // The people left are still counted.
        assert_eq!(f.people, 1);
    }

    #[test]
    fn install_replaces_atomically_and_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("annuaire.ldif");
        assert_eq!(
            install("one", &target).unwrap(),
            Installed::Written { previous: None }
        );
        assert_eq!(install("one", &target).unwrap(), Installed::Unchanged);
        let done = install("two", &target).unwrap();
        let kept = dir.path().join("annuaire.ldif.previous");
        assert_eq!(
            done,
            Installed::Written {
                previous: Some(kept.clone())
            }
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "one");
        install("three", &target).unwrap();
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "two");
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
