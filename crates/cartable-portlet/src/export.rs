//! "Mes données": a user's data out and back in (réversibilité), the capability a service
//! implements so that the portal puts its part of a user's data in her export archive and
//! restores it from an archive made by this or another Cartable.
//!
//! A service implements [`Portable`] and returns it from
//! [`Portlet::portable`](crate::Portlet::portable). The portal then:
//!
//! - **exports**, in a background job: calls [`Portable::export`] with the user and an
//!   [`ExportSink`]; each [`ExportFile`] the service writes goes into the ZIP under
//!   `<service>/<path>`, listed in the signed manifest with its format and SHA-256;
//! - **imports**, once the archive's signature and every file's SHA-256 are checked:
//!   calls [`Portable::import`] with the service's files ([`ImportFile`]) and **one
//!   database transaction** shared by every service of the archive. The service writes
//!   through it, and returns an [`ImportReport`] saying, line by line, what it accepted
//!   and what it refused and why. An error ([`PortabilityError`]) from any service rolls
//!   the whole transaction back: nothing of the archive is half-imported.
//!
//! Formats are open ones: the standard of the field where there is one (iCalendar,
//! vCard, Netscape bookmark HTML, the files themselves), else CSV or JSON with a
//! documented schema (docs/data.md).
//!
//! ```
//! use cartable_portlet::export::*;
//! use cartable_portlet::{async_trait, sqlx::AnyConnection};
//!
//! struct Memo;
//!
//! #[async_trait]
//! impl Portable for Memo {
//!     fn service(&self) -> &str {
//!         "memo"
//!     }
//!     async fn export(&self, cx: &DataContext, sink: &mut dyn ExportSink) -> Result<(), PortabilityError> {
//!         let text = format!("memo of {}\n", cx.user().id);
//!         sink.file(ExportFile::bytes("memo.txt", "text/plain; charset=utf-8", "text", text.into_bytes())).await
//!     }
//!     async fn import(
//!         &self,
//!         _cx: &DataContext,
//!         _tx: &mut AnyConnection,
//!         files: Vec<ImportFile>,
//!     ) -> Result<ImportReport, PortabilityError> {
//!         let mut report = ImportReport::default();
//!         for f in files {
//!             report.refuse(&f.path, "1", "memo", "this example keeps nothing");
//!         }
//!         Ok(report)
//!     }
//! }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cartable_db::sqlx::AnyConnection;
use cartable_socle::{Clock, Person};
use futures::stream::BoxStream;
use serde::Serialize;

use crate::{PortletError, Services};

/// What went wrong while exporting or importing a service's data. On import, any of
/// these rolls back the whole archive's transaction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortabilityError {
    /// The socle failed (database, storage, files).
    #[error(transparent)]
    Socle(#[from] cartable_socle::SocleError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] cartable_db::sqlx::Error),
    /// The host gave no database, no file store…
    #[error(transparent)]
    Portlet(#[from] PortletError),
    /// A file could not be written into the archive, or read from it.
    #[error("cannot write or read {path}: {source}")]
    Io {
        /// The file, under the service's folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The path of a file is not one the archive accepts.
    #[error(
        "invalid path {0:?}: a file's path is relative, its segments made of letters, digits, '.', '-' and '_', not starting with '.'"
    )]
    BadPath(String),
    /// Anything else the service has to say (a file it cannot read at all).
    #[error("{0}")]
    Other(String),
}

/// A file's bytes: all of them, or streamed (large files, the files of a documents
/// service).
pub enum ExportBody {
    /// The bytes, whole.
    Bytes(Bytes),
    /// The bytes, as they come.
    Stream(BoxStream<'static, Result<Bytes, std::io::Error>>),
}

impl std::fmt::Debug for ExportBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            ExportBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// One file of a service's part of the archive.
#[derive(Debug)]
pub struct ExportFile {
    /// Its path under the service's folder (`notes.json`, `documents/cours.pdf`): see
    /// [`check_path`].
    pub path: String,
    /// Its media type (`application/json`, `text/html; charset=utf-8`).
    pub media_type: String,
    /// The name of its format, for the manifest and the importer
    /// (`netscape-bookmark-file-1`, `cartable-bloc-notes+json;version=1`, `icalendar`).
    pub format: String,
    /// Its bytes.
    pub body: ExportBody,
}

impl ExportFile {
    /// A file whose bytes are all here.
    pub fn bytes(
        path: impl Into<String>,
        media_type: impl Into<String>,
        format: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        ExportFile {
            path: path.into(),
            media_type: media_type.into(),
            format: format.into(),
            body: ExportBody::Bytes(bytes.into()),
        }
    }

    /// A file whose bytes are streamed.
    pub fn stream(
        path: impl Into<String>,
        media_type: impl Into<String>,
        format: impl Into<String>,
        body: BoxStream<'static, Result<Bytes, std::io::Error>>,
    ) -> Self {
        ExportFile {
            path: path.into(),
            media_type: media_type.into(),
            format: format.into(),
            body: ExportBody::Stream(body),
        }
    }
}

/// Where a service writes its files during [`Portable::export`] (the portal's archive).
#[async_trait]
pub trait ExportSink: Send {
    /// Add one file; an error ends the export (the job is tried again later).
    async fn file(&mut self, file: ExportFile) -> Result<(), PortabilityError>;
}

/// A sink that keeps the files in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// The files written, with their bytes.
    pub files: Vec<(ExportFile, Bytes)>,
}

#[async_trait]
impl ExportSink for MemorySink {
    async fn file(&mut self, mut file: ExportFile) -> Result<(), PortabilityError> {
        check_path(&file.path)?;
        let bytes = match std::mem::replace(&mut file.body, ExportBody::Bytes(Bytes::new())) {
            ExportBody::Bytes(b) => b,
            ExportBody::Stream(mut s) => {
                use futures::StreamExt;
                let mut all = Vec::new();
                while let Some(chunk) = s.next().await {
                    all.extend_from_slice(&chunk.map_err(|source| PortabilityError::Io {
                        path: file.path.clone(),
                        source,
                    })?);
                }
                Bytes::from(all)
            }
        };
        self.files.push((file, bytes));
        Ok(())
    }
}

/// One file of the service's folder in an archive being imported, its SHA-256 already
/// checked against the signed manifest.
#[derive(Debug, Clone)]
pub struct ImportFile {
    /// Its path under the service's folder.
    pub path: String,
    /// Its media type, as the manifest says.
    pub media_type: String,
    /// Its format, as the manifest says.
    pub format: String,
    /// Its bytes.
    pub bytes: Bytes,
}

impl ImportFile {
    /// A file from a test or another tool.
    pub fn new(
        path: impl Into<String>,
        media_type: impl Into<String>,
        format: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        ImportFile {
            path: path.into(),
            media_type: media_type.into(),
            format: format.into(),
            bytes: bytes.into(),
        }
    }
}

/// What became of one item of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    /// Restored.
    Accepted,
    /// Not restored, and why (in the user's language).
    Refused(String),
}

/// One line of an [`ImportReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportLine {
    /// The file, under the service's folder.
    pub file: String,
    /// Where in the file: a line number, an item's number (`"12"`, `"#3"`).
    pub location: String,
    /// What the item is, shortly (a note's beginning, a bookmark's title).
    pub item: String,
    /// Accepted, or refused and why.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What a service restored from its files and what it refused, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Every item, in the order of the files.
    pub lines: Vec<ImportLine>,
}

impl ImportReport {
    /// Record an item restored.
    pub fn accept(&mut self, file: &str, location: impl Into<String>, item: impl Into<String>) {
        self.lines.push(ImportLine {
            file: file.to_string(),
            location: location.into(),
            item: item.into(),
            outcome: Outcome::Accepted,
        });
    }

    /// Record an item refused, and why.
    pub fn refuse(
        &mut self,
        file: &str,
        location: impl Into<String>,
        item: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.lines.push(ImportLine {
            file: file.to_string(),
            location: location.into(),
            item: item.into(),
            outcome: Outcome::Refused(why.into()),
        });
    }

    /// How many items were restored.
    pub fn accepted(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| l.outcome == Outcome::Accepted)
            .count()
    }

    /// How many items were refused.
    pub fn refused(&self) -> usize {
        self.lines.len() - self.accepted()
    }
}

/// A service's own export file in JSON, where no standard format exists:
/// `{"format": "<format>", "version": <version>, "<list>": [item, …]}`, documented in
/// `docs/data.md`. [`items`](Self::items) reads it back the same way for every service:
/// the whole file refused when it is another file, format or version, each item refused
/// alone when it does not parse.
#[derive(Debug, Clone, Copy)]
pub struct JsonList<'a> {
    /// The service's name, for the reasons given (`bloc-notes`).
    pub service: &'a str,
    /// The file's path in the service's folder (`notes.json`).
    pub path: &'a str,
    /// Its `format` field (`cartable-bloc-notes`).
    pub format: &'a str,
    /// The `version` this release reads.
    pub version: u32,
    /// The name of the list (`notes`).
    pub list: &'a str,
}

impl JsonList<'_> {
    /// The items of `file` that are a `T`, each with its place in the list (from 1, as
    /// the report gives it); what is refused is recorded in `report` with why.
    ///
    /// ```
    /// # use cartable_portlet::export::{ImportFile, ImportReport, JsonList};
    /// #[derive(serde::Deserialize)]
    /// struct Note { text: String }
    /// const NOTES: JsonList<'static> = JsonList {
    ///     service: "bloc-notes", path: "notes.json", format: "cartable-bloc-notes",
    ///     version: 1, list: "notes",
    /// };
    /// # fn read(cx: &cartable_portlet::export::DataContext, file: &ImportFile) {
    /// let mut report = ImportReport::default();
    /// for (at, note) in NOTES.items::<Note>(cx, file, &mut report) {
    ///     report.accept(&file.path, at, note.text);
    /// }
    /// # }
    /// ```
    pub fn items<T: serde::de::DeserializeOwned>(
        &self,
        cx: &DataContext,
        file: &ImportFile,
        report: &mut ImportReport,
    ) -> Vec<(String, T)> {
        let messages = &*crate::MESSAGES;
        if file.path != self.path {
            let args = crate::i18n::args! { "service" => self.service, "path" => self.path };
            report.refuse(
                &file.path,
                "",
                "",
                cx.t_args(messages, "import-unknown-file", &args),
            );
            return Vec::new();
        }
        let unknown_format = || {
            let args = crate::i18n::args! {
                "service" => self.service, "format" => self.format, "version" => self.version
            };
            cx.t_args(messages, "import-unknown-format", &args)
        };
        let mut value: serde_json::Value = match serde_json::from_slice(&file.bytes) {
            Ok(v) => v,
            Err(e) => {
                report.refuse(&file.path, "", "", e.to_string());
                return Vec::new();
            }
        };
        let ours = value.get("format").and_then(|f| f.as_str()) == Some(self.format)
            && value.get("version").and_then(|v| v.as_u64()) == Some(u64::from(self.version));
        let list = match value.get_mut(self.list).map(serde_json::Value::take) {
            Some(serde_json::Value::Array(list)) if ours => list,
            _ => {
                report.refuse(&file.path, "", "", unknown_format());
                return Vec::new();
            }
        };
        let mut items = Vec::with_capacity(list.len());
        for (i, raw) in list.into_iter().enumerate() {
            let at = (i + 1).to_string();
            match serde_json::from_value::<T>(raw) {
                Ok(item) => items.push((at, item)),
                Err(e) => report.refuse(&file.path, at, "", e.to_string()),
            }
        }
        items
    }
}

/// What a service sees while exporting or importing one user's data.
#[derive(Debug, Clone)]
pub struct DataContext {
    user: Arc<Person>,
    services: Services,
    locale: String,
}

impl DataContext {
    /// The data of `user`, with the socle `services`; reasons written in `locale`.
    pub fn new(user: Arc<Person>, services: Services, locale: &str) -> Self {
        DataContext {
            user,
            services,
            locale: locale.to_string(),
        }
    }

    /// Whose data it is.
    pub fn user(&self) -> &Person {
        &self.user
    }

    /// The language of the report's reasons (`fr`, `en`).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// A message of `messages` in the report's language.
    pub fn t(&self, messages: &crate::i18n::Messages, id: &str) -> String {
        messages.get(&self.locale, id)
    }

    /// A message with arguments.
    pub fn t_args(
        &self,
        messages: &crate::i18n::Messages,
        id: &str,
        args: &crate::i18n::FluentArgs<'_>,
    ) -> String {
        messages.get_args(&self.locale, id, args)
    }

    /// The établissement's database (for the export; an import writes through the
    /// transaction it is given).
    pub fn db(&self) -> Result<&cartable_db::Database, PortletError> {
        self.services.db.as_ref().ok_or_else(|| {
            PortletError::Socle(cartable_socle::SocleError::Unavailable {
                backend: "relational database",
                detail: "this host gave the service no database".into(),
            })
        })
    }

    /// The établissement's file store.
    pub fn files(&self) -> Result<&cartable_socle::FileStore, PortletError> {
        self.services.files.as_ref().ok_or_else(|| {
            PortletError::Socle(cartable_socle::SocleError::Unavailable {
                backend: "file store",
                detail: "this host gave the service no file store".into(),
            })
        })
    }

    /// The portal's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.services.clock
    }

    /// The socle services.
    pub fn services(&self) -> &Services {
        &self.services
    }
}

/// A service whose users can take their data away and bring it back (réversibilité).
/// See the [module](self) for what the portal does with it.
#[async_trait]
pub trait Portable: Send + Sync {
    /// The service's folder in the archive, its name (`bloc-notes`, `signets`): the
    /// same on every Cartable, since an import finds the service by it. Several portlets
    /// of one service return the same [`Portable`] (the portal calls it once).
    fn service(&self) -> &str;

    /// Write the user's data as files in open formats.
    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError>;

    /// Restore what it can of `files` (its folder of the archive, checked) for the user,
    /// writing through `tx`, the archive's one transaction; say line by line what it
    /// accepted and refused. An error rolls back every service's import.
    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError>;
}

/// Check a file's path under its service's folder: relative, `/`-separated, each segment
/// of ASCII letters, digits, `.`, `-` and `_`, not starting with `.` (no `..`, no hidden
/// file), at most 200 bytes.
pub fn check_path(path: &str) -> Result<(), PortabilityError> {
    let ok = !path.is_empty()
        && path.len() <= 200
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        });
    if ok {
        Ok(())
    } else {
        Err(PortabilityError::BadPath(path.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_their_folder() {
        for good in ["notes.json", "a/b-c_d.1.html"] {
            check_path(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "a/../b",
            "é.txt",
            "a\\b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reports_count_lines() {
        let mut r = ImportReport::default();
        r.accept("f", "1", "a");
        r.refuse("f", "2", "b", "why");
        assert_eq!((r.accepted(), r.refused()), (1, 1));
        let json = serde_json::to_value(&r.lines[1]).unwrap();
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["reason"], "why");
    }
}
