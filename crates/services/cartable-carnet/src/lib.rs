//! The SDET service « carnet d'adresses »: a personal address book for everyone, a shared
//! one for each group that has the tool, a consolidated view of one's own and one's
//! groups', entries shared with a user or a group, vCard and LDIF exchanged with the usual
//! address-book applications, and the carnet's part of the recipient picker.
//!
//! - Entries are rows of `carnet_entry` (see `migrations/`), in a **book**: a user's own
//!   (`u:<uid>`) or a group's (`g:<group id>`), at most [`MAX_ENTRIES`] each. Each has the
//!   SDET's fields ([`Fields`]: nom, prénom, fonction, institution, adresse, téléphone,
//!   courriel) and a note, and a vCard `UID` kept across exports and imports.
//! - A **person of the directory** added from the annuaire is kept as her uid only (and
//!   her name, for sorting): her details are read from the directory at each display,
//!   export or pick, *as the reader may see them* ([`Recipients::person`]: the annuaire's
//!   rule, per the reader's profile, without what the person hid). Nothing she hid is
//!   ever copied into the carnet, and a change in the directory shows at once.
//! - A **group's book** is read by its members and written by its contributors, managers
//!   and owner ([`GroupTool`] « Carnet d'adresses du groupe »).
//! - An entry of one's own book is **shared**, read-only, with a user or a group
//!   (`carnet_share`); its readers see it under « Partagés avec moi » and may copy it into
//!   their own book.
//! - **vCard 3.0 and 4.0** ([`vcard`]) and **LDIF** ([`ldif`]) are imported (vCard 2.1
//!   too, as Outlook writes it) and exported (the resource `export`); the same vCard file
//!   is the service's part of "Mes données", with the shares in `shares.json`.
//! - The carnet is a [`RecipientSource`](cartable_portlet::recipients::RecipientSource):
//!   the people and contacts of the books one reads, and one's groups.
//! - The carnet feeds the ENT-wide search ([`search`]): each contact of one's own (not a
//!   person of the directory, who is the annuaire's) is found by those who read it on
//!   the page; every change (page, import, share, CardDAV) is recorded for the index.
//!
//! Who reads what is checked at every door (the page, the resources, the actions, the
//! export, the recipient picker) by `books::Access`.

mod actions;
mod books;
mod dav;
pub mod import;
pub mod ldif;
pub mod model;
mod portable;
mod recipients;
pub mod search;
mod store;
pub mod vcard;
mod views;

pub use model::{Book, Fields};
pub use portable::{FILE as EXPORT_FILE, FORMAT as EXPORT_FORMAT, SHARES_FILE};

use std::sync::LazyLock;
use std::time::UNIX_EPOCH;

use cartable_portlet::prelude::*;
use cartable_portlet::recipients::Recipients;
use cartable_portlet::{GroupTool, LocalizedText, ServiceSchema, migration};

use crate::books::Access;
use crate::model::Book as BookKey;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-carnet`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The service's name, the owner of its tables, and its portlet's id (its group tool's).
pub const SERVICE: &str = "carnet";
/// The most entries in one book.
pub const MAX_ENTRIES: usize = 2000;

/// A new vCard `UID`.
pub(crate) fn new_uid() -> String {
    format!("{}@cartable", cartable_socle::random_token())
}

/// A person's name as fields: the display name split at its last space.
pub(crate) fn name_fields(display_name: &str) -> Fields {
    let name = display_name.trim();
    let (prenom, nom) = match name.rsplit_once(' ') {
        Some((g, f)) => (g.trim().to_string(), f.trim().to_string()),
        None => (String::new(), name.to_string()),
    };
    Fields {
        nom,
        prenom,
        ..Fields::default()
    }
}

/// The search documents of entries `ids` of `book` changed (or are gone): recorded for
/// the index's job (nothing when the host has no index; a failure is only logged).
pub(crate) async fn search_changed(
    services: &cartable_portlet::Services,
    book: &BookKey,
    ids: impl IntoIterator<Item = u64>,
) {
    let ids: Vec<String> = ids
        .into_iter()
        .map(|id| views::entry_ref(book, id))
        .collect();
    if ids.is_empty() {
        return;
    }
    if let Some(feed) = &services.search
        && let Err(e) = feed.changed(SERVICE, &ids).await
    {
        tracing::warn!(book = %book, "cannot record a change for the search index: {e}");
    }
}

/// Seconds since the Unix epoch by the portal's clock.
pub(crate) fn seconds(now: std::time::SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The window's help mode.
const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-intro") }}</p>
<p>{{ t("help-directory") }}</p>
<p>{{ t("help-groups") }}</p>
<p>{{ t("help-files") }}</p>"#;

/// The carnet d'adresses portlet (`carnet`). See the [crate documentation](crate).
///
/// Its forms post `op=` `add` (`carnet`, the fields), `edit` (`carnet`, `id`, the
/// fields), `remove` (`carnet`, `id`, `confirm=yes`), `add-person` (`carnet`, `person`:
/// a uid of the directory), `share`/`unshare` (`id`, `kind` = `user` or `group`,
/// `target`), `copy` (`carnet`, `id`: into her own book), `consolidate` (`g.<group id>`
/// ticked for each group book shown in « Tout ») and `import` (`carnet`, a file).
#[derive(Debug)]
pub struct Carnet {
    descriptor: Descriptor,
    templates: Templates,
}

impl Carnet {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(SERVICE, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("outils")
            .mode(Mode::Help)
            .group_tool(GroupTool::new(LocalizedText::from_messages(
                &MESSAGES,
                "group-tool",
            )))
            // The import form's file, and a little room for the form.
            .upload_limit(import::MAX_IMPORT_BYTES as u64 + 64 * 1024);
        let templates = Templates::new([("view", views::VIEW), ("help", HELP)])
            .expect("the carnet's templates compile")
            .with_messages(&MESSAGES);
        Carnet {
            descriptor,
            templates,
        }
    }
}

impl Default for Carnet {
    fn default() -> Self {
        Self::new()
    }
}

/// The vCard version or LDIF of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    VCard(vcard::Version),
    Ldif,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        match s {
            "" | "vcard4" => Some(Format::VCard(vcard::Version::V4)),
            "vcard3" => Some(Format::VCard(vcard::Version::V3)),
            "ldif" => Some(Format::Ldif),
            _ => None,
        }
    }
}

/// A book's entries as a file, as `viewer` may see them.
pub(crate) async fn export_text(
    db: &cartable_portlet::Database,
    recipients: &Recipients,
    viewer: &Person,
    book: &BookKey,
    format: Format,
) -> Result<String, PortletError> {
    // The entries first, then what the reader sees of each person (the directory's
    // rule may read the socle's storage, which may share the pool: no connection held).
    let entries = {
        let mut conn = db.pool().acquire().await?;
        store::entries(&mut conn, book).await?
    };
    let shown = books::resolve_all(recipients, viewer, entries).await?;
    let cards: Vec<vcard::OutCard<'_>> = shown
        .iter()
        .map(|s| vcard::OutCard {
            uid: &s.entry.uid,
            person: s.entry.person.as_deref(),
            fields: &s.fields,
        })
        .collect();
    Ok(match format {
        Format::VCard(v) => vcard::write(&cards, v),
        Format::Ldif => ldif::write(&cards),
    })
}

#[async_trait]
impl Portlet for Carnet {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(
            ServiceSchema::new(SERVICE)
                .sql(migration!("0001_carnet"))
                .sql(migration!("0002_sync"))
                .sql(migration!("0003_seen")),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    fn recipients(&self) -> Option<&dyn cartable_portlet::recipients::RecipientSource> {
        Some(self)
    }

    fn dav(&self) -> Option<&dyn cartable_portlet::dav::DavService> {
        Some(self)
    }

    fn searchable(&self) -> Option<&dyn cartable_portlet::search::Searchable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if ctx.mode() == Mode::Help {
            return Ok(self.templates.render_for(ctx, "help", ())?.into());
        }
        views::render(&self.templates, ctx).await
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        actions::act(ctx, request).await
    }

    /// `export?carnet=<book>&format=vcard4|vcard3|ldif`: a book she reads (her own by
    /// default) as a file, each person of the directory as she may see her; 404 for a
    /// book she does not read, as for one that does not exist.
    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
        if request.id != "export" {
            return Err(not_found());
        }
        let access = Access::of(ctx).await?;
        let book = match request.params.get("carnet").map(String::as_str) {
            None | Some("") => BookKey::User(ctx.user().id.clone()),
            Some(key) => BookKey::parse(key).ok_or_else(not_found)?,
        };
        if !access.may_read(&book) {
            tracing::info!(user = %ctx.user().id, book = %book, "carnet export refused");
            return Err(not_found());
        }
        let format = request
            .params
            .get("format")
            .map_or(Some(Format::VCard(vcard::Version::V4)), |f| {
                Format::parse(f)
            })
            .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-format")))?;
        let text = export_text(ctx.db()?, &ctx.recipients(), ctx.user(), &book, format).await?;
        let (mime, name) = match format {
            Format::VCard(_) => ("text/vcard; charset=utf-8", "carnet.vcf"),
            Format::Ldif => ("text/x-ldif; charset=utf-8", "carnet.ldif"),
        };
        Ok(ResourceResponse::bytes(mime, text.into_bytes()).attachment(name))
    }
}

#[cfg(test)]
mod tests;
