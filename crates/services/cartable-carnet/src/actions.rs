//! What the window's forms do. Every change names the book it changes, and
//! [`Access::may_write`] is asked first: no form reaches a book she may not write, and a
//! share or an edit reaches only her own entries.

use cartable_portlet::prelude::*;

use crate::books::{Access, resolve};
use crate::import::{self, FileError, Refusal};
use crate::model::{Book, FieldError, Fields};
use crate::store::{self, NewEntry, Share};
use crate::views::{CONSOLIDATION_KEY, entry_ref};
use crate::{MAX_ENTRIES, MESSAGES, SERVICE, new_uid, seconds};

fn not_found(ctx: &PortletContext) -> PortletError {
    PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"))
}

fn bad(ctx: &PortletContext, id: &str) -> PortletError {
    PortletError::BadRequest(ctx.t(&MESSAGES, id))
}

/// The message of a refused field.
pub(crate) fn field_message(locale_t: impl Fn(&str) -> String, e: &FieldError) -> String {
    match e {
        FieldError::Empty => locale_t("error-empty"),
        FieldError::TooLong { field, max } => {
            format!("{} ({field}, {max})", locale_t("error-too-long"))
        }
        FieldError::BadEmail(v) => format!("{} {v:?}", locale_t("error-email")),
    }
}

fn fields_of(request: &ActionRequest) -> Fields {
    let f = |n: &str| request.field(n).unwrap_or_default().to_string();
    Fields {
        nom: f("nom"),
        prenom: f("prenom"),
        fonction: f("fonction"),
        institution: f("institution"),
        adresse: f("adresse"),
        telephone: f("telephone"),
        courriel: f("courriel"),
        note: f("note"),
    }
}

fn cleaned(ctx: &PortletContext, f: Fields) -> Result<Fields, PortletError> {
    f.cleaned()
        .map_err(|e| PortletError::BadRequest(field_message(|id| ctx.t(&MESSAGES, id), &e)))
}

fn book_of(
    ctx: &PortletContext,
    request: &ActionRequest,
    access: &Access,
) -> Result<Book, PortletError> {
    match request.field("carnet") {
        None | Some("") => Ok(access.own()),
        Some(key) => Book::parse(key).ok_or_else(|| not_found(ctx)),
    }
}

fn number(ctx: &PortletContext, s: &str) -> Result<u64, PortletError> {
    s.trim().parse().map_err(|_| bad(ctx, "error-bad-id"))
}

/// Back to a book's page, in the state the form was posted from.
fn back_to(ctx: &PortletContext, book: &Book, access: &Access) -> ActionResponse {
    let mut r = ActionResponse::default();
    if *book != access.own() {
        r = r.param("carnet", book.key());
    }
    if ctx.window().state == WindowState::Maximized {
        r = r.state(WindowState::Maximized);
    }
    r
}

/// Do what the form asks.
pub(crate) async fn act(
    ctx: &mut PortletContext,
    mut request: ActionRequest,
) -> Result<ActionResponse, PortletError> {
    // Her groups before any connection is taken (the socle's storage may share the pool).
    let access = Access::of(ctx).await?;
    let db = ctx.db()?.clone();
    let now = seconds(ctx.clock().now());
    let op = request.required("op")?.to_string();
    let refuse_write = |ctx: &PortletContext, book: &Book| {
        tracing::info!(user = %ctx.user().id, book = %book, "carnet change refused");
        not_found(ctx)
    };
    match op.as_str() {
        "add" => {
            let book = book_of(ctx, &request, &access)?;
            if !access.may_write(&book) {
                return Err(refuse_write(ctx, &book));
            }
            let fields = cleaned(ctx, fields_of(&request))?;
            let uid = new_uid();
            let new = NewEntry {
                uid: &uid,
                person: None,
                fields: &fields,
                now,
            };
            let id = store::add(&db, &book, &new, MAX_ENTRIES)
                .await?
                .ok_or_else(|| full(ctx))?;
            ctx.search_changed(SERVICE, &[entry_ref(&book, id)]).await;
            Ok(back_to(ctx, &book, &access)
                .param("fiche", entry_ref(&book, id))
                .param("fait", 1))
        }
        "edit" => {
            let book = book_of(ctx, &request, &access)?;
            if !access.may_write(&book) {
                return Err(refuse_write(ctx, &book));
            }
            let id = number(ctx, request.required("id")?)?;
            let fields = cleaned(ctx, fields_of(&request))?;
            let mut conn = db.pool().acquire().await?;
            if !store::update(&mut conn, &book, id, &fields, now).await? {
                return Err(not_found(ctx));
            }
            drop(conn);
            ctx.search_changed(SERVICE, &[entry_ref(&book, id)]).await;
            Ok(back_to(ctx, &book, &access)
                .param("fiche", entry_ref(&book, id))
                .param("fait", 1))
        }
        "remove" => {
            let book = book_of(ctx, &request, &access)?;
            if !access.may_write(&book) {
                return Err(refuse_write(ctx, &book));
            }
            let id = number(ctx, request.required("id")?)?;
            if request.field("confirm") != Some("yes") {
                return Ok(back_to(ctx, &book, &access).param("supprimer", entry_ref(&book, id)));
            }
            let mut tx = db.begin().await?;
            if !store::remove(&mut tx, &book, id).await? {
                return Err(not_found(ctx));
            }
            tx.commit().await?;
            ctx.search_changed(SERVICE, &[entry_ref(&book, id)]).await;
            Ok(back_to(ctx, &book, &access).param("fait", 1))
        }
        "add-person" => {
            let book = book_of(ctx, &request, &access)?;
            if !access.may_write(&book) {
                return Err(refuse_write(ctx, &book));
            }
            let uid = request.required("person")?.trim().to_string();
            // Only someone she may find in the directory.
            let visible = ctx
                .recipients()
                .person(ctx.user(), &uid)
                .await
                .map_err(|e| {
                    PortletError::Internal(format!("the directory could not be read: {e}"))
                })?
                .ok_or_else(|| bad(ctx, "error-person-unknown"))?;
            let mut conn = db.pool().acquire().await?;
            if let Some(id) = store::by_person(&mut conn, &book, &visible.id).await? {
                return Ok(back_to(ctx, &book, &access).param("fiche", entry_ref(&book, id)));
            }
            drop(conn);
            let fields = crate::name_fields(&visible.display_name);
            let entry_uid = new_uid();
            let new = NewEntry {
                uid: &entry_uid,
                person: Some(&visible.id),
                fields: &fields,
                now,
            };
            store::add(&db, &book, &new, MAX_ENTRIES)
                .await?
                .ok_or_else(|| full(ctx))?;
            Ok(back_to(ctx, &book, &access).param("fait", 1))
        }
        "share" | "unshare" => {
            let book = access.own();
            let id = number(ctx, request.required("id")?)?;
            let kind = request.required("kind")?.to_string();
            let target = request.required("target")?.trim().to_string();
            let known = match kind.as_str() {
                "user" => {
                    target != access.me
                        && (op == "unshare" || ctx.directory().person(&target).await?.is_some())
                }
                "group" => op == "unshare" || access.groups.iter().any(|(g, _)| *g == target),
                _ => false,
            };
            if !known {
                return Err(bad(ctx, "error-share-target"));
            }
            let mut conn = db.pool().acquire().await?;
            if store::entry(&mut conn, &book, id).await?.is_none() {
                return Err(not_found(ctx));
            }
            let share = Share {
                entry: id,
                kind,
                target,
            };
            if op == "share" {
                store::add_share(&mut conn, &book, &share).await?;
            } else {
                store::remove_share(&mut conn, &book, &share).await?;
            }
            drop(conn);
            // Its readers in the index are its shares'.
            ctx.search_changed(SERVICE, &[entry_ref(&book, id)]).await;
            Ok(back_to(ctx, &book, &access)
                .param("fiche", entry_ref(&book, id))
                .param("fait", 1))
        }
        "copy" => {
            let from = book_of(ctx, &request, &access)?;
            let id = number(ctx, request.required("id")?)?;
            let entry = {
                let mut conn = db.pool().acquire().await?;
                if !access.may_read_entry(&mut conn, &from, id).await? {
                    return Err(not_found(ctx));
                }
                store::entry(&mut conn, &from, id)
                    .await?
                    .ok_or_else(|| not_found(ctx))?
            };
            // Into her own book, or a group's she writes (sharing with a group's book).
            let own = match request.field("vers") {
                None | Some("") => access.own(),
                Some(key) => Book::parse(key).ok_or_else(|| not_found(ctx))?,
            };
            if !access.may_write(&own) || own == from {
                return Err(not_found(ctx));
            }
            // A person of the directory stays a reference; a contact is copied as read.
            let shown = resolve(&ctx.recipients(), ctx.user(), entry).await?;
            let mut conn = db.pool().acquire().await?;
            if let Some(p) = &shown.entry.person
                && store::by_person(&mut conn, &own, p).await?.is_some()
            {
                return Ok(back_to(ctx, &own, &access).param("fait", 1));
            }
            drop(conn);
            let fields = if shown.entry.person.is_some() {
                shown.entry.fields.clone()
            } else {
                shown.fields.clone()
            };
            let uid = new_uid();
            let new = NewEntry {
                uid: &uid,
                person: shown.entry.person.as_deref(),
                fields: &fields,
                now,
            };
            let id = store::add(&db, &own, &new, MAX_ENTRIES)
                .await?
                .ok_or_else(|| full(ctx))?;
            ctx.search_changed(SERVICE, &[entry_ref(&own, id)]).await;
            Ok(back_to(ctx, &own, &access)
                .param("fiche", entry_ref(&own, id))
                .param("fait", 1))
        }
        "consolidate" => {
            let excluded: Vec<String> = access
                .tool_groups
                .iter()
                .filter(|(g, _, _)| request.field(&format!("g.{g}")).is_none())
                .map(|(g, _, _)| g.clone())
                .collect();
            ctx.data().set_json(CONSOLIDATION_KEY, &excluded).await?;
            Ok(ActionResponse::default()
                .param("vue", "tout")
                .param("fait", 1))
        }
        "import" => {
            let book = book_of(ctx, &request, &access)?;
            if !access.may_write(&book) {
                return Err(refuse_write(ctx, &book));
            }
            let summary = import_file(ctx, &mut request, &book).await?;
            Ok(back_to(ctx, &book, &access)
                .state(WindowState::Maximized)
                .param("importe", summary))
        }
        other => Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
    }
}

fn full(ctx: &PortletContext) -> PortletError {
    PortletError::BadRequest(ctx.t_args(&MESSAGES, "error-full", &args! { "max" => MAX_ENTRIES }))
}

/// The message of a whole file refused.
pub(crate) fn file_message(
    t: impl Fn(&str, &cartable_portlet::i18n::FluentArgs<'_>) -> String,
    e: &FileError,
) -> String {
    match e {
        FileError::TooLarge { size, max } => t(
            "error-file-too-large",
            &args! { "size" => size / (1024 * 1024), "max" => max / (1024 * 1024) },
        ),
        FileError::NotAddressBook => t("error-not-address-book", &args! {}),
    }
}

/// A file of the import form read and imported in one transaction; the summary shown.
async fn import_file(
    ctx: &PortletContext,
    request: &mut ActionRequest,
    book: &Book,
) -> Result<String, PortletError> {
    let t = |id: &str, a: &cartable_portlet::i18n::FluentArgs<'_>| ctx.t_args(&MESSAGES, id, a);
    let file = request
        .files
        .next()
        .await?
        .ok_or_else(|| bad(ctx, "error-no-file"))?;
    let too_large = |size: usize| {
        PortletError::BadRequest(file_message(
            t,
            &FileError::TooLarge {
                size,
                max: import::MAX_IMPORT_BYTES,
            },
        ))
    };
    let bytes = file
        .bytes(import::MAX_IMPORT_BYTES)
        .await
        .map_err(|e| match e {
            PortletError::File(_) => too_large(import::MAX_IMPORT_BYTES + 1),
            other => other,
        })?;
    let decoded =
        import::decode(&bytes).map_err(|e| PortletError::BadRequest(file_message(t, &e)))?;
    drop(bytes);
    let cards = import::cards(&decoded.text, MAX_ENTRIES)
        .map_err(|e| PortletError::BadRequest(file_message(t, &e)))?;
    let db = ctx.db()?;
    let mut tx = db.begin().await?;
    // The entries it adds are numbered above the book's last one (for the search index).
    let before = store::max_id(&mut tx, book).await?;
    let lines = import::apply(
        &mut tx,
        ctx.directory().as_ref(),
        book,
        cards.cards,
        seconds(ctx.clock().now()),
    )
    .await?;
    tx.commit().await?;
    let kept = lines.iter().filter(|l| l.result.is_ok()).count();
    if kept > 0 {
        let added = {
            let mut conn = db.pool().acquire().await?;
            store::ids_after(&mut conn, book, before).await?
        };
        let ids: Vec<String> = added.into_iter().map(|id| entry_ref(book, id)).collect();
        ctx.search_changed(SERVICE, &ids).await;
    }
    let count = |r: fn(&Refusal) -> bool| {
        lines
            .iter()
            .filter(|l| l.result.as_ref().err().is_some_and(r))
            .count()
    };
    let duplicates = count(|r| matches!(r, Refusal::Duplicate));
    let invalid = count(|r| matches!(r, Refusal::Invalid(_) | Refusal::PersonUnknown));
    let full = count(|r| matches!(r, Refusal::Full)) + cards.more;
    let photos = lines.iter().filter(|l| l.photo_dropped).count();
    let mut summary = t(
        "import-summary",
        &args! {
            "kept" => kept, "duplicates" => duplicates, "invalid" => invalid + cards.skipped.len(),
            "full" => full,
        },
    );
    if photos > 0 {
        summary.push(' ');
        summary.push_str(&t("import-photos", &args! { "n" => photos }));
    }
    if let Some(enc) = decoded.legacy {
        summary.push(' ');
        summary.push_str(&t("import-legacy", &args! { "encoding" => enc }));
    }
    tracing::info!(user = %ctx.user().id, book = %book, kept, duplicates, invalid, full, "carnet import");
    Ok(summary)
}
