//! The Cartable portlet contract.
//!
//! A portlet is one service shown in a window of the ENT portal. It implements the
//! object-safe, async [`Portlet`] trait: a [`Descriptor`] and four phases, `render`,
//! `action`, `resource` and `event`. During each call it gets a [`PortletContext`]: the
//! user, the window, its preferences, URL builders, the socle services and the locale.
//!
//! Markup is escaped by default: text becomes [`Markup`] through `From<&str>`, and raw
//! HTML needs [`Markup::trusted_html`].
//!
//! ```
//! use cartable_portlet::prelude::*;
//!
//! struct Hello(Descriptor);
//!
//! #[async_trait]
//! impl Portlet for Hello {
//!     fn descriptor(&self) -> &Descriptor {
//!         &self.0
//!     }
//!     async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
//!         let name = &ctx.user().display_name;
//!         Ok(Markup::text(&format!("Bonjour {name} !")).into())
//!     }
//! }
//!
//! let hello = Hello(Descriptor::new("hello", "Bonjour"));
//! let _shared: std::sync::Arc<dyn Portlet> = std::sync::Arc::new(hello);
//! ```

pub mod calendar;
mod context;
pub mod dav;
mod descriptor;
mod error;
pub mod export;
pub mod form;
mod group_tool;
pub mod items;
pub mod markup;
pub mod periodic;
mod phases;
mod portlet;
pub mod recipients;
pub mod search;
pub mod secret;
mod template;
pub mod time;
pub mod upload;

pub use context::{
    ContextParts, Params, PortletContext, PortletData, PortletUrls, Preference, PreferenceError,
    Preferences, Services, UrlBuilder, WindowInfo, preference_form,
};
pub use descriptor::{
    Audience, CachePolicy, Descriptor, LocalizedText, Mode, PreferenceKind, PreferenceSpec,
    ProfileList, UnknownName, WindowState, is_valid_id,
};
pub use error::PortletError;
pub use group_tool::{GroupTool, ToolMeasure};
pub use markup::Markup;
pub use phases::{
    ActionRequest, ActionResponse, Event, HeadResource, RenderResponse, ResourceRequest,
    ResourceResponse,
};
pub use portlet::Portlet;
pub use template::{Templates, add_theme_dir, html_formatter, markup_value};

pub use async_trait::async_trait;
/// Messages in several languages (Project Fluent): a portlet keeps its own in
/// `locales/fr.ftl` and `locales/en.ftl`, in a `static` built by [`i18n::messages!`], and
/// reads them with [`PortletContext::t`], [`LocalizedText::from_messages`] and the
/// templates' `t()` ([`Templates::with_messages`]).
pub use cartable_db::{Database, DbError, Dialect, expect_changed, retry_unique, sqlx};
pub use cartable_i18n as i18n;
pub use cartable_socle::{Person, Profile};
pub use cartable_socle::{ServiceSchema, migration};
/// The template engine behind [`Templates`], for `minijinja::context!` and values.
pub use minijinja;

/// The contract's own messages (the generic preference form), `locales/*.ftl`.
pub(crate) static MESSAGES: std::sync::LazyLock<i18n::Messages> =
    std::sync::LazyLock::new(|| i18n::messages!());

/// Everything a portlet author needs, in one `use`.
pub mod prelude {
    pub use crate::form::InvalidForm;
    pub use crate::i18n::{Messages, args};
    pub use crate::time::{DateStyle, Dates};
    pub use crate::upload::{FilePart, Uploads};
    pub use crate::{
        ActionRequest, ActionResponse, Descriptor, Event, Markup, Mode, Person, Portlet,
        PortletContext, PortletError, PreferenceSpec, Profile, RenderResponse, ResourceRequest,
        ResourceResponse, Templates, WindowState, async_trait, preference_form,
    };
}
