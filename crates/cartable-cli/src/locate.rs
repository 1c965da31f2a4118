//! Where a key is in a configuration file: its line, for messages that name the key and
//! the line.
//!
//! The file is parsed again with `toml`'s span-keeping parser (`toml::de::DeTable`), so
//! each key and value knows its byte range in the text. Two questions are answered:
//!
//! - [`Document::line_of`]: the line of a key given as a path
//!   (`layouts.eleve.tabs[0].columns[1][0].portlet`), or of its nearest ancestor present
//!   in the file (a table header, an inline table) when the key itself is absent, e.g. a
//!   required field that is missing;
//! - [`Document::key_at`]: the key at a position, for the portal's parse errors, which
//!   give a line and column but not always the key (a value of the wrong type).
//!
//! A file that `extends` another is a chain of documents ([`Chain`]): a key is looked up
//! in the file itself first, then in the files it extends, as the portal merges them.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A key of a table.
    Key(String),
    /// An element of an array (of tables, or inline).
    Index(usize),
}

/// A key path as written in messages: `a.b[0].c`.
pub fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            if let Ok(i) = inner[..end].parse() {
                steps.push(Step::Index(i));
            }
            rest = &inner[end + 1..];
        }
    }
    steps
}

/// Write a key path back as text: `a.b[0].c`.
pub fn format_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A configuration file's text, to find keys in.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Where a key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The line, counting from 1.
    pub line: usize,
    /// The part of the path that is in the file (all of it when the key itself is there).
    pub present: Vec<Step>,
}

impl Document {
    /// Read a file (`None` when it cannot be read: the caller reports that otherwise).
    pub fn read(path: &Path) -> Option<Self> {
        std::fs::read_to_string(path).ok().map(|text| Document {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The line of `path`, or of its nearest ancestor present in the file; `None` when
    /// not even its first key is in the file (or the file is not valid TOML).
    pub fn line_of(&self, path: &[Step]) -> Option<Found> {
        let doc = DeTable::parse(&self.text).ok()?;
        let mut table: &DeTable<'_> = doc.get_ref();
        let mut value: Option<&Spanned<DeValue<'_>>> = None;
        let mut span: Option<Range<usize>> = None;
        let mut present = Vec::new();
        for step in path {
            let next = match (step, value.map(Spanned::get_ref)) {
                (Step::Key(k), None) => lookup(table, k),
                (Step::Key(k), Some(DeValue::Table(t))) => lookup(t, k),
                (Step::Index(i), Some(DeValue::Array(a))) => a.get(*i).map(|v| (v.span(), v)),
                _ => None,
            };
            let Some((at, v)) = next else { break };
            span = Some(at);
            present.push(step.clone());
            if let DeValue::Table(t) = v.get_ref() {
                table = t;
            }
            value = Some(v);
        }
        let span = span?;
        Some(Found {
            line: self.line_at(span.start),
            present,
        })
    }

    /// The innermost key whose name or value covers byte `offset`.
    pub fn key_at(&self, offset: usize) -> Option<Vec<Step>> {
        let doc = DeTable::parse(&self.text).ok()?;
        let mut best: Option<(usize, Vec<Step>)> = None;
        let mut path = Vec::new();
        walk_table(doc.get_ref(), offset, &mut path, &mut best);
        best.map(|(_, p)| p)
    }

    /// The byte offset of a 1-based line and column (columns count characters, as in
    /// `toml`'s messages).
    pub fn offset_of(&self, line: usize, column: usize) -> Option<usize> {
        let start: usize = self
            .text
            .split_inclusive('\n')
            .take(line.checked_sub(1)?)
            .map(str::len)
            .sum();
        let content = self.text.get(start..)?.split('\n').next()?;
        let in_line = content
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(content.len(), |(i, _)| i);
        Some(start + in_line)
    }

    /// The 1-based line of a byte offset.
    pub fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The text of a 1-based line, without its end.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.text
            .split('\n')
            .nth(line.checked_sub(1)?)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

/// A key's span (its name's, where the key is written) and its value.
fn lookup<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &str,
) -> Option<(Range<usize>, &'a Spanned<DeValue<'i>>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(k, v)| (k.span(), v))
}

/// Remember `path` if `span` covers `offset` more tightly than what was found so far.
fn consider(
    span: Range<usize>,
    offset: usize,
    path: &[Step],
    best: &mut Option<(usize, Vec<Step>)>,
) {
    // A span that ends at `offset` still covers it: an error at the end of a value.
    if span.start <= offset && offset <= span.end {
        let width = span.end - span.start;
        let better = match best {
            Some((w, p)) => width < *w || (width == *w && path.len() > p.len()),
            None => true,
        };
        if better {
            *best = Some((width, path.to_vec()));
        }
    }
}

fn walk_table(
    table: &DeTable<'_>,
    offset: usize,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    for (k, v) in table.iter() {
        path.push(Step::Key(k.get_ref().to_string()));
        consider(k.span(), offset, path, best);
        walk_value(v, offset, path, best);
        path.pop();
    }
}

fn walk_value(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    match value.get_ref() {
        DeValue::Table(t) => {
            consider(value.span(), offset, path, best);
            walk_table(t, offset, path, best);
        }
        DeValue::Array(a) => {
            consider(value.span(), offset, path, best);
            for (i, v) in a.iter().enumerate() {
                path.push(Step::Index(i));
                walk_value(v, offset, path, best);
                path.pop();
            }
        }
        _ => consider(value.span(), offset, path, best),
    }
}

/// A file and the files it `extends`, the file itself first.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// The documents, most specific first.
    pub documents: Vec<Document>,
}

impl Chain {
    /// Read `path` and, as the portal does, the files it extends (at most 4 levels; a file
    /// that cannot be read ends the chain: loading the configuration reports it).
    pub fn read(path: &Path) -> Self {
        let mut documents = Vec::new();
        let mut next = Some(path.to_path_buf());
        while let Some(path) = next.take() {
            if documents.len() > 4 {
                break;
            }
            let Some(doc) = Document::read(&path) else {
                break;
            };
            next = toml::from_str::<toml::Table>(&doc.text)
                .ok()
                .and_then(|t| t.get("extends")?.as_str().map(str::to_string))
                .map(|parent| path.parent().unwrap_or(Path::new(".")).join(parent));
            documents.push(doc);
        }
        Chain { documents }
    }

    /// The document of a file of the chain.
    pub fn document(&self, path: &Path) -> Option<&Document> {
        self.documents.iter().find(|d| d.path == path)
    }

    /// Where `path` is set: the first file of the chain that has all of it, else the one
    /// that has the longest part of it.
    pub fn find(&self, path: &[Step]) -> Option<(&Document, Found)> {
        let mut best: Option<(&Document, Found)> = None;
        for doc in &self.documents {
            let Some(found) = doc.line_of(path) else {
                continue;
            };
            if found.present.len() == path.len() {
                return Some((doc, found));
            }
            if best
                .as_ref()
                .is_none_or(|(_, b)| found.present.len() > b.present.len())
            {
                best = Some((doc, found));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document {
            path: PathBuf::from("cartable.toml"),
            text: text.to_string(),
        }
    }

    const TEXT: &str = "etablissement = \"L\"\ndeadline_ms = 500\n\n[server]\nmax_connections = 8\n\n[[layouts.eleve.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [\n  [{ portlet = \"bienvenue\" }],\n  [{ portlet = \"notes\" }, { portlet = \"x\" }],\n]\n[[layouts.eleve.tabs]]\nid = \"outils\"\ntitle = \"Outils\"\ncolumns = [[{ portlet = \"liens\" }]]\n";

    #[test]
    fn paths_round_trip() {
        let p = parse_path("layouts.eleve.tabs[1].columns[0][2].portlet");
        assert_eq!(
            p,
            [
                Step::Key("layouts".into()),
                Step::Key("eleve".into()),
                Step::Key("tabs".into()),
                Step::Index(1),
                Step::Key("columns".into()),
                Step::Index(0),
                Step::Index(2),
                Step::Key("portlet".into()),
            ]
        );
        assert_eq!(
            format_path(&p),
            "layouts.eleve.tabs[1].columns[0][2].portlet"
        );
    }

    #[test]
    fn keys_are_found_on_their_line() {
        let d = doc(TEXT);
        let line = |p: &str| d.line_of(&parse_path(p)).map(|f| f.line);
        assert_eq!(line("deadline_ms"), Some(2));
        assert_eq!(line("server.max_connections"), Some(5));
        assert_eq!(line("server"), Some(4));
        assert_eq!(
            line("layouts.eleve.tabs[0].columns[1][1].portlet"),
            Some(12)
        );
        assert_eq!(
            line("layouts.eleve.tabs[1].columns[0][0].portlet"),
            Some(17)
        );
        assert_eq!(line("layouts.eleve.tabs[1].id"), Some(15));
        // Absent: the nearest ancestor present.
        let found = d.line_of(&parse_path("server.idle_timeout_ms")).unwrap();
        assert_eq!(
            (found.line, format_path(&found.present)),
            (4, "server".into())
        );
        assert_eq!(line("nothing.here"), None);
    }

    #[test]
    fn the_key_at_a_position() {
        let d = doc(TEXT);
        let at = |line, column| {
            d.key_at(d.offset_of(line, column).unwrap())
                .map(|p| format_path(&p))
        };
        assert_eq!(at(2, 15).as_deref(), Some("deadline_ms"));
        assert_eq!(at(2, 1).as_deref(), Some("deadline_ms"));
        assert_eq!(at(5, 19).as_deref(), Some("server.max_connections"));
        assert_eq!(
            at(12, 40).as_deref(),
            Some("layouts.eleve.tabs[0].columns[1][1].portlet")
        );
    }

    #[test]
    fn a_chain_looks_in_the_file_then_in_what_it_extends() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "listen = \"127.0.0.1:1\"\n\ndirectory = \"a.ldif\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("v.toml"),
            "extends = \"base.toml\"\netablissement = \"V\"\n",
        )
        .unwrap();
        let chain = Chain::read(&dir.path().join("v.toml"));
        assert_eq!(chain.documents.len(), 2);
        let (d, f) = chain.find(&parse_path("directory")).unwrap();
        assert!(d.path.ends_with("base.toml"));
        assert_eq!(f.line, 3);
        let (d, f) = chain.find(&parse_path("etablissement")).unwrap();
        assert!(d.path.ends_with("v.toml"));
        assert_eq!(f.line, 2);
    }
}
