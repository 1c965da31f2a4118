//! The browser suite's fixture portal (`tests/browser/`): what the lycée demo never
//! shows, on pages of its own.
//!
//! - `/page/erreurs`: a portlet that sleeps past its short deadline (the "too slow" box),
//!   one that returns an error (the "error" box) and one under maintenance;
//! - `/page/bad`: a portlet whose markup breaks an accessibility rule on purpose (an image
//!   without `alt`), so the suite can prove that its checker reports violations;
//! - two services with a group tool and the group `club-theatre` (owned by `enseignant`),
//!   for `/compte/groupes/club-theatre` and `/admin/groupes…`.
//!
//! Logins are the lycée's (`examples/lycee/annuaire.ldif`). Run it with
//! `cargo run --release --example browser_fixture`; `CARTABLE_LISTEN` and
//! `CARTABLE_DATA_DIR` override the address and the data directory, `--config FILE`
//! uses another configuration than `examples/browser_fixture/cartable.toml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cartable::portlet::{GroupTool, LocalizedText, ToolMeasure};
use cartable::prelude::*;
use cartable::{EntBuilder, EntConfig};

/// Sleeps far past its deadline (`portlets.lent.deadline_ms` in the configuration).
struct Slow(Descriptor);

#[async_trait]
impl Portlet for Slow {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(Markup::text("trop tard").into())
    }
}

/// Always fails.
struct Broken(Descriptor);

#[async_trait]
impl Portlet for Broken {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Err(PortletError::Internal("the test backend said no".into()))
    }
}

/// Renders a fixed, accessible text (shown under maintenance by the configuration).
struct Plain(Descriptor);

#[async_trait]
impl Portlet for Plain {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("en service").into())
    }
}

/// Breaks WCAG 1.1.1 on purpose: an image without a text alternative.
struct ImageWithoutAlt(Descriptor);

#[async_trait]
impl Portlet for ImageWithoutAlt {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::trusted_html(
            r#"<p>Cette image n’a pas de texte de remplacement :</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">"#,
        )
        .into())
    }
}

/// A group tool, for the pages where groups choose theirs (`/compte/groupes/…`,
/// `/admin/groupes/…`); its window says what it offers.
struct GroupToolPortlet(Descriptor);

#[async_trait]
impl Portlet for GroupToolPortlet {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("un outil pour les groupes").into())
    }
}

/// The group the browser suite audits the pages of, owned by `enseignant`: a reader
/// (`eleve`), a manager (`personnel`), the forum with a limit.
async fn seed_group(portal: &cartable::portal::Portal) -> Result<(), Box<dyn std::error::Error>> {
    use cartable::socle::{Group, GroupRight, ToolGrant};
    let groups = portal.groups();
    if groups.find("club-theatre").await?.is_some() {
        return Ok(());
    }
    let now = std::time::SystemTime::now();
    groups
        .restore(Group {
            id: "club-theatre".into(),
            name: "Club théâtre".into(),
            owner: "enseignant".into(),
            members: vec!["eleve".into(), "parent".into(), "personnel".into()],
            created: now,
            ends: now + cartable::socle::DAY * 300,
            rights: [
                ("eleve".to_string(), GroupRight::Reader),
                ("personnel".to_string(), GroupRight::Manager),
            ]
            .into(),
            tools: [("forum".to_string(), ToolGrant { limit: Some(500) })].into(),
            file_quota_mb: Some(50),
            owner_profiles: vec![Profile::Enseignant],
        })
        .await?;
    Ok(())
}

/// The fixture's portlets.
fn portlets() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(Slow(Descriptor::new(
            "lent",
            LocalizedText::fr("Service lent").with("en", "Slow service"),
        ))),
        Arc::new(Broken(Descriptor::new(
            "en-panne",
            LocalizedText::fr("Service en panne").with("en", "Broken service"),
        ))),
        Arc::new(Plain(Descriptor::new(
            "entretien",
            LocalizedText::fr("Service en maintenance").with("en", "Service under maintenance"),
        ))),
        Arc::new(ImageWithoutAlt(Descriptor::new(
            "image-sans-alt",
            LocalizedText::fr("Image sans alternative").with("en", "Image without alternative"),
        ))),
        Arc::new(GroupToolPortlet(
            Descriptor::new("forum", LocalizedText::fr("Forum").with("en", "Forum")).group_tool(
                GroupTool::new(LocalizedText::fr("Forum du groupe").with("en", "Group forum"))
                    .measure(ToolMeasure::new(
                        LocalizedText::fr("messages").with("en", "messages"),
                        1_000,
                        10_000,
                    )),
            ),
        )),
        Arc::new(GroupToolPortlet(
            Descriptor::new(
                "documents",
                LocalizedText::fr("Documents").with("en", "Documents"),
            )
            .group_tool(GroupTool::new(
                LocalizedText::fr("Documents partagés").with("en", "Shared documents"),
            )),
        )),
    ]
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("browser_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config_path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => PathBuf::from(path),
        (None, _) => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/browser_fixture/cartable.toml")
        }
        _ => return Err("usage: browser_fixture [--config FILE]".into()),
    };
    let mut config = EntConfig::load(&config_path)?;
    config.apply_env()?;
    let portal = EntBuilder::new(config).portlets(portlets()).build().await?;
    seed_group(&portal).await?;
    let running = portal.bind().await?;
    println!("Browser test fixture on http://{}", running.local_addr());
    running.wait().await;
    Ok(())
}
