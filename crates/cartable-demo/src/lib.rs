//! The Cartable lycée demo: the windows of its ENT, its neighbours and its canteen.
//!
//! The services themselves live in their own crates under `crates/services/`, as an
//! établissement's binary would take them; this crate only assembles the demo:
//!
//! | portlet | id | service crate |
//! |---|---|---|
//! | `Welcome` | `bienvenue` | `cartable-accueil`: greets the user, shows the établissement's message and the date |
//! | `MyProfile` | `mon-profil` | `cartable-profil`: the user's name, profiles and directory attributes |
//! | `Notes` | `bloc-notes` | `cartable-bloc-notes`: personal notes, JSON export |
//! | `News` | `nouveautes` | `cartable-annonces`: the "résumé des nouveautés"; teachers and staff publish announcements |
//! | `Bookmarks` | `liens` | `cartable-signets`: the établissement's useful links and the user's own |
//! | `Annuaire` | `annuaire` | `cartable-annuaire`: the pages blanches |
//! | `Carnet` | `carnet` | `cartable-carnet`: the address books, vCard and LDIF, the recipient picker's contacts |
//! | `Aide` | `aide` | `cartable-aide`: the help, a tutorial per profile, the incident desk (every page's footer links to it) |
//! | `Agenda` | `agenda` | `cartable-agenda`: personal, group and établissement agendas, iCalendar, CalDAV |
//!
//! What exists for the demo only: [`Cantine`], the canteen its remote producer serves, and
//! [`site::DemoSite`], the neighbours on loopback (feeds, a CAS-linked CDI, the producer)
//! with the services window of `cartable-liens`.
//!
//! ```
//! let portlets = cartable_demo::all();
//! let ids: Vec<&str> = portlets.iter().map(|p| p.descriptor().id.as_str()).collect();
//! assert_eq!(
//!     ids,
//!     ["bienvenue", "mon-profil", "bloc-notes", "nouveautes", "liens", "annuaire", "carnet", "aide", "agenda"]
//! );
//! ```

mod cantine;
pub mod site;

use std::sync::Arc;

use cartable_portlet::Portlet;

pub use cantine::Cantine;

/// One window of each service of the demo ENT, in the order of the table above.
pub fn all() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(cartable_accueil::Welcome::new()),
        Arc::new(cartable_profil::MyProfile::new()),
        Arc::new(cartable_bloc_notes::Notes::new()),
        Arc::new(cartable_annonces::News::new()),
        Arc::new(cartable_signets::Bookmarks::new()),
        Arc::new(cartable_annuaire::Annuaire::new()),
        Arc::new(cartable_carnet::Carnet::new()),
        Arc::new(cartable_aide::Aide::new()),
        Arc::new(cartable_agenda::Agenda::new()),
    ]
}
