//! The user's incidents in "Mes données" (réversibilité): one JSON file,
//! `aide/incidents.json`, also what the window's `export` resource sends.
//!
//! Its schema (format `cartable-aide+json`, version 1), documented in docs/data.md:
//!
//! ```json
//! {
//!   "format": "cartable-aide",
//!   "version": 1,
//!   "incidents": [
//!     { "id": 3, "subject": "Impossible d’ouvrir mes notes", "description": "…",
//!       "page": "/page/accueil", "service": "bloc-notes",
//!       "created": "2026-12-07T09:30:00Z", "updated": "2026-12-07T10:02:11Z",
//!       "status": "resolu", "answer": "C’est réparé." }
//!   ]
//! }
//! ```
//!
//! `incidents` is oldest first and holds only what the user reported herself; `status` is
//! `nouveau`, `en-cours`, `resolu` or `ferme`; `answer` is staff's answer (may be empty);
//! `page` and `service` say where she reported it from (may be empty); times are RFC 3339
//! in UTC; `id` is its number in the exporting établissement (informative: an import
//! numbers the incidents after the établissement's own). Who handled it there is not
//! exported (another person's data). An import refuses, line by line, an incident
//! already among hers (same subject and time), an unknown status, a bad text or date, and
//! open ones beyond [`MAX_OPEN_PER_REPORTER`](crate::MAX_OPEN_PER_REPORTER).

use std::collections::HashSet;

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

use crate::incidents::{
    self, Incident, MAX_DESCRIPTION_LEN, MAX_OPEN_PER_REPORTER, MAX_SUBJECT_LEN,
};
use crate::{Aide, MESSAGES, SERVICE, STATUSES, iso_utc, portal_path, service_id};

/// The file's name in the service's folder.
pub const FILE: &str = "incidents.json";
/// The format's name in the manifest.
pub const FORMAT: &str = "cartable-aide+json;version=1";
/// The `format` field of the file.
const FORMAT_FIELD: &str = "cartable-aide";

/// How the file is read back.
const INCIDENTS: JsonList<'static> = JsonList {
    service: SERVICE,
    path: FILE,
    format: FORMAT_FIELD,
    version: 1,
    list: "incidents",
};

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
struct IncidentsFile {
    format: String,
    version: u32,
    incidents: Vec<serde_json::Value>,
}

/// One incident of the file.
#[derive(Debug, Serialize, Deserialize)]
struct FileIncident {
    #[serde(default)]
    id: Option<i64>,
    subject: String,
    description: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    service: String,
    created: String,
    #[serde(default)]
    updated: Option<String>,
    status: String,
    #[serde(default)]
    answer: String,
}

/// The file of `mine` (newest first, as read): oldest first.
pub(crate) fn document(mine: &[Incident]) -> Result<Vec<u8>, PortabilityError> {
    let file = IncidentsFile {
        format: FORMAT_FIELD.into(),
        version: 1,
        incidents: mine
            .iter()
            .rev()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "subject": i.subject,
                    "description": i.description,
                    "page": i.page,
                    "service": i.service,
                    "created": iso_utc(i.created_at),
                    "updated": iso_utc(i.updated_at),
                    "status": i.status,
                    "answer": i.answer,
                })
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&file)
        .map_err(|e| PortabilityError::Other(format!("cannot write the incidents: {e}")))
}

#[async_trait]
impl Portable for Aide {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let mine = incidents::of_reporter(cx.db()?, &cx.user().id).await?;
        let bytes = document(&mine)?;
        sink.file(ExportFile::bytes(FILE, "application/json", FORMAT, bytes))
            .await
    }

    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError> {
        let user = cx.user().clone();
        let mut report = ImportReport::default();
        let existing = incidents::of_reporter_in(tx, &user.id).await?;
        let mut open = existing
            .iter()
            .filter(|i| incidents::OPEN.contains(&i.status.as_str()))
            .count();
        let mut seen: HashSet<(String, i64)> = existing
            .into_iter()
            .map(|i| (i.subject, i.created_at))
            .collect();
        for file in files {
            for (at, item) in INCIDENTS.items::<FileIncident>(cx, &file, &mut report) {
                let label = item.subject.chars().take(60).collect::<String>();
                let checked = check_text(cx.locale(), &item.subject, MAX_SUBJECT_LEN, false)
                    .and_then(|subject| {
                        check_text(cx.locale(), &item.description, MAX_DESCRIPTION_LEN, true)
                            .map(|description| (subject, description))
                    })
                    .and_then(|(subject, description)| {
                        if item.answer.trim().is_empty() {
                            Ok((subject, description, String::new()))
                        } else {
                            check_text(cx.locale(), &item.answer, MAX_DESCRIPTION_LEN, true)
                                .map(|answer| (subject, description, answer))
                        }
                    });
                let (subject, description, answer) = match checked {
                    Ok(texts) => texts,
                    Err(why) => {
                        report.refuse(&file.path, at, label, why);
                        continue;
                    }
                };
                if !STATUSES.contains(&item.status.as_str()) {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-bad-status"));
                    continue;
                }
                let created = DateTime::parse_from_rfc3339(&item.created).map(|d| d.timestamp());
                let updated = match &item.updated {
                    Some(u) => DateTime::parse_from_rfc3339(u).map(|d| d.timestamp()),
                    None => created,
                };
                let (Ok(created), Ok(updated)) = (created, updated) else {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-bad-date"));
                    continue;
                };
                if !seen.insert((subject.clone(), created)) {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
                    continue;
                }
                let is_open = incidents::OPEN.contains(&item.status.as_str());
                if is_open && open >= MAX_OPEN_PER_REPORTER {
                    report.refuse(
                        &file.path,
                        at,
                        label,
                        cx.t_args(
                            &MESSAGES,
                            "error-too-many",
                            &args! { "max" => MAX_OPEN_PER_REPORTER },
                        ),
                    );
                    continue;
                }
                sqlx::query(
                    "INSERT INTO aide_incident (id, reporter, reporter_name, subject, \
                     description, page, service, created_at, status, assignee, answer, \
                     updated_at, updated_by, version) \
                     SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, '', $9, \
                     $10, $1, 1 FROM aide_incident",
                )
                .bind(&user.id)
                .bind(&user.display_name)
                .bind(&subject)
                .bind(&description)
                .bind(portal_path(&item.page).unwrap_or(""))
                .bind(service_id(&item.service).unwrap_or(""))
                .bind(created)
                .bind(&item.status)
                .bind(&answer)
                .bind(updated)
                .execute(&mut *tx)
                .await?;
                if is_open {
                    open += 1;
                }
                report.accept(&file.path, at, label);
            }
        }
        Ok(report)
    }
}
