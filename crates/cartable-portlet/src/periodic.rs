//! Periodic tasks: work a service has done in the background, outside any request
//! (sending the agenda's reminders, closing what expired), without the integrator wiring
//! anything.
//!
//! A service implements [`Periodic`] and returns it from
//! [`Portlet::periodic`](crate::Portlet::periodic). The portal registers it as a periodic
//! job of the socle's queue ([`cartable_socle::jobs`]), of kind [`job_kind`] of the
//! portlet's id (`agenda.periodic`): it runs once per [`every`](Periodic::every) on one
//! node of all those sharing the database, is retried with back-off when it fails, and
//! one that keeps failing is listed on the administrators' jobs page (`/admin`). The test
//! kit runs it at once (`TestKit::run_periodic`).
//!
//! Like every job, a run happens **at least once** per period: a node that dies during a
//! run leaves it to another node, which runs it again. So a task must be idempotent:
//! record in the service's tables what was done (the reminder sent), and do nothing twice.
//! A period may also be skipped (the portal was stopped): a task works from the state of
//! its tables and the clock (`services.clock`), never from how many times it ran.
//!
//! ```
//! use std::time::Duration;
//! use cartable_portlet::Services;
//! use cartable_portlet::periodic::{Periodic, job_kind};
//! use cartable_portlet::prelude::*;
//!
//! struct Cleaner(Descriptor);
//!
//! #[async_trait]
//! impl Portlet for Cleaner {
//!     fn descriptor(&self) -> &Descriptor {
//!         &self.0
//!     }
//!     async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
//!         Ok(Markup::text("Rien à voir").into())
//!     }
//!     fn periodic(&self) -> Option<&dyn Periodic> {
//!         Some(self)
//!     }
//! }
//!
//! #[async_trait]
//! impl Periodic for Cleaner {
//!     fn every(&self) -> Duration {
//!         Duration::from_secs(3600)
//!     }
//!     async fn run(&self, services: &Services) -> Result<(), PortletError> {
//!         // Delete what expired before now, in the service's tables (`services.db`).
//!         let _now = services.clock.now();
//!         Ok(())
//!     }
//! }
//!
//! let cleaner = Cleaner(Descriptor::new("menage", "Ménage"));
//! let every = cleaner.periodic().map(|p| p.every());
//! assert_eq!(every, Some(Duration::from_secs(3600)));
//! assert_eq!(job_kind("menage"), "menage.periodic");
//! ```

use std::time::Duration;

use async_trait::async_trait;

use crate::{PortletError, Services};

/// The job kind under which the portal runs the periodic task of the portlet `id`:
/// `<id>.periodic`, as shown on the administrators' jobs page.
pub fn job_kind(id: &str) -> String {
    format!("{id}.periodic")
}

/// Work a service has done once per period, in the background (see the [module](self)).
#[async_trait]
pub trait Periodic: Send + Sync {
    /// How often it runs (at least a second; a minute or more is usual). All the nodes of
    /// an établissement run the same binary, hence the same period.
    fn every(&self) -> Duration;

    /// Do the work once, with the socle services the portal gives every call (its clock,
    /// its database, its notifier). An error fails this run: the queue retries it with
    /// back-off and shows it to the administrators when it keeps failing.
    async fn run(&self, services: &Services) -> Result<(), PortletError>;
}
