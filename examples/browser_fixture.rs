//! The browser suite's fixture portal (`tests/browser/`): what the lycée demo never
//! shows, on pages of its own.
//!
//! - `/page/erreurs`: a portlet that sleeps past its short deadline (the "too slow" box),
//!   one that returns an error (the "error" box) and one under maintenance;
//! - `/page/bad`: a portlet whose markup breaks an accessibility rule on purpose (an image
//!   without `alt`), so the suite can prove that its checker reports violations.
//!
//! Logins are the lycée's (`examples/lycee/annuaire.ldif`). Run it with
//! `cargo run --release --example browser_fixture`; `CARTABLE_LISTEN` and
//! `CARTABLE_DATA_DIR` override the address and the data directory, `--config FILE`
//! uses another configuration than `examples/browser_fixture/cartable.toml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cartable::portlet::LocalizedText;
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
    let running = portal.bind().await?;
    println!("Browser test fixture on http://{}", running.local_addr());
    running.wait().await;
    Ok(())
}
