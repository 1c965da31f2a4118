//! What the window's forms do. Every change is to the user's own links and folders:
//! each statement names her as the owner, so no form reaches another user's, shared
//! with her or not.

use cartable_portlet::items::checked_text;
use cartable_portlet::prelude::*;

use crate::import::{self, Refusal};
use crate::netscape::{self, NetscapeError};
use crate::share::groups_of;
use crate::store::{self, Share};
use crate::tree::{Entry, TOP, Tree};
use crate::views::current_folder;
use crate::{
    MAX_FOLDER_NAME_LEN, MAX_FOLDERS, MAX_IMPORT_BYTES, MAX_LINK_TITLE_LEN, MAX_URL_LEN,
    MAX_USER_LINKS, MESSAGES, web_url,
};

/// Do what the form asks.
pub(crate) async fn act(
    ctx: &mut PortletContext,
    mut request: ActionRequest,
) -> Result<ActionResponse, PortletError> {
    let db = ctx.db()?.clone();
    let owner = ctx.user().id.clone();
    let here = current_folder(ctx);
    let now = ctx.now().timestamp();
    let op = request.required("op")?.to_string();
    let mut back = back(ctx, here);
    // The links whose search document changed (title, address, folder, readers).
    let mut changed: Vec<u64> = Vec::new();
    match op.as_str() {
        "add" => {
            let title = checked_text(ctx, request.required("title")?, MAX_LINK_TITLE_LEN, false)?;
            let url = checked_url(ctx, request.required("url")?)?;
            let mut conn = db.pool().acquire().await?;
            let folder = existing_folder(ctx, &Tree::load(&mut conn, &owner).await?, here)?;
            drop(conn);
            // The limit is checked in the statement that inserts.
            match store::add(&db, &owner, folder, &title, &url, now, MAX_USER_LINKS).await? {
                Some(id) => changed.push(id),
                None => return Err(too_many_links(ctx)),
            }
        }
        "add-folder" => {
            let name = folder_name(ctx, request.required("name")?)?;
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            let parent = existing_folder(ctx, &tree, here)?;
            if store::add_folder(
                &mut tx,
                &owner,
                parent,
                &name,
                Some(now),
                Some(now),
                MAX_FOLDERS,
            )
            .await?
            .is_none()
            {
                return Err(too_many_folders(ctx));
            }
            tx.commit().await?;
        }
        "edit-link" => {
            let id = number(ctx, request.required("id")?)?;
            let title = checked_text(ctx, request.required("title")?, MAX_LINK_TITLE_LEN, false)?;
            let url = checked_url(ctx, request.required("url")?)?;
            let folder = number(ctx, request.field("folder").unwrap_or("0"))?;
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            let link = tree.link(id).ok_or_else(|| not_found(ctx))?;
            let folder = existing_folder(ctx, &tree, folder)?;
            let moved = folder != link.folder;
            store::update_link(&mut tx, &owner, id, &title, &url, folder, moved, now).await?;
            tx.commit().await?;
            changed.push(id);
            back = self::back(ctx, folder);
        }
        "edit-folder" => {
            let id = number(ctx, request.required("id")?)?;
            let name = folder_name(ctx, request.required("name")?)?;
            let parent = number(ctx, request.field("parent").unwrap_or("0"))?;
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            let folder = tree.folder(id).ok_or_else(|| not_found(ctx))?;
            let parent = existing_folder(ctx, &tree, parent)?;
            // Not into itself nor into a folder inside it.
            if parent != TOP && tree.is_within(parent, id) {
                return Err(PortletError::BadRequest(
                    ctx.t(&MESSAGES, "error-folder-loop"),
                ));
            }
            let moved = parent != folder.parent;
            store::update_folder(&mut tx, &owner, id, &name, parent, moved, now).await?;
            tx.commit().await?;
            changed = links_inside(&tree, id);
            back = self::back(ctx, parent);
        }
        "up" | "down" => {
            let id = number(ctx, request.required("id")?)?;
            let is_folder = match request.required("kind")? {
                "folder" => true,
                "link" => false,
                _ => return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id"))),
            };
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            let parent = if is_folder {
                tree.folder(id).map(|f| f.parent)
            } else {
                tree.link(id).map(|l| l.folder)
            }
            .ok_or_else(|| not_found(ctx))?;
            let parent = if tree.has_folder(parent) { parent } else { TOP };
            let mut order: Vec<(bool, u64)> = tree
                .children(parent)
                .into_iter()
                .map(|e| match e {
                    Entry::Folder(f) => (true, f.id),
                    Entry::Link(l) => (false, l.id),
                })
                .collect();
            let at = order
                .iter()
                .position(|e| *e == (is_folder, id))
                .ok_or_else(|| not_found(ctx))?;
            let other = if op == "up" {
                at.checked_sub(1)
            } else {
                Some(at + 1).filter(|o| *o < order.len())
            };
            // Already first (or last): nothing to do.
            if let Some(other) = other {
                order.swap(at, other);
                let positions: Vec<(bool, u64, i64)> = order
                    .iter()
                    .zip(1..)
                    .map(|((f, id), p)| (*f, *id, p))
                    .collect();
                store::set_positions(&mut tx, &owner, &positions).await?;
                tx.commit().await?;
            }
            back = self::back(ctx, parent);
        }
        "remove" => {
            let id = number(ctx, request.required("id")?)?;
            if !store::remove(&db, &owner, id).await? {
                return Err(not_found(ctx));
            }
            changed.push(id);
        }
        "remove-folder" => {
            let id = number(ctx, request.required("id")?)?;
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            let folder = tree.folder(id).ok_or_else(|| not_found(ctx))?;
            let (links, folders) = tree.content_count(id);
            // A folder with something in it goes only once the user confirmed.
            if (links > 0 || folders > 0) && request.field("confirm") != Some("yes") {
                return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-confirm")));
            }
            let parent = folder.parent;
            store::remove_folders(&mut tx, &owner, &tree.subtree(id)).await?;
            tx.commit().await?;
            changed = links_inside(&tree, id);
            back = self::back(ctx, if tree.has_folder(parent) { parent } else { TOP });
        }
        "share" | "unshare" => {
            let id = number(ctx, request.required("id")?)?;
            let kind = request.required("kind")?.to_string();
            let target = request.required("target")?.trim().to_string();
            let share = Share {
                folder: id,
                kind,
                target,
            };
            // Before the transaction: the groups are in the socle's storage.
            let folder_exists = Tree::load(&mut *db.pool().acquire().await?, &owner)
                .await?
                .folder(id)
                .is_some();
            if !folder_exists {
                return Err(not_found(ctx));
            }
            if op == "share" {
                check_share_target(ctx, &share).await?;
            }
            let mut tx = db.begin().await?;
            let tree = Tree::load(&mut tx, &owner).await?;
            tree.folder(id).ok_or_else(|| not_found(ctx))?;
            if op == "share" {
                store::add_share(&mut tx, &owner, &share).await?;
            } else if !store::remove_share(&mut tx, &owner, &share).await? {
                return Err(not_found(ctx));
            }
            tx.commit().await?;
            changed = links_inside(&tree, id);
            back = ActionResponse::default().param("modifier", format!("dossier-{id}"));
            if keeps_maximized(ctx) {
                back = back.state(WindowState::Maximized);
            }
        }
        "import" => {
            let (links, folders, skipped, ids) =
                import_file(ctx, &mut request, &owner, here).await?;
            changed = ids;
            back = back
                .param("importe", links)
                .param("dossiers", folders)
                .param("ignores", skipped);
        }
        other => return Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
    }
    if !changed.is_empty() {
        let ids: Vec<String> = changed
            .iter()
            .map(|id| crate::search::document_id(&owner, *id))
            .collect();
        ctx.search_changed(crate::SERVICE, &ids).await;
    }
    Ok(back)
}

/// The links in folder `id` and the folders inside it.
fn links_inside(tree: &Tree, id: u64) -> Vec<u64> {
    let inside = tree.subtree(id);
    tree.links
        .iter()
        .filter(|l| inside.contains(&l.folder))
        .map(|l| l.id)
        .collect()
}

/// Whether the window was maximized when the form was posted.
fn keeps_maximized(ctx: &PortletContext) -> bool {
    ctx.param("vue") == Some("max")
}

/// Back to folder `folder`, in the state the form was posted from.
fn back(ctx: &PortletContext, folder: u64) -> ActionResponse {
    let mut response = ActionResponse::default();
    if folder != TOP {
        response = response.param("dossier", folder);
    }
    if keeps_maximized(ctx) {
        response = response.state(WindowState::Maximized);
    }
    response
}

/// A file of the import form read, checked and imported in one transaction: nothing is
/// written when it is not a bookmark file or when it would pass a limit.
async fn import_file(
    ctx: &PortletContext,
    request: &mut ActionRequest,
    owner: &str,
    here: u64,
) -> Result<(usize, usize, usize, Vec<u64>), PortletError> {
    let file = request
        .files
        .next()
        .await?
        .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-no-file")))?;
    let bytes = file.bytes(MAX_IMPORT_BYTES).await.map_err(|e| match e {
        PortletError::File(_) => PortletError::BadRequest(ctx.t_args(
            &MESSAGES,
            "error-file-too-large",
            &args! { "max" => MAX_IMPORT_BYTES / (1024 * 1024) },
        )),
        other => other,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let doc = netscape::parse(&text).map_err(|e| {
        PortletError::BadRequest(ctx.t(
            &MESSAGES,
            match e {
                NetscapeError::NotBookmarkFile => "import-not-bookmarks",
                NetscapeError::NoList => "import-no-list",
            },
        ))
    })?;
    let db = ctx.db()?;
    let mut tx = db.begin().await?;
    let tree = Tree::load(&mut tx, owner).await?;
    let into = existing_folder(ctx, &tree, here)?;
    let untitled = ctx.t(&MESSAGES, "untitled-folder");
    let outcome = import::apply(&mut tx, owner, &tree, into, &doc, &untitled).await?;
    if outcome.over_limit() {
        // Dropping the transaction rolls it back: nothing of the file is kept.
        let wanted = outcome.links
            + outcome
                .lines
                .iter()
                .filter(|l| !l.folder && l.refused == Some(Refusal::TooManyLinks))
                .count();
        let folders_wanted = outcome.folder_ids.len();
        return Err(PortletError::BadRequest(ctx.t_args(
            &MESSAGES,
            "import-too-many",
            &args! {
                "links" => wanted,
                "folders" => folders_wanted,
                "max" => MAX_USER_LINKS,
                "max_folders" => MAX_FOLDERS,
                "kept" => tree.links.len(),
                "kept_folders" => tree.folders.len(),
            },
        )));
    }
    tx.commit().await?;
    Ok((
        outcome.links,
        outcome.folders,
        outcome.refused(),
        outcome.link_ids,
    ))
}

/// A share is of one of her groups, or of a user of the directory other than herself.
async fn check_share_target(ctx: &PortletContext, share: &Share) -> Result<(), PortletError> {
    match share.kind.as_str() {
        "group" => {
            let mine = groups_of(&ctx.groups(), &ctx.user().id).await?;
            if !mine.contains(&share.target) {
                return Err(PortletError::BadRequest(
                    ctx.t(&MESSAGES, "error-share-group"),
                ));
            }
        }
        "user" => {
            if share.target == ctx.user().id {
                return Err(PortletError::BadRequest(
                    ctx.t(&MESSAGES, "error-share-self"),
                ));
            }
            if share.target.is_empty() || ctx.directory().person(&share.target).await?.is_none() {
                return Err(PortletError::BadRequest(ctx.t_args(
                    &MESSAGES,
                    "error-share-user",
                    &args! { "login" => share.target.clone() },
                )));
            }
        }
        _ => return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id"))),
    }
    Ok(())
}

/// Folder `id` if she has it (the top level always); else "no longer exists".
fn existing_folder(ctx: &PortletContext, tree: &Tree, id: u64) -> Result<u64, PortletError> {
    if tree.has_folder(id) {
        Ok(id)
    } else {
        Err(not_found(ctx))
    }
}

fn checked_url(ctx: &PortletContext, raw: &str) -> Result<String, PortletError> {
    let raw = checked_text(ctx, raw, MAX_URL_LEN, false)?;
    web_url(&raw)
        .filter(|u| u.chars().count() <= MAX_URL_LEN)
        .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-url")))
}

fn folder_name(ctx: &PortletContext, raw: &str) -> Result<String, PortletError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_FOLDER_NAME_LEN
        || name.chars().any(char::is_control)
    {
        return Err(PortletError::BadRequest(ctx.t_args(
            &MESSAGES,
            "error-folder-name",
            &args! { "max" => MAX_FOLDER_NAME_LEN },
        )));
    }
    Ok(name.to_string())
}

fn number(ctx: &PortletContext, raw: &str) -> Result<u64, PortletError> {
    raw.trim()
        .parse()
        .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id")))
}

fn not_found(ctx: &PortletContext) -> PortletError {
    PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"))
}

fn too_many_links(ctx: &PortletContext) -> PortletError {
    PortletError::BadRequest(ctx.t_args(
        &MESSAGES,
        "error-too-many",
        &args! { "max" => MAX_USER_LINKS },
    ))
}

fn too_many_folders(ctx: &PortletContext) -> PortletError {
    PortletError::BadRequest(ctx.t_args(
        &MESSAGES,
        "error-too-many-folders",
        &args! { "max" => MAX_FOLDERS },
    ))
}
