//! `cartable new-service <name>`: a service crate in the shape of the design brief
//! (portlet, templates, locales, tests), written from the templates of `scaffold/`.
//!
//! The templates hold `{{service}}`-style placeholders, replaced by plain substitution
//! (no template engine: the generated minijinja templates keep their own `{{ … }}`):
//!
//! | placeholder | for `demo-service` |
//! |---|---|
//! | `{{service}}` | `demo-service` (the portlet id) |
//! | `{{crate_name}}` | `cartable-demo-service` |
//! | `{{crate_ident}}` | `cartable_demo_service` |
//! | `{{Type}}` | `DemoService` |
//! | `{{title}}` | `Demo service` |
//! | `{{table}}` | `demo_service` (the prefix of its tables) |

use std::path::{Path, PathBuf};

use thiserror::Error;

/// The files of a new service crate: (path in the crate, template).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../scaffold/Cargo.toml.in")),
    ("README.md", include_str!("../scaffold/README.md.in")),
    ("src/lib.rs", include_str!("../scaffold/lib.rs.in")),
    (
        "migrations/0001_entries.sql",
        include_str!("../scaffold/0001_entries.sql"),
    ),
    ("templates/view.html", include_str!("../scaffold/view.html")),
    ("templates/help.html", include_str!("../scaffold/help.html")),
    ("locales/fr.ftl", include_str!("../scaffold/fr.ftl")),
    ("locales/en.ftl", include_str!("../scaffold/en.ftl")),
    (
        "tests/{{service}}.rs",
        include_str!("../scaffold/test.rs.in"),
    ),
];

/// Why no service crate was written.
#[derive(Debug, Error)]
pub enum NewServiceError {
    /// The name cannot be a service's (a usage error).
    #[error(
        "invalid service name {0:?}: use lower-case ASCII letters, digits and '-', starting with \
         a letter (e.g. `cahier-de-textes`), at most 55 characters, without the `cartable-` prefix"
    )]
    Name(String),
    /// The directory is there already: nothing is overwritten.
    #[error(
        "{} already exists: nothing was written (a new service never overwrites anything); \
         choose another name or --path",
        .0.display()
    )]
    Exists(PathBuf),
    /// No workspace to put the crate in, and no `--path`.
    #[error(
        "no Cargo workspace in {} or above: run this in the Cartable workspace, or give --path DIR",
        .0.display()
    )]
    NoWorkspace(PathBuf),
    /// Writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl NewServiceError {
    /// Whether the command line itself was wrong (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, NewServiceError::Name(_))
    }
}

/// The names a service's files are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The service name, also its portlet id: `demo-service`.
    pub service: String,
    /// The package: `cartable-demo-service`.
    pub crate_name: String,
    /// The crate in Rust paths: `cartable_demo_service`.
    pub crate_ident: String,
    /// The portlet type: `DemoService`.
    pub type_name: String,
    /// The title in the messages: `Demo service`.
    pub title: String,
    /// The prefix of its tables: `demo_service`.
    pub table: String,
}

impl Names {
    /// Check a service name and derive the others from it.
    pub fn new(service: &str) -> Result<Self, NewServiceError> {
        let valid = !service.is_empty()
            && service.len() <= 55
            && service.starts_with(|c: char| c.is_ascii_lowercase())
            && !service.ends_with('-')
            && !service.contains("--")
            && !service.starts_with("cartable-")
            && service
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(NewServiceError::Name(service.to_string()));
        }
        let type_name = service
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let spaced = service.replace('-', " ");
        let title = spaced
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + &spaced[1..])
            .unwrap_or_default();
        Ok(Names {
            service: service.to_string(),
            crate_name: format!("cartable-{service}"),
            crate_ident: format!("cartable_{}", service.replace('-', "_")),
            type_name,
            title,
            table: service.replace('-', "_"),
        })
    }

    /// A template with its placeholders replaced.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{{service}}", &self.service)
            .replace("{{crate_name}}", &self.crate_name)
            .replace("{{crate_ident}}", &self.crate_ident)
            .replace("{{Type}}", &self.type_name)
            .replace("{{title}}", &self.title)
            .replace("{{table}}", &self.table)
    }
}

/// The nearest directory from `start` up whose `Cargo.toml` has a `[workspace]`.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        table.contains_key("workspace").then(|| dir.to_path_buf())
    })
}

/// Where a service goes: `--path`, else `crates/services/cartable-<name>` of the workspace
/// around `cwd`.
pub fn target_dir(
    names: &Names,
    path: Option<&Path>,
    cwd: &Path,
) -> Result<PathBuf, NewServiceError> {
    match path {
        Some(p) => Ok(p.to_path_buf()),
        None => {
            let root = workspace_root(cwd)
                .ok_or_else(|| NewServiceError::NoWorkspace(cwd.to_path_buf()))?;
            Ok(root.join("crates/services").join(&names.crate_name))
        }
    }
}

/// Write the crate into `dir`, which must not exist; returns the files written.
pub fn write(names: &Names, dir: &Path) -> Result<Vec<PathBuf>, NewServiceError> {
    if dir.exists() {
        return Err(NewServiceError::Exists(dir.to_path_buf()));
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| NewServiceError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // Created alone, so that a directory made meanwhile by someone else is not written into.
    std::fs::create_dir(dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => NewServiceError::Exists(dir.to_path_buf()),
        _ => NewServiceError::Write {
            path: dir.to_path_buf(),
            source,
        },
    })?;
    let mut written = Vec::new();
    for (name, template) in FILES {
        let path = dir.join(names.fill(name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| NewServiceError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, names.fill(template)).map_err(|source| NewServiceError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Format the Rust files written with `rustfmt` (edition 2024), so that the crate passes
/// `cargo fmt --check` whatever its name's length; `Err` says why it could not (the files
/// are then left as written, which compiles all the same).
pub fn format(files: &[PathBuf]) -> Result<(), String> {
    let rust: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .collect();
    let status = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&rust)
        .status()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("rustfmt ended with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_derived() {
        let n = Names::new("demo-service").unwrap();
        assert_eq!(n.crate_name, "cartable-demo-service");
        assert_eq!(n.crate_ident, "cartable_demo_service");
        assert_eq!(n.type_name, "DemoService");
        assert_eq!(n.title, "Demo service");
        assert_eq!(
            Names::new("cahier2-textes").unwrap().type_name,
            "Cahier2Textes"
        );
        for bad in [
            "",
            "Demo",
            "demo_service",
            "-demo",
            "demo-",
            "de--mo",
            "2d",
            "démo",
            "cartable-x",
            "a b",
            "../x",
        ] {
            let e = Names::new(bad).unwrap_err();
            assert!(e.is_usage(), "{bad}");
            assert!(e.to_string().contains("invalid service name"), "{e}");
        }
    }

    #[test]
    fn every_placeholder_is_replaced() {
        let n = Names::new("agenda").unwrap();
        for (name, template) in FILES {
            let text = n.fill(template);
            for placeholder in [
                "{{service}}",
                "{{crate_name}}",
                "{{crate_ident}}",
                "{{Type}}",
                "{{title}}",
            ] {
                assert!(!text.contains(placeholder), "{name}: {placeholder}");
            }
        }
        assert!(n.fill(FILES[2].1).contains("pub struct Agenda {"));
    }

    #[test]
    fn a_crate_is_written_and_never_over_anything() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cartable-agenda");
        let n = Names::new("agenda").unwrap();
        let files = write(&n, &target).unwrap();
        assert_eq!(files.len(), FILES.len());
        assert!(target.join("tests/agenda.rs").is_file());
        let cargo = std::fs::read_to_string(target.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"cartable-agenda\""));
        let readme = std::fs::read_to_string(target.join("README.md")).unwrap();
        assert!(readme.contains("migrations/0001_entries.sql"));
        let migration =
            std::fs::read_to_string(target.join("migrations/0001_entries.sql")).unwrap();
        assert!(
            migration.contains("CREATE TABLE agenda_entry ("),
            "{migration}"
        );
        // Again: refused, and nothing changed.
        std::fs::write(target.join("src/lib.rs"), "// mine").unwrap();
        let e = write(&n, &target).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(!e.is_usage());
        assert_eq!(
            std::fs::read_to_string(target.join("src/lib.rs")).unwrap(),
            "// mine"
        );
    }

    #[test]
    fn the_default_place_is_in_the_workspace_services() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        let inner = dir.path().join("crates/x");
        std::fs::create_dir_all(&inner).unwrap();
        let n = Names::new("agenda").unwrap();
        assert_eq!(
            target_dir(&n, None, &inner).unwrap(),
            dir.path().join("crates/services/cartable-agenda")
        );
        assert_eq!(
            target_dir(&n, Some(Path::new("/tmp/a")), &inner).unwrap(),
            Path::new("/tmp/a")
        );
    }
}
