//! The portal's side of the ENT-wide search (`cartable_search`): where the index lives,
//! the context each service is asked in, and the groups a reader belongs to now.
//!
//! - The index is `<data_dir>/search/<établissement>` ([`index_dir`]), in memory for a
//!   portal whose data is in memory (tests, benches). Every node of an établissement
//!   opens the same folder (see docs/search.md).
//! - Each searchable service is asked with its portlet's établissement preferences (the
//!   descriptor's defaults under the configuration's `[portlets.<id>.preferences]`), never
//!   a user's own.
//! - A change a service records (`ctx.search_changed`) becomes a `search.update` job; the
//!   admin's button and `cartable reindex` a `search.rebuild` one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cartable_portlet::search::SearchContext;
use cartable_portlet::{Portlet, Services};
use cartable_search::{IndexError, Search, SearchIndex};

use crate::config::Config;

pub use cartable_search::{REBUILD_JOB, UPDATE_JOB, enqueue_rebuild};

/// The index's folder for an établissement: `<data_dir>/search/<slug>`, the slug being the
/// établissement's name in lower-case ASCII letters and digits, other characters as `-`
/// ("Lycée Victor Hugo" → `lycee-victor-hugo`).
pub fn index_dir(data_dir: &Path, etablissement: &str) -> PathBuf {
    data_dir.join("search").join(slug(etablissement))
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = fold(c);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "etablissement".to_string()
    } else {
        out
    }
}

/// The unaccented letter of the common French accented ones.
fn fold(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ô' | 'ö' | 'Ô' | 'Ö' => 'o',
        'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ÿ' => 'y',
        c => c,
    }
}

/// The établissement's search over its searchable portlets.
pub(crate) fn build(
    config: &Config,
    order: &[String],
    portlets: &crate::state::Portlets,
    services: &Services,
    in_memory: bool,
) -> Result<Search, IndexError> {
    let index = if in_memory {
        SearchIndex::in_memory()?
    } else {
        SearchIndex::open(&index_dir(&config.data_dir, &config.etablissement))?
    };
    let sources = order
        .iter()
        .filter_map(|id| portlets.get(id))
        .filter(|p| p.searchable().is_some())
        .map(|p| (p.clone(), etab_context(config, p.as_ref(), services)));
    Ok(Search::new(Arc::new(index), sources))
}

/// The établissement's preferences of `portlet` (its defaults under the configured
/// values; no user's), as its search and recipient contexts see them.
fn etab_context(config: &Config, portlet: &dyn Portlet, services: &Services) -> SearchContext {
    let descriptor = portlet.descriptor();
    let etab = config.portlets.get(&descriptor.id);
    let preferences = cartable_container::layer_preferences(
        descriptor,
        |name| {
            etab.and_then(|s| s.preferences.get(name))
                .map(|e| (e.value(), e.locked()))
        },
        &BTreeMap::new(),
        cartable_socle::Version::NEW,
    );
    SearchContext::new(services.clone(), preferences, &config.base_path)
}

/// The recipient picker over the installed services that offer recipients (see
/// [`cartable_portlet::recipients`]), each with its établissement preferences.
pub(crate) fn recipients(
    config: &Config,
    order: &[String],
    portlets: &crate::state::Portlets,
    services: &Services,
) -> cartable_portlet::recipients::Recipients {
    cartable_portlet::recipients::Recipients::new(
        order
            .iter()
            .filter_map(|id| portlets.get(id))
            .filter(|p| p.recipients().is_some())
            .map(|p| (p.clone(), etab_context(config, p.as_ref(), services))),
    )
}

/// At start, an empty index with services to search is rebuilt (a job): a new
/// établissement, a data directory moved, an index folder deleted to start again.
pub(crate) async fn rebuild_if_empty(search: &Search, jobs: &cartable_socle::jobs::Jobs) {
    if search.services().next().is_none() {
        return;
    }
    match search.index().count() {
        Ok(0) => {
            if let Err(e) = cartable_search::enqueue_rebuild(jobs, None).await {
                tracing::warn!("cannot ask for the search index's first build: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the search index: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_etablissement_has_its_folder() {
        assert_eq!(
            index_dir(Path::new("/d"), "Lycée Victor Hugo"),
            Path::new("/d/search/lycee-victor-hugo")
        );
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("  "), "etablissement");
    }
}
