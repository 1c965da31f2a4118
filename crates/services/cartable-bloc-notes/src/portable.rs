//! The notes in "Mes données" (réversibilité): one JSON file, `bloc-notes/notes.json`.
//!
//! Its schema (format `cartable-bloc-notes+json`, version 1), documented in
//! docs/data.md:
//!
//! ```json
//! {
//!   "format": "cartable-bloc-notes",
//!   "version": 1,
//!   "notes": [
//!     { "id": 1, "text": "Acheter du pain", "created": "2024-02-29T23:30:05Z" }
//!   ]
//! }
//! ```
//!
//! `notes` is oldest first; `text` is the note (at most [`MAX_NOTE_LEN`] characters, new
//! lines as `\n`); `created` is when it was written, RFC 3339 in UTC; `id` is its number
//! in the exporting établissement (informative: an import numbers the notes after the
//! user's own, in the file's order).

use cartable_portlet::async_trait;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, JsonList, PortabilityError,
    Portable,
};
use cartable_portlet::i18n::args;
use cartable_portlet::items::check_text;
use cartable_portlet::sqlx::{self, AnyConnection};
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::{MAX_NOTE_LEN, MAX_NOTES, MESSAGES, Notes, SERVICE, excerpt, iso_utc, store};

/// The file's name in the service's folder.
pub const FILE: &str = "notes.json";
/// The format's name in the manifest.
pub const FORMAT: &str = "cartable-bloc-notes+json;version=1";
/// The `format` field of the file.
const FORMAT_FIELD: &str = "cartable-bloc-notes";

/// How the file is read back.
const NOTES: JsonList<'static> = JsonList {
    service: SERVICE,
    path: FILE,
    format: FORMAT_FIELD,
    version: 1,
    list: "notes",
};

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
struct NotesFile {
    format: String,
    version: u32,
    notes: Vec<serde_json::Value>,
}

/// One note of the file.
#[derive(Debug, Serialize, Deserialize)]
struct FileNote {
    #[serde(default)]
    id: Option<u64>,
    text: String,
    created: String,
}

#[async_trait]
impl Portable for Notes {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let mut notes = store::newest(cx.db()?, &cx.user().id, usize::MAX).await?;
        notes.reverse();
        let file = NotesFile {
            format: FORMAT_FIELD.into(),
            version: 1,
            notes: notes
                .iter()
                .map(|n| {
                    serde_json::json!({ "id": n.id, "text": n.text, "created": iso_utc(n.created) })
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| PortabilityError::Other(format!("cannot write the notes: {e}")))?;
        sink.file(ExportFile::bytes(FILE, "application/json", FORMAT, bytes))
            .await
    }

    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError> {
        let owner = cx.user().id.clone();
        let mut report = ImportReport::default();
        let existing: Vec<(String, i64)> =
            sqlx::query_as("SELECT body, created_at FROM bloc_notes_note WHERE owner = $1")
                .bind(&owner)
                .fetch_all(&mut *tx)
                .await?;
        let mut kept = existing.len();
        let mut seen: std::collections::HashSet<(String, i64)> = existing.into_iter().collect();
        for file in files {
            for (at, note) in NOTES.items::<FileNote>(cx, &file, &mut report) {
                let label = excerpt(&note.text, 40);
                let text = match check_text(cx.locale(), &note.text, MAX_NOTE_LEN, true) {
                    Ok(t) => t,
                    Err(why) => {
                        report.refuse(&file.path, at, label, why);
                        continue;
                    }
                };
                let Ok(created) = DateTime::parse_from_rfc3339(&note.created) else {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-bad-date"));
                    continue;
                };
                let created = created.timestamp();
                if !seen.insert((text.clone(), created)) {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
                    continue;
                }
                if kept >= MAX_NOTES {
                    report.refuse(
                        &file.path,
                        at,
                        label,
                        cx.t_args(&MESSAGES, "error-too-many", &args! { "max" => MAX_NOTES }),
                    );
                    continue;
                }
                sqlx::query(
                    "INSERT INTO bloc_notes_note (owner, id, body, created_at) \
                     SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3 FROM bloc_notes_note \
                     WHERE owner = $1",
                )
                .bind(&owner)
                .bind(&text)
                .bind(created)
                .execute(&mut *tx)
                .await?;
                kept += 1;
                report.accept(&file.path, at, label);
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_portlet::export::{MemorySink, Outcome};
    use cartable_portlet::prelude::*;
    use cartable_testkit::TestKit;

    use super::*;

    #[tokio::test]
    async fn notes_go_out_and_come_back_with_what_was_refused() {
        let kit =
            TestKit::new(Arc::new(Notes::new())).user_with("lea", "Léa Martin", [Profile::Eleve]);
        for text in ["première", "deuxième\nsur deux lignes"] {
            kit.action([("op", "add"), ("text", text)]).await.unwrap();
        }
        let notes = Notes::new();
        let cx = kit.data_context("lea").await.unwrap();
        let mut sink = MemorySink::default();
        notes.export(&cx, &mut sink).await.unwrap();
        assert_eq!(sink.files.len(), 1);
        let (file, bytes) = &sink.files[0];
        assert_eq!((file.path.as_str(), file.format.as_str()), (FILE, FORMAT));
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(v["notes"][0]["text"], "première", "oldest first");

        // Into Théo's notes, with a few bad lines added.
        let mut doc: serde_json::Value = v.clone();
        let list = doc["notes"].as_array_mut().unwrap();
        list.push(serde_json::json!({ "text": "", "created": "2024-01-01T00:00:00Z" }));
        list.push(serde_json::json!({ "text": "sans date", "created": "hier" }));
        list.push(serde_json::json!({ "texte": "mauvais champ" }));
        list.push(list[0].clone());
        let file = ImportFile::new(
            FILE,
            "application/json",
            FORMAT,
            serde_json::to_vec(&doc).unwrap(),
        );
        let theo = kit.data_context("theo").await.unwrap();
        let db = theo.db().unwrap().clone();
        let mut tx = db.begin().await.unwrap();
        let report = notes.import(&theo, &mut tx, vec![file]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(report.accepted(), 2, "{report:?}");
        assert_eq!(report.refused(), 4, "{report:?}");
        assert!(matches!(&report.lines[5].outcome, Outcome::Refused(why) if why.contains("déjà")));
        let back = store::newest(&db, "theo", 10).await.unwrap();
        let lea = store::newest(&db, "lea", 10).await.unwrap();
        let strip = |v: Vec<crate::Note>| {
            v.into_iter()
                .map(|n| (n.text, n.created))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(back), strip(lea));
    }

    #[tokio::test]
    async fn a_file_in_another_format_is_refused_whole() {
        let kit = TestKit::new(Arc::new(Notes::new()));
        let cx = kit.data_context("lea").await.unwrap();
        let db = cx.db().unwrap().clone();
        let mut tx = db.begin().await.unwrap();
        let report = Notes::new()
            .import(
                &cx,
                &mut tx,
                vec![
                    ImportFile::new(
                        FILE,
                        "application/json",
                        FORMAT,
                        &b"{\"format\":\"autre\",\"version\":1,\"notes\":[]}"[..],
                    ),
                    ImportFile::new("x.csv", "text/csv", "csv", &b"a,b"[..]),
                ],
            )
            .await
            .unwrap();
        assert_eq!(report.refused(), 2);
        assert_eq!(report.accepted(), 0);
    }
}
