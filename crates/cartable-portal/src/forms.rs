//! Refused forms kept for one render: when a window's action answers
//! [`PortletError::Invalid`](cartable_portlet::PortletError::Invalid), the portal stores the
//! form (messages and values as typed) in the user's portal data, redirects to the window
//! with an opaque token in the URL (`form=<token>`, never the values), and the render that
//! follows takes it: read and deleted, so it is shown once. Stored, not kept in a node's
//! memory, so the redirect may land on another node of the ENT.
//!
//! A form nobody came back for (the browser closed before the redirect) is removed by the
//! next refused form of the same user after [`KEPT_FOR`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cartable_portlet::form::InvalidForm;
use cartable_socle::{Clock, DataScope, SocleError, Storage};
use serde::{Deserialize, Serialize};

/// The query parameter of the redirect that names a kept form.
pub(crate) const FORM_PARAM: &str = "form";
/// Where forms are kept in the user's portal data.
const PREFIX: &str = "form/";
/// How long a form waits for its render.
pub(crate) const KEPT_FOR: Duration = Duration::from_secs(3600);

/// A kept form and the window it belongs to.
#[derive(Serialize, Deserialize)]
struct Kept {
    window: String,
    form: InvalidForm,
}

/// Keep `form` for the next render of `window` by `user`; the token to put in the
/// redirect. Removes the user's forms older than [`KEPT_FOR`] on the way.
pub(crate) async fn keep(
    storage: &dyn Storage,
    portal_data: &str,
    clock: &dyn Clock,
    user: &str,
    window: &str,
    form: InvalidForm,
) -> Result<String, SocleError> {
    let scope = DataScope::User(user.to_string());
    let now = seconds(clock.now());
    for key in storage.data_keys(portal_data, &scope, PREFIX).await? {
        let stale = token_time(&key[PREFIX.len()..])
            .is_none_or(|t| now.saturating_sub(t) > KEPT_FOR.as_secs());
        if stale {
            storage.delete_data(portal_data, &scope, &key).await?;
        }
    }
    let random: [u8; 16] = rand::random();
    let token = format!(
        "{now:012}-{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let kept = Kept {
        window: window.to_string(),
        form: form.bounded(),
    };
    let bytes = serde_json::to_vec(&kept).map_err(|e| SocleError::Invalid(e.to_string()))?;
    storage
        .set_data(portal_data, &scope, &format!("{PREFIX}{token}"), &bytes)
        .await?;
    Ok(token)
}

/// Take the form kept under `token` for `window` of `user`: `None` if there is none (shown
/// already, expired, another window's or another user's, or a token that is not one).
pub(crate) async fn take(
    storage: &dyn Storage,
    portal_data: &str,
    clock: &dyn Clock,
    user: &str,
    window: &str,
    token: &str,
) -> Result<Option<InvalidForm>, SocleError> {
    let Some(at) = token_time(token) else {
        return Ok(None);
    };
    let scope = DataScope::User(user.to_string());
    let key = format!("{PREFIX}{token}");
    let Some(bytes) = storage.data(portal_data, &scope, &key).await? else {
        return Ok(None);
    };
    let kept: Option<Kept> = serde_json::from_slice(&bytes).ok();
    let Some(kept) = kept.filter(|k| k.window == window) else {
        // Another window's form stays for its own render.
        return Ok(None);
    };
    storage.delete_data(portal_data, &scope, &key).await?;
    let fresh = seconds(clock.now()).saturating_sub(at) <= KEPT_FOR.as_secs();
    Ok(fresh.then_some(kept.form))
}

/// The time written in a token (`<seconds>-<32 hex digits>`), `None` if it is not one.
fn token_time(token: &str) -> Option<u64> {
    let (time, random) = token.split_once('-')?;
    let well_formed = time.len() == 12
        && time.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 32
        && random.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| time.parse().ok()).flatten()
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use cartable_portlet::ActionRequest;
    use cartable_socle::DbStore;
    use cartable_socle::ManualClock;

    use super::*;

    fn refused(text: &str) -> InvalidForm {
        let request = ActionRequest::new(BTreeMap::from([("text".to_string(), text.to_string())]));
        let mut form = InvalidForm::new(&request);
        form.field("text", "Trop court.");
        form
    }

    #[tokio::test]
    async fn a_form_is_taken_once_by_its_window_and_user_only() {
        let storage = DbStore::in_memory().await.unwrap();
        let clock = ManualClock::new(SystemTime::now());
        let token = keep(&storage, "_portal", &clock, "lea", "w1", refused("a"))
            .await
            .unwrap();
        let take = |user: &'static str, window: &'static str, token: String| {
            let (storage, clock) = (&storage, &clock);
            async move {
                take(storage, "_portal", clock, user, window, &token)
                    .await
                    .unwrap()
            }
        };
        assert!(
            take("theo", "w1", token.clone()).await.is_none(),
            "another user"
        );
        assert!(
            take("lea", "w2", token.clone()).await.is_none(),
            "another window"
        );
        assert!(
            take("lea", "w1", "../../x".into()).await.is_none(),
            "not a token"
        );
        let form = take("lea", "w1", token.clone()).await.expect("hers");
        assert_eq!(form.value("text"), Some("a"));
        assert!(take("lea", "w1", token).await.is_none(), "shown once");
    }

    #[tokio::test]
    async fn forms_nobody_came_back_for_expire_and_are_removed() {
        let storage = DbStore::in_memory().await.unwrap();
        let clock = ManualClock::new(SystemTime::now());
        let old = keep(&storage, "_portal", &clock, "lea", "w1", refused("old"))
            .await
            .unwrap();
        clock.advance(KEPT_FOR + Duration::from_secs(1));
        let scope = DataScope::User("lea".into());
        assert!(
            take(&storage, "_portal", &clock, "lea", "w1", &old)
                .await
                .unwrap()
                .is_none(),
            "expired"
        );
        let stale = keep(&storage, "_portal", &clock, "lea", "w1", refused("x"))
            .await
            .unwrap();
        clock.advance(KEPT_FOR + Duration::from_secs(1));
        keep(&storage, "_portal", &clock, "lea", "w1", refused("new"))
            .await
            .unwrap();
        let keys = storage.data_keys("_portal", &scope, PREFIX).await.unwrap();
        assert_eq!(keys.len(), 1, "the stale one was removed: {keys:?}");
        assert!(!keys[0].ends_with(&stale));
    }
}
