//! The user's address book in "Mes données" (réversibilité):
//!
//! - `carnet/contacts.vcf`: her own book, vCard 4.0, each person of the directory as she
//!   may see her (with `X-CARTABLE-PERSON`), what every address-book application imports;
//! - `carnet/shares.json` (only when she shares something): `{"version": 1, "shares":
//!   [{"uid": "<the entry's vCard UID>", "kind": "user" | "group", "target": "<id>"}]}`.
//!
//! On import, the vCard file goes through the same import as the window's form (each card
//! reported; a card whose `UID` is already in her book is left as it is), then the shares
//! whose entry, and user (in the directory) or group (hers), exist.

use cartable_portlet::async_trait;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, PortabilityError, Portable,
};
use cartable_portlet::i18n::args;
use cartable_portlet::sqlx::AnyConnection;
use serde::{Deserialize, Serialize};

use crate::actions::{field_message, file_message};
use crate::import::{self, Refusal};
use crate::model::Book;
use crate::store::{self, Share};
use crate::{Carnet, Format, MAX_ENTRIES, MESSAGES, SERVICE, export_text, seconds, vcard};

/// The vCard file's name in the service's folder.
pub const FILE: &str = "contacts.vcf";
/// Its format's name in the manifest.
pub const FORMAT: &str = "text/vcard;version=4.0";
/// The shares' file name.
pub const SHARES_FILE: &str = "shares.json";
/// Its format's name in the manifest.
const SHARES_FORMAT: &str = "cartable-carnet-shares+json;version=1";
/// Where the socle's groups service keeps the groups (its portlet-data name).
const GROUPS_DATA: &str = "cartable-groups";

#[derive(Debug, Serialize, Deserialize)]
struct SharesFile {
    version: u32,
    shares: Vec<SharedEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SharedEntry {
    uid: String,
    kind: String,
    target: String,
}

#[async_trait]
impl Portable for Carnet {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let book = Book::User(cx.user().id.clone());
        let recipients = cx.services().recipients.clone().unwrap_or_default();
        let text = export_text(
            cx.db()?,
            &recipients,
            cx.user(),
            &book,
            Format::VCard(vcard::Version::V4),
        )
        .await?;
        sink.file(ExportFile::bytes(
            FILE,
            "text/vcard; charset=utf-8",
            FORMAT,
            text.into_bytes(),
        ))
        .await?;
        let (shares, entries) = {
            let mut conn = cx.db()?.pool().acquire().await?;
            (
                store::shares(&mut conn, &book).await?,
                store::entries(&mut conn, &book).await?,
            )
        };
        if shares.is_empty() {
            return Ok(());
        }
        let file = SharesFile {
            version: 1,
            shares: shares
                .into_iter()
                .filter_map(|s| {
                    let e = entries.iter().find(|e| e.id == s.entry)?;
                    Some(SharedEntry {
                        uid: e.uid.clone(),
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
        let book = Book::User(cx.user().id.clone());
        let mut report = ImportReport::default();
        // The cards first: the shares name them.
        files.sort_by_key(|f| f.path != FILE);
        for file in files {
            match file.path.as_str() {
                FILE => import_cards(cx, tx, &book, &file, &mut report).await?,
                SHARES_FILE => import_shares(cx, tx, &book, &file, &mut report).await?,
                _ => report.refuse(&file.path, "", "", cx.t(&MESSAGES, "import-unknown-file")),
            }
        }
        Ok(report)
    }
}

async fn import_cards(
    cx: &DataContext,
    tx: &mut AnyConnection,
    book: &Book,
    file: &ImportFile,
    report: &mut ImportReport,
) -> Result<(), PortabilityError> {
    // An empty book is exported as a file without a card: nothing to restore.
    if file.bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let t = |id: &str, a: &cartable_portlet::i18n::FluentArgs<'_>| cx.t_args(&MESSAGES, id, a);
    let cards = match import::decode(&file.bytes).and_then(|d| import::cards(&d.text, MAX_ENTRIES))
    {
        Ok(c) => c,
        Err(e) => {
            report.refuse(&file.path, "", "", file_message(t, &e));
            return Ok(());
        }
    };
    for (at, why) in &cards.skipped {
        report.refuse(&file.path, at.clone(), "", cx.t(&MESSAGES, why));
    }
    if cards.more > 0 {
        report.refuse(
            &file.path,
            "",
            "",
            cx.t_args(&MESSAGES, "import-more", &args! { "n" => cards.more }),
        );
    }
    let lines = import::apply(
        tx,
        cx.services().directory.as_ref(),
        book,
        cards.cards,
        seconds(cx.clock().now()),
    )
    .await?;
    for line in lines {
        let at = line.at.to_string();
        match line.result {
            Ok(()) => report.accept(&file.path, at, &line.label),
            Err(why) => {
                let reason = match why {
                    Refusal::Invalid(e) => field_message(|id| cx.t(&MESSAGES, id), &e),
                    Refusal::Duplicate => cx.t(&MESSAGES, "import-duplicate"),
                    Refusal::Full => {
                        cx.t_args(&MESSAGES, "error-full", &args! { "max" => MAX_ENTRIES })
                    }
                    Refusal::PersonUnknown => cx.t(&MESSAGES, "error-person-unknown"),
                };
                report.refuse(&file.path, at, &line.label, reason);
            }
        }
    }
    Ok(())
}

async fn import_shares(
    cx: &DataContext,
    tx: &mut AnyConnection,
    book: &Book,
    file: &ImportFile,
    report: &mut ImportReport,
) -> Result<(), PortabilityError> {
    let parsed: SharesFile = match serde_json::from_slice(&file.bytes) {
        Ok(p) => p,
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
    let owner = cx.user().id.clone();
    // The groups as the transaction sees them (the storage may share its pool).
    let groups = cartable_socle::Groups::new(
        cartable_socle::UpgradeSources::new()
            .key_value_data(tx, GROUPS_DATA)
            .await?,
        cx.clock().clone(),
        cartable_socle::GroupPolicy::default(),
    );
    let mine: Vec<String> = groups
        .groups_of(&owner)
        .await
        .map_err(|e| PortabilityError::Other(format!("the groups could not be read: {e}")))?
        .into_iter()
        .map(|g| g.id)
        .collect();
    for (i, s) in parsed.shares.into_iter().enumerate() {
        let at = (i + 1).to_string();
        let label = format!("{} → {}", s.uid, s.target);
        let Some(entry) = store::by_uid(tx, book, &s.uid).await? else {
            report.refuse(
                &file.path,
                at,
                label,
                cx.t(&MESSAGES, "import-share-no-entry"),
            );
            continue;
        };
        let known = match s.kind.as_str() {
            "user" => {
                s.target != owner && cx.services().directory.person(&s.target).await?.is_some()
            }
            "group" => mine.contains(&s.target),
            _ => false,
        };
        if !known {
            report.refuse(&file.path, at, label, cx.t(&MESSAGES, "error-share-target"));
            continue;
        }
        let share = Share {
            entry,
            kind: s.kind,
            target: s.target,
        };
        if store::add_share(tx, book, &share).await? {
            report.accept(&file.path, at, label);
        } else {
            report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
        }
    }
    Ok(())
}
