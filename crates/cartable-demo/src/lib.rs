//! The demo portlets of the Cartable lycée example.
//!
//! Five small services (and the `annuaire` service of `cartable-annuaire`), each a [`Portlet`] written the way a service editor would write
//! one: French first with English, markup through auto-escaped [`Templates`], POST forms
//! carrying the CSRF field, ids in the window's namespace, headings from `h3`.
//!
//! | portlet | id | what it does |
//! |---|---|---|
//! | [`Welcome`] | `bienvenue` | greets the user, shows the établissement's message and the date |
//! | [`MyProfile`] | `mon-profil` | the user's name, profiles and directory attributes |
//! | [`Notes`] | `bloc-notes` | personal notes stored with the portlet's data, JSON export |
//! | [`News`] | `nouveautes` | the "résumé des nouveautés"; teachers and staff publish announcements |
//! | [`Bookmarks`] | `liens` | the établissement's useful links and the user's own |
//!
//! ```
//! let portlets = cartable_demo::all();
//! let ids: Vec<&str> = portlets.iter().map(|p| p.descriptor().id.as_str()).collect();
//! assert_eq!(
//!     ids,
//!     ["bienvenue", "mon-profil", "bloc-notes", "nouveautes", "liens", "annuaire"]
//! );
//! ```
//!
//! [`Portlet`]: cartable_portlet::Portlet
//! [`Templates`]: cartable_portlet::Templates

mod bookmarks;
mod cantine;
mod items;
mod news;
mod notes;
mod profile;
pub mod site;
mod util;
mod welcome;

use std::sync::Arc;

use cartable_portlet::Portlet;

pub use bookmarks::Bookmarks;
pub use cantine::Cantine;
pub use news::News;
pub use notes::Notes;
pub use profile::MyProfile;
pub use welcome::Welcome;

/// One of each demo portlet, in the order of the table above, then the `annuaire`
/// service (pages blanches) from `cartable-annuaire`.
pub fn all() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(Welcome::new()),
        Arc::new(MyProfile::new()),
        Arc::new(Notes::new()),
        Arc::new(News::new()),
        Arc::new(Bookmarks::new()),
        Arc::new(cartable_annuaire::Annuaire::new()),
    ]
}
