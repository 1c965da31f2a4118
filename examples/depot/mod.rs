//! "Dépôt", a small file drop: the portlet the file tests (`tests/files.rs`) and the file
//! benchmark (`examples/bench_files.rs`) run through a real portal.
//!
//! - its view lists the user's files, each a download link, and a form that sends files
//!   (`multipart/form-data`, the CSRF field first);
//! - its action stores each file of the form in the socle's file store, counted against
//!   the user's space, and keeps the file's id in the user's list;
//! - resource `file?p.id=…` sends one of the user's files back (never another's);
//! - resource `upload` (POST, multipart) stores the files and answers their ids and
//!   SHA-256 in JSON; `usage` answers the bytes counted against the user's space.
#![allow(dead_code)]

use cartable::portlet::upload::FilePart;
use cartable::prelude::*;
use cartable::socle::files::{FileId, Space, StoredFile};
use serde::{Deserialize, Serialize};

/// The service name the files are kept under.
pub const SERVICE: &str = "depot";

/// One file of the user's list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

impl From<&StoredFile> for Entry {
    fn from(f: &StoredFile) -> Self {
        Entry {
            id: f.id.to_string(),
            name: f.name.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
        }
    }
}

/// The portlet: its descriptor and each user's quota.
pub struct Depot {
    descriptor: Descriptor,
    quota: u64,
}

impl Depot {
    /// A drop taking forms of up to `limit` bytes, each user's files counted against
    /// `quota` bytes.
    pub fn new(limit: u64, quota: u64) -> Self {
        Depot {
            descriptor: Descriptor::new("depot", "Dépôt de fichiers").upload_limit(limit),
            quota,
        }
    }

    /// Store every file of the request; the files stored.
    async fn store_all(
        &self,
        ctx: &PortletContext,
        files: &mut cartable::portlet::upload::Uploads,
    ) -> Result<Vec<Entry>, PortletError> {
        let store = ctx.files()?;
        let mut stored = Vec::new();
        while let Some(part) = files.next().await? {
            let part: FilePart = part;
            let space = Space::User(ctx.user().id.clone());
            let file = part.store(store, SERVICE, space, self.quota).await?;
            stored.push(Entry::from(&file));
        }
        ctx.data()
            .update_json("files", |list: Option<Vec<Entry>>| {
                let mut list = list.unwrap_or_default();
                list.extend(stored.iter().cloned());
                list
            })
            .await?;
        Ok(stored)
    }
}

#[async_trait]
impl Portlet for Depot {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let list: Vec<Entry> = match ctx.data().get("files").await? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            None => Vec::new(),
        };
        let ns = ctx.window().namespace();
        let mut html = String::from("<ul>");
        for e in &list {
            let url = ctx.urls().resource("file").param("id", &e.id).to_string();
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({} octets)</li>",
                Markup::text(&url).as_str(),
                Markup::text(&e.name).as_str(),
                e.size
            ));
        }
        html.push_str("</ul>");
        html.push_str(&format!(
            "<form method=\"post\" action=\"{action}\" enctype=\"multipart/form-data\">{csrf}\
             <p><label for=\"{ns}-title\">Titre</label> <input id=\"{ns}-title\" name=\"title\"></p>\
             <p><label for=\"{ns}-file\">Fichier</label> <input id=\"{ns}-file\" type=\"file\" name=\"file\"></p>\
             <p><button type=\"submit\">Déposer</button></p></form>",
            action = Markup::text(&ctx.urls().action().to_string()).as_str(),
            csrf = ctx.csrf_field().as_str(),
        ));
        Ok(Markup::trusted_html(html).into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        mut request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let stored = self.store_all(ctx, &mut request.files).await?;
        let mut response = ActionResponse::default();
        if let Some(first) = stored.first() {
            response = response.param("file", &first.id);
        }
        if let Some(title) = request.field("title") {
            response = response.param("title", title);
        }
        Ok(response)
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        mut request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        match request.id.as_str() {
            "upload" => {
                let stored = self.store_all(ctx, &mut request.files).await?;
                ResourceResponse::json(&stored)
            }
            "usage" => {
                let space = Space::User(ctx.user().id.clone());
                ResourceResponse::json(&ctx.files()?.usage(&space).await?)
            }
            "file" => {
                let id = request
                    .params
                    .get("id")
                    .and_then(|id| FileId::parse(id))
                    .ok_or_else(|| PortletError::BadRequest("give the file's id".into()))?;
                // Only a file of the user's own list: the service's rule of who reads what.
                let list: Vec<Entry> = match ctx.data().get("files").await? {
                    Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                    None => Vec::new(),
                };
                if !list.iter().any(|e| e.id == id.as_str()) {
                    return Err(PortletError::NotFound("no such file".into()));
                }
                let file = ctx
                    .files()?
                    .get(&id)
                    .await?
                    .ok_or_else(|| PortletError::NotFound("no such file".into()))?;
                Ok(ResourceResponse::file(file))
            }
            other => Err(PortletError::NotFound(format!("no resource {other:?}"))),
        }
    }
}
