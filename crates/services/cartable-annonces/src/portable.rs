//! The announcements in "Mes données" (réversibilité): the ones the user wrote, as one
//! JSON file, `annonces/announcements.json`. Her feed token is not exported (a secret of
//! this établissement; she makes a new URL on the other one).
//!
//! Its schema (format `cartable-annonces+json`, version 1), documented in docs/data.md:
//!
//! ```json
//! {
//!   "format": "cartable-annonces",
//!   "version": 1,
//!   "announcements": [
//!     { "id": 3, "title": "Sortie au musée", "body": "Rendez-vous à 8 h.\n\nPrévoir un pique-nique.",
//!       "audience": ["c:2nde-3"], "pinned": false,
//!       "shown_from": "2026-12-06T23:00:00Z", "shown_until": "2026-12-13T23:00:00Z",
//!       "created": "2026-12-07T09:30:00Z" }
//!   ]
//! }
//! ```
//!
//! `announcements` is oldest first; `title` one line of at most [`MAX_TITLE_LEN`]
//! characters; `body` plain text (paragraphs separated by an empty line, at most
//! [`MAX_BODY_LEN`] characters, may be empty); `audience` the targets: `all`,
//! `p:<profile>`, `c:<class>`, `g:<group id>`; the times RFC 3339 in UTC,
//! `shown_until` excluded (`null`: no end); `id` informative.
//!
//! An import restores them as hers only if she may publish here, for audiences she may
//! address here (a group is refused: its id is the exporting établissement's), and refuses one already
//! there (same title and creation time): importing twice adds nothing.

use std::collections::HashSet;

use cartable_portlet::async_trait;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, JsonList, PortabilityError,
    Portable,
};
use cartable_portlet::items::check_text;
use cartable_portlet::sqlx::{self, AnyConnection};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Target, classes_of};
use crate::{
    AUDIENCE_PROFILES, MAX_BODY_LEN, MAX_TITLE_LEN, MESSAGES, News, SERVICE, is_staff, store,
};

/// The file's name in the service's folder.
pub const FILE: &str = "announcements.json";
/// The format's name in the manifest.
pub const FORMAT: &str = "cartable-annonces+json;version=1";
/// The `format` field of the file.
const FORMAT_FIELD: &str = "cartable-annonces";

/// How the file is read back.
const ANNOUNCEMENTS: JsonList<'static> = JsonList {
    service: SERVICE,
    path: FILE,
    format: FORMAT_FIELD,
    version: 1,
    list: "announcements",
};

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
struct AnnouncementsFile {
    format: String,
    version: u32,
    announcements: Vec<serde_json::Value>,
}

/// One announcement of the file.
#[derive(Debug, Serialize, Deserialize)]
struct FileAnnouncement {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    #[serde(default)]
    body: String,
    audience: Vec<String>,
    #[serde(default)]
    pinned: bool,
    shown_from: String,
    #[serde(default)]
    shown_until: Option<String>,
    created: String,
}

/// Unix seconds as RFC 3339 in UTC.
fn rfc3339(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// RFC 3339 as Unix seconds.
fn parse_time(value: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.timestamp())
}

/// The beginning of a title, for the report.
fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        s.push('…');
    }
    s
}

#[async_trait]
impl Portable for News {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let list = store::by_author(cx.db()?, &cx.user().id).await?;
        let file = AnnouncementsFile {
            format: FORMAT_FIELD.into(),
            version: 1,
            announcements: list
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "id": a.id,
                        "title": a.title,
                        "body": a.body,
                        "audience": a.targets.iter().map(Target::key).collect::<Vec<_>>(),
                        "pinned": a.pinned,
                        "shown_from": rfc3339(a.shown_from),
                        "shown_until": a.shown_until.map(rfc3339),
                        "created": rfc3339(a.created_at),
                    })
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| PortabilityError::Other(format!("cannot write the announcements: {e}")))?;
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
        let may_publish = self.may_publish(&user);
        let classes = classes_of(&user);
        let existing: Vec<(String, i64)> =
            sqlx::query_as("SELECT title, created_at FROM annonces_announcement WHERE author = $1")
                .bind(&user.id)
                .fetch_all(&mut *tx)
                .await?;
        let mut seen: HashSet<(String, i64)> = existing.into_iter().collect();
        for file in files {
            for (at, a) in ANNOUNCEMENTS.items::<FileAnnouncement>(cx, &file, &mut report) {
                let label = excerpt(&a.title);
                if !may_publish {
                    report.refuse(
                        &file.path,
                        at,
                        label,
                        cx.t(&MESSAGES, "import-not-publisher"),
                    );
                    continue;
                }
                let title = match check_text(cx.locale(), &a.title, MAX_TITLE_LEN, false) {
                    Ok(t) => t,
                    Err(why) => {
                        report.refuse(&file.path, at, label, why);
                        continue;
                    }
                };
                let body = if a.body.trim().is_empty() {
                    String::new()
                } else {
                    match check_text(cx.locale(), &a.body, MAX_BODY_LEN, true) {
                        Ok(b) => b,
                        Err(why) => {
                            report.refuse(&file.path, at, label, why);
                            continue;
                        }
                    }
                };
                let (Some(from), Some(created)) =
                    (parse_time(&a.shown_from), parse_time(&a.created))
                else {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-bad-date"));
                    continue;
                };
                let until = match a.shown_until.as_deref().map(parse_time) {
                    None => None,
                    Some(Some(u)) if u > from => Some(u),
                    Some(_) => {
                        report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-bad-date"));
                        continue;
                    }
                };
                let targets: Option<Vec<Target>> =
                    a.audience.iter().map(|k| Target::parse(k)).collect();
                let allowed = |t: &Target| match t {
                    Target::Everyone => true,
                    Target::Profile(p) => AUDIENCE_PROFILES.contains(p),
                    Target::Class(c) => classes.contains(c) || is_staff(&user),
                    // A group's id is the établissement's own: it means nothing elsewhere.
                    Target::Group(_) => false,
                    Target::User(_) => false,
                };
                let targets = match targets {
                    Some(ts) if !ts.is_empty() && ts.iter().all(allowed) => ts,
                    _ => {
                        report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-audience"));
                        continue;
                    }
                };
                if !seen.insert((title.clone(), created)) {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
                    continue;
                }
                store::insert(
                    tx,
                    &store::NewAnnouncement {
                        author: &user.id,
                        author_name: &user.display_name,
                        title: &title,
                        body: &body,
                        pinned: a.pinned,
                        shown_from: from,
                        shown_until: until,
                        created_at: created,
                        targets: &targets,
                        origin: Some("import"),
                    },
                )
                .await?;
                report.accept(&file.path, at, label);
            }
        }
        Ok(report)
    }
}
