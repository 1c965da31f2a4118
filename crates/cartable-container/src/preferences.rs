//! Preferences: descriptor default < établissement (maybe locked) < user, and their save.

use std::collections::BTreeMap;

use cartable_portlet::{Descriptor, Params, Preference, PreferenceError, Preferences};
use cartable_socle::{SocleError, Storage, Version};

use crate::CallError;

/// A window's effective preferences. For each preference that the descriptor declares:
/// the établissement's value when it locked it, else the user's own value, else the
/// établissement's, else the descriptor's default. `establishment` gives the
/// établissement's value of a preference and whether it is locked.
pub fn layer_preferences<'a>(
    descriptor: &Descriptor,
    establishment: impl Fn(&str) -> Option<(&'a str, bool)>,
    own: &BTreeMap<String, String>,
    version: Version,
) -> Preferences {
    let entries = descriptor
        .preferences
        .iter()
        .map(|spec| {
            let etab = establishment(&spec.name);
            let locked = etab.is_some_and(|(_, locked)| locked);
            let value = match (locked, own.get(&spec.name)) {
                (false, Some(v)) => v.clone(),
                _ => etab.map_or_else(|| spec.default.clone(), |(v, _)| v.to_string()),
            };
            (spec.name.clone(), Preference { value, locked })
        })
        .collect();
    Preferences::new(entries)
        .with_specs(&descriptor.preferences)
        .with_version(version)
}

/// The changes that the generic preference form (`cartable_portlet::preference_form`)
/// asks for: every declared preference present in the form, validated against its spec.
/// A locked preference is disabled in the form, so a value for it is forged: it is
/// ignored. Fields that are not preferences (the CSRF token, `_version`) are ignored.
/// One invalid value refuses the whole form, so nothing is stored half.
pub fn preference_form_changes(
    descriptor: &Descriptor,
    current: &Preferences,
    form: &Params,
) -> Result<Params, CallError> {
    let mut changes = Params::new();
    for spec in &descriptor.preferences {
        let Some(value) = form.get(&spec.name) else {
            continue;
        };
        if current.is_locked(&spec.name) {
            continue;
        }
        spec.validate(value)
            .map_err(|reason| PreferenceError::Invalid {
                name: spec.name.clone(),
                reason,
            })?;
        changes.insert(spec.name.clone(), value.clone());
    }
    Ok(changes)
}

/// Store preference changes in the user's layer of a window.
///
/// Names the descriptor does not declare are dropped (a portlet can only change what it
/// declares; `Preferences::set` already refused locked and invalid values). With
/// `expected` (the version a preference form was built from), a change made since —
/// another tab, another device, another node — refuses the save with
/// [`SocleError::Conflict`]; without it, the changes are merged into the newest values
/// with a conditional write, so a concurrent change is never lost. Returns whether
/// anything was written.
pub async fn save_preference_changes(
    storage: &dyn Storage,
    descriptor: &Descriptor,
    user: &str,
    window: &str,
    changes: &Params,
    expected: Option<Version>,
) -> Result<bool, SocleError> {
    if changes.is_empty() {
        return Ok(false);
    }
    let current = storage.preferences_versioned(user, window).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(SocleError::Conflict {
            what: format!("the preferences of this window ({window})"),
        });
    }
    let mut own = current.value;
    for (name, value) in changes {
        if descriptor.preference_spec(name).is_some() {
            own.insert(name.clone(), value.clone());
        }
    }
    storage
        .set_preferences_if(user, window, &own, current.version)
        .await?;
    Ok(true)
}
