//! Attachments: files added to an event on the web form, kept in the socle's file store.
//!
//! - **Upload**: the event form's file input (`attachment`, several files at once), at
//!   most [`MAX_SIZE`] bytes a file and [`MAX_PER_EVENT`] files an event; each counts
//!   against the quota of the space of the user who adds it
//!   ([`Agenda::attachment_quota`](crate::Agenda::attachment_quota)). A file too large,
//!   or a space without room, shows the form again with a message, and nothing is kept
//!   (neither the event's change nor any file of that form).
//! - **In the event**: `ATTACH;MANAGED-ID=<file id>;FMTTYPE=…;SIZE=…;FILENAME=…:<URI>`
//!   (RFC 8607's parameters), the URI being the agenda's resource URL for that file.
//! - **Served** by the resource [`RESOURCE`] (`?file=<id>`), as a download with its
//!   stored media type (the portal adds `nosniff` and a sandboxing policy), only to
//!   someone who reads an agenda holding an event that names the file; anyone else gets
//!   a 404, whatever id she tries. Which events name which file is kept in
//!   `agenda_attachment` (migration 0003): a file is added there only by the event form
//!   that uploaded it, and stays while the event names it, whatever door later changes
//!   the event (a CalDAV client that keeps the `ATTACH` keeps it); an `ATTACH` naming a
//!   file id that came by CalDAV or an import opens nothing.
//! - **Deleted** when the page deletes the event that named it or the edit form takes
//!   it away, unless another event still names it; so does a CalDAV client that deletes
//!   the event or drops its `ATTACH` (the DAV door reaches the file store through the
//!   socle's services).

use std::collections::BTreeSet;

use cartable_portlet::prelude::*;
use cartable_portlet::sqlx::{self, AnyConnection, AssertSqlSafe};
use cartable_socle::files::{FileError, FileId, NewFile, Space, StoredFile};
use icalendar::parser::{read_calendar, unfold};
use serde::Serialize;

use crate::edit::NewAttachment;
use crate::{MESSAGES, SERVICE, ics};

/// The largest attachment, in bytes.
pub const MAX_SIZE: u64 = 10 * 1024 * 1024;
/// The most attachments an event has.
pub const MAX_PER_EVENT: usize = 10;
/// The most attachments one form sends (what the window's upload limit allows).
pub const MAX_AT_ONCE: u64 = 3;
/// The quota of a user's file space unless the établissement sets one, in bytes.
pub const DEFAULT_QUOTA: u64 = 100 << 20;
/// The resource that serves an attachment.
pub const RESOURCE: &str = "attachment";
/// The form's file field.
pub const FIELD: &str = "attachment";

/// An attachment of an event, as read from its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Attachment {
    /// The file's id in the file store, for a file the agenda keeps.
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// Where a client's attachment is (an `http(s)` URI); empty for a kept file.
    pub uri: String,
}

/// The attachments of the main event of an object: the files the agenda keeps and the
/// links (`http`, `https`) a client wrote; other values (inline data) are not listed.
pub(crate) fn of(ics_text: &str) -> Vec<Attachment> {
    if !ics_text.contains("ATTACH") {
        return Vec::new();
    }
    let unfolded = unfold(&ics_text.replace("\r\n", "\n"));
    let Ok(cal) = read_calendar(&unfolded) else {
        return Vec::new();
    };
    let g = ics::group(&cal.components);
    let Some(comps) = g.order.first().and_then(|u| g.events.get(u)) else {
        return Vec::new();
    };
    let Some(main) = comps
        .iter()
        .find(|c| c.find_prop("RECURRENCE-ID").is_none())
        .or(comps.first())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in main
        .properties
        .iter()
        .filter(|p| p.name.as_str() == "ATTACH")
    {
        let uri = p.val.as_str().trim();
        let id = ics::param(p, "MANAGED-ID")
            .and_then(FileId::parse)
            .map(|f| f.as_str().to_string());
        let external = uri.starts_with("https://") || uri.starts_with("http://");
        if id.is_none() && !external {
            continue;
        }
        let name = ["FILENAME", "X-FILENAME", "X-APPLE-FILENAME"]
            .iter()
            .find_map(|k| ics::param(p, k))
            .map(str::to_string)
            .or_else(|| {
                uri.split(['?', '#'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| uri.to_string());
        out.push(Attachment {
            uri: if id.is_some() {
                String::new()
            } else {
                uri.to_string()
            },
            id,
            name: name.chars().filter(|c| !c.is_control()).take(255).collect(),
        });
    }
    out
}

/// Keep, for the event `calendar`/`name` whose object is now `ics_text` (`None`: it is
/// deleted), the files it still names, in its write's transaction (every door writes
/// through [`crate::store`]). A file is only ever added by [`grant`]: an `ATTACH` that
/// came another way (a client, an import) opens no file to anyone.
pub(crate) async fn index(
    tx: &mut AnyConnection,
    calendar: &str,
    name: &str,
    ics_text: Option<&str>,
) -> Result<(), sqlx::Error> {
    let named: Vec<String> = ics_text
        .map(of)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| a.id)
        .collect();
    let sql = if named.is_empty() {
        "DELETE FROM agenda_attachment WHERE calendar = $1 AND name = $2".to_string()
    } else {
        let list = (3..named.len() + 3)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "DELETE FROM agenda_attachment WHERE calendar = $1 AND name = $2 AND file NOT IN ({list})"
        )
    };
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(calendar).bind(name);
    for id in &named {
        q = q.bind(id.as_str());
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Record that the event `calendar`/`name` names the files `added` from the event form,
/// in the transaction that writes it.
pub(crate) async fn grant(
    tx: &mut AnyConnection,
    calendar: &str,
    name: &str,
    added: &[NewAttachment],
) -> Result<(), sqlx::Error> {
    for a in added {
        sqlx::query(
            "INSERT INTO agenda_attachment (file, calendar, name) VALUES ($1, $2, $3) \
             ON CONFLICT (file, calendar, name) DO NOTHING",
        )
        .bind(a.id.as_str())
        .bind(calendar)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Of the events `(calendar, name)` and the kept files they name, those the agenda
/// opens (an `ATTACH` that came by CalDAV or an import naming a file id opens nothing,
/// and the views do not link it).
pub(crate) async fn opened(
    db: &cartable_portlet::Database,
    named: &[(String, String, String)],
) -> Result<BTreeSet<(String, String, String)>, PortletError> {
    let mut out = BTreeSet::new();
    for chunk in named.chunks(300) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("SELECT file, calendar, name FROM agenda_attachment WHERE file IN ({list})");
        let mut q = sqlx::query_as::<_, (String, String, String)>(AssertSqlSafe(sql));
        for (file, _, _) in chunk {
            q = q.bind(file.as_str());
        }
        let rows = q
            .fetch_all(db.pool())
            .await
            .map_err(cartable_socle::SocleError::from)?;
        out.extend(rows.into_iter().filter(|r| named.contains(r)));
    }
    Ok(out)
}

/// The agendas holding an event that names the kept file `id`.
async fn holders(db: &cartable_portlet::Database, id: &str) -> Result<Vec<String>, PortletError> {
    Ok(sqlx::query_as::<_, (String,)>(
        "SELECT DISTINCT calendar FROM agenda_attachment WHERE file = $1",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await
    .map_err(cartable_socle::SocleError::from)?
    .into_iter()
    .map(|r| r.0)
    .collect())
}

/// The kept file `id`, if an event of one of `calendars` (the agendas she reads) names
/// it.
pub(crate) async fn readable(
    ctx: &PortletContext,
    calendars: &[String],
    id: &str,
) -> Result<Option<StoredFile>, PortletError> {
    let Some(file_id) = FileId::parse(id) else {
        return Ok(None);
    };
    let named = holders(ctx.db()?, id)
        .await?
        .iter()
        .any(|c| calendars.contains(c));
    if !named {
        return Ok(None);
    }
    Ok(ctx
        .files()?
        .get(&file_id)
        .await?
        .filter(|f| f.service == SERVICE))
}

/// Delete the kept files `ids` that no event names any more. A failure is logged: the
/// event's change stays, and the file is left (counted in its space) for an
/// administrator.
pub(crate) async fn delete_unnamed(ctx: &PortletContext, ids: &[String]) {
    let files = ctx.files().ok();
    match ctx.db() {
        Ok(db) => delete_unnamed_in(db, files, ids).await,
        Err(e) => tracing::warn!("attachments no event names were not deleted: {e}"),
    }
}

/// [`delete_unnamed`] with the socle's database and file store, for the doors that have
/// no window (CalDAV): a client that deletes an event, or drops its `ATTACH`, deletes
/// the files the page attached, as the page would.
pub(crate) async fn delete_unnamed_in(
    db: &cartable_portlet::Database,
    files: Option<&cartable_socle::FileStore>,
    ids: &[String],
) {
    let Some(files) = files else {
        if !ids.is_empty() {
            tracing::warn!("attachments no event names were not deleted: no file store");
        }
        return;
    };
    for id in ids {
        if let Err(e) = delete_if_unnamed(db, files, id).await {
            tracing::warn!(file = %id, "an attachment no event names was not deleted: {e}");
        }
    }
}

async fn delete_if_unnamed(
    db: &cartable_portlet::Database,
    files: &cartable_socle::FileStore,
    id: &str,
) -> Result<(), PortletError> {
    let Some(file_id) = FileId::parse(id) else {
        return Ok(());
    };
    if !holders(db, id).await?.is_empty() {
        return Ok(());
    }
    if files
        .get(&file_id)
        .await?
        .is_some_and(|f| f.service == SERVICE)
    {
        files.delete(&file_id).await?;
    }
    Ok(())
}

/// The ids of the kept files an object names.
pub(crate) fn kept_ids(ics_text: &str) -> Vec<String> {
    of(ics_text).into_iter().filter_map(|a| a.id).collect()
}

/// Store the files of the form's [`FIELD`] (at most `room` of them) in her space, whose
/// quota is `quota`: what to name in the event. A file refused (too large, no room, too
/// many) adds its message to `form`, and every file of this form is deleted again.
pub(crate) async fn upload(
    ctx: &PortletContext,
    request: &mut ActionRequest,
    form: &mut cartable_portlet::form::InvalidForm,
    room: usize,
    quota: u64,
) -> Result<Vec<NewAttachment>, PortletError> {
    let mut kept: Vec<StoredFile> = Vec::new();
    let mut refused = None;
    while let Some(part) = request.files.next().await? {
        if part.field != FIELD {
            continue;
        }
        if kept.len() >= room {
            refused = Some(ctx.t_args(
                &MESSAGES,
                "error-attachment-count",
                &args! { "n" => MAX_PER_EVENT },
            ));
            break;
        }
        let files = ctx.files()?;
        let name = if part.file_name.is_empty() {
            "fichier".to_string()
        } else {
            part.file_name.clone()
        };
        let new = NewFile {
            service: SERVICE.into(),
            space: Space::User(ctx.user().id.clone()),
            name: name.clone(),
            content_type: part.content_type.clone(),
            max_size: part.max_size.min(MAX_SIZE),
        };
        match files.upload(new, quota, part.into_body()).await {
            Ok(f) => kept.push(f),
            Err(e) => {
                let key = match e {
                    FileError::TooLarge { .. } => "error-attachment-too-large",
                    FileError::QuotaExceeded { .. } => "error-attachment-quota",
                    FileError::Invalid(_) => "error-attachment-invalid",
                    other => {
                        forget(ctx, &kept).await;
                        return Err(other.into());
                    }
                };
                refused = Some(ctx.t_args(&MESSAGES, key, &args! { "name" => name }));
                break;
            }
        }
    }
    if let Some(message) = refused {
        forget(ctx, &kept).await;
        form.field(FIELD, message);
        return Ok(Vec::new());
    }
    Ok(kept
        .into_iter()
        .map(|f| NewAttachment {
            uri: ctx
                .urls()
                .resource(RESOURCE)
                .param("file", f.id.as_str())
                .to_string(),
            id: f.id.as_str().to_string(),
            name: f.name,
            content_type: f.content_type,
            size: f.size,
        })
        .collect())
}

/// Delete files stored for a form that is refused.
pub(crate) async fn forget(ctx: &PortletContext, files: &[StoredFile]) {
    let Ok(store) = ctx.files() else {
        return;
    };
    for f in files {
        if let Err(e) = store.delete(&f.id).await {
            tracing::warn!(file = %f.id, "a refused form's attachment was not deleted: {e}");
        }
    }
}

/// Delete the files of attachments made for a change that was not stored.
pub(crate) async fn forget_new(ctx: &PortletContext, added: &[NewAttachment]) {
    let Ok(store) = ctx.files() else {
        return;
    };
    for a in added {
        if let Some(id) = FileId::parse(&a.id)
            && let Err(e) = store.delete(&id).await
        {
            tracing::warn!(file = %a.id, "an attachment of a change not stored was not deleted: {e}");
        }
    }
}
