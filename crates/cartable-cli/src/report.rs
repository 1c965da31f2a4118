//! Problems found in a file, said with the key and the line, as the commands print them.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::locate::{Chain, parse_path};

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something to know, that check could not look at (a server it does not reach).
    Note,
    /// The portal starts, but probably not as meant.
    Warning,
    /// The portal would not start, or would refuse the file.
    Error,
}

/// One thing wrong (or worth knowing), and where.
#[derive(Debug, Clone)]
pub struct Problem {
    /// How serious.
    pub severity: Severity,
    /// The key it is about (`layouts.eleve.tabs[0].columns[1][0].portlet`), or an
    /// environment variable.
    pub key: Option<String>,
    /// The file and line (1-based) where the key is set.
    pub at: Option<(PathBuf, usize)>,
    /// The text of that line.
    pub source_line: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    /// A problem about a key, not placed yet (see [`Problem::place`]).
    pub fn new(severity: Severity, key: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            severity,
            key: key.map(str::to_string),
            at: None,
            source_line: None,
            message: message.into(),
        }
    }

    /// An error about a key.
    pub fn error(key: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, Some(key), message)
    }

    /// A warning about a key.
    pub fn warning(key: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, Some(key), message)
    }

    /// A note, about a key or not.
    pub fn note(key: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, key, message)
    }

    /// Find the key's line in the file (or the files it extends). A key that is not in
    /// any file (a default, a merged value) keeps its name and gets the line of its
    /// nearest ancestor that is, if any.
    pub fn place(mut self, chain: &Chain) -> Self {
        let Some(key) = &self.key else { return self };
        if self.at.is_some() {
            return self;
        }
        if let Some((doc, found)) = chain.find(&parse_path(key)) {
            self.at = Some((doc.path.clone(), found.line));
            self.source_line = doc.line_text(found.line).map(str::to_string);
        }
        self
    }

    /// Place it at a line of a file.
    pub fn at(mut self, path: &Path, line: usize, chain: &Chain) -> Self {
        self.source_line = chain
            .document(path)
            .and_then(|d| d.line_text(line))
            .map(str::to_string);
        self.at = Some((path.to_path_buf(), line));
        self
    }
}

impl fmt::Display for Problem {
    /// `error: cartable.toml:12: key `deadline_ms`: …`, then the line itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{label}: ")?;
        if let Some((path, line)) = &self.at {
            write!(f, "{}:{line}: ", path.display())?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let (Some((_, line)), Some(text)) = (&self.at, &self.source_line) {
            write!(f, "\n  {line} | {}", text.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_the_key_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "etablissement = \"L\"\n[server]\nmax_connections = 0\n",
        )
        .unwrap();
        let chain = Chain::read(&path);
        let p = Problem::error("server.max_connections", "must be at least 1").place(&chain);
        let text = p.to_string();
        assert!(
            text.starts_with(&format!(
                "error: {}:3: key `server.max_connections`: must be at least 1",
                path.display()
            )),
            "{text}"
        );
        assert!(text.ends_with("  3 | max_connections = 0"), "{text}");
        // Not in the file: the name, no line.
        let p = Problem::warning("theme_dir", "x").place(&chain);
        assert_eq!(p.to_string(), "warning: key `theme_dir`: x");
    }
}
