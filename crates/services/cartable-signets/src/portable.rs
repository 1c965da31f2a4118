//! The user's bookmarks in "Mes données" (réversibilité):
//!
//! - `signets/bookmarks.html`: her folders and links, a Netscape bookmark file
//!   ([`crate::netscape`]) that Firefox, Chrome and Edge import as it is, and that this
//!   service imports from them with their folders;
//! - `signets/shares.json` (only when she shares something): who each folder is shared
//!   with, `{"version": 1, "shares": [{"folder": 2, "path": ["Cours", "Maths"], "kind":
//!   "user" | "group", "target": "<user or group id>"}]}`, `folder` being the rank of the
//!   folder's `<H3>` in `bookmarks.html` (from 1) and `path` its name and those around it,
//!   for the reader (docs/data.md).
//!
//! On import, the bookmark file goes through the same import as the window's form
//! ([`crate::import`]), each item reported; a share is restored when its user is in the
//! directory, or its group exists and the user is in it.

use cartable_portlet::async_trait;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, PortabilityError, Portable,
};
use cartable_portlet::i18n::args;
use cartable_portlet::sqlx::AnyConnection;
use serde::{Deserialize, Serialize};

use crate::import::{self, Refusal};
use crate::netscape::{self, NetscapeError};
use crate::store::{self, Share};
use crate::tree::{TOP, Tree};
use crate::{Bookmarks, MAX_FOLDERS, MAX_USER_LINKS, MESSAGES, SERVICE};

/// The bookmark file's name in the service's folder.
pub const FILE: &str = "bookmarks.html";
/// Its format's name in the manifest.
pub const FORMAT: &str = "netscape-bookmark-file-1";
/// The shares' file name.
pub const SHARES_FILE: &str = "shares.json";
/// Its format's name in the manifest.
pub const SHARES_FORMAT: &str = "cartable-signets-shares+json;version=1";

/// Where the socle's groups service keeps the groups (its portlet-data name).
const GROUPS_DATA: &str = "cartable-groups";

/// `shares.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SharesFile {
    version: u32,
    shares: Vec<SharedFolder>,
}

/// One share in `shares.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SharedFolder {
    /// The rank of the folder's `<H3>` in `bookmarks.html`, from 1.
    folder: usize,
    /// Its name and those of the folders around it, outermost first.
    path: Vec<String>,
    /// `user` or `group`.
    kind: String,
    /// The user's or group's id.
    target: String,
}

#[async_trait]
impl Portable for Bookmarks {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let mut conn = cx.db()?.pool().acquire().await?;
        let owner = &cx.user().id;
        let tree = Tree::load(&mut conn, owner).await?;
        let title = format!("{} – {}", cx.t(&MESSAGES, "title"), cx.user().display_name);
        let text = netscape::write(&tree.document(TOP, &title));
        sink.file(ExportFile::bytes(
            FILE,
            "text/html; charset=utf-8",
            FORMAT,
            text.into_bytes(),
        ))
        .await?;
        let shares = store::shares(&mut conn, owner).await?;
        if shares.is_empty() {
            return Ok(());
        }
        let order = tree.folders_in_file_order();
        let file = SharesFile {
            version: 1,
            shares: shares
                .into_iter()
                .filter_map(|s| {
                    let rank = order.iter().position(|f| *f == s.folder)? + 1;
                    Some(SharedFolder {
                        folder: rank,
                        path: tree.path(s.folder).iter().map(|f| f.name.clone()).collect(),
                        kind: s.kind,
                        target: s.target,
                    })
                })
                .collect(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| {
            PortabilityError::Other(format!("the shares could not be written: {e}"))
        })?;
        sink.file(ExportFile::bytes(
            SHARES_FILE,
            "application/json",
            SHARES_FORMAT,
            json,
        ))
        .await
    }

    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        mut files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError> {
        let owner = cx.user().id.clone();
        let mut report = ImportReport::default();
        // The bookmarks first: the shares name their folders.
        files.sort_by_key(|f| f.path != FILE);
        let mut folder_ids: Vec<Option<u64>> = Vec::new();
        for file in files {
            match file.path.as_str() {
                FILE => folder_ids = import_bookmarks(cx, tx, &owner, &file, &mut report).await?,
                SHARES_FILE => {
                    import_shares(cx, tx, &owner, &file, &folder_ids, &mut report).await?
                }
                _ => report.refuse(&file.path, "", "", cx.t(&MESSAGES, "import-unknown-file")),
            }
        }
        Ok(report)
    }
}

async fn import_bookmarks(
    cx: &DataContext,
    tx: &mut AnyConnection,
    owner: &str,
    file: &ImportFile,
    report: &mut ImportReport,
) -> Result<Vec<Option<u64>>, PortabilityError> {
    let text = String::from_utf8_lossy(&file.bytes);
    let doc = match netscape::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let why = match e {
                NetscapeError::NotBookmarkFile => "import-not-bookmarks",
                NetscapeError::NoList => "import-no-list",
            };
            report.refuse(&file.path, "", "", cx.t(&MESSAGES, why));
            return Ok(Vec::new());
        }
    };
    let tree = Tree::load(tx, owner).await?;
    let untitled = cx.t(&MESSAGES, "untitled-folder");
    let outcome = import::apply(tx, owner, &tree, TOP, &doc, &untitled).await?;
    for line in &outcome.lines {
        let at = line.at.to_string();
        match line.refused {
            None => report.accept(&file.path, at, &line.label),
            Some(why) => {
                let reason = match why {
                    Refusal::NoUrl => cx.t(&MESSAGES, "import-no-url"),
                    Refusal::NotWeb => cx.t(&MESSAGES, "error-url"),
                    Refusal::Duplicate => cx.t(&MESSAGES, "import-duplicate"),
                    Refusal::Merged => cx.t(&MESSAGES, "import-folder-merged"),
                    Refusal::TooManyLinks => cx.t_args(
                        &MESSAGES,
                        "error-too-many",
                        &args! { "max" => MAX_USER_LINKS },
                    ),
                    Refusal::TooManyFolders => cx.t_args(
                        &MESSAGES,
                        "error-too-many-folders",
                        &args! { "max" => MAX_FOLDERS },
                    ),
                };
                report.refuse(&file.path, at, &line.label, reason);
            }
        }
    }
    Ok(outcome.folder_ids)
}

async fn import_shares(
    cx: &DataContext,
    tx: &mut AnyConnection,
    owner: &str,
    file: &ImportFile,
    folder_ids: &[Option<u64>],
    report: &mut ImportReport,
) -> Result<(), PortabilityError> {
    let parsed: SharesFile = match serde_json::from_slice(&file.bytes) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.refuse(
                &file.path,
                "",
                "",
                cx.t_args(
                    &MESSAGES,
                    "import-bad-shares",
                    &args! { "error" => e.to_string() },
                ),
            );
            return Ok(());
        }
    };
    // The groups as the transaction sees them (the socle's storage may share its
    // connection pool, whose connection the transaction holds).
    let groups = cartable_socle::Groups::new(
        cartable_socle::UpgradeSources::new()
            .key_value_data(tx, GROUPS_DATA)
            .await?,
        cx.clock().clone(),
        cartable_socle::GroupPolicy::default(),
    );
    for (i, s) in parsed.shares.into_iter().enumerate() {
        let at = (i + 1).to_string();
        let label = format!("{} → {}", s.path.join(" › "), s.target);
        let folder = s
            .folder
            .checked_sub(1)
            .and_then(|i| folder_ids.get(i).copied().flatten());
        let Some(folder) = folder else {
            report.refuse(
                &file.path,
                at,
                label,
                cx.t(&MESSAGES, "import-share-no-folder"),
            );
            continue;
        };
        let known = match s.kind.as_str() {
            "user" => {
                s.target != owner && cx.services().directory.person(&s.target).await?.is_some()
            }
            "group" => groups
                .groups_of(owner)
                .await
                .map_err(|e| PortabilityError::Other(format!("the groups could not be read: {e}")))?
                .iter()
                .any(|g| g.id == s.target),
            _ => false,
        };
        if !known {
            report.refuse(
                &file.path,
                at,
                label,
                cx.t(&MESSAGES, "import-share-unknown"),
            );
            continue;
        }
        let share = Share {
            folder,
            kind: s.kind,
            target: s.target,
        };
        if store::add_share(tx, owner, &share).await? {
            report.accept(&file.path, at, label);
        } else {
            report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
