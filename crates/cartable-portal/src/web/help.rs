//! The way from every page to the help service: the page footer links here, and this
//! area sends the user on to the help window of her layout.
//!
//! | URL | what |
//! |---|---|
//! | `GET /aide` | the help window of her layout, maximized |
//! | `GET /aide/signaler?page=&service=` | its incident form, told the page and service she came from |
//!
//! The help service is the installed portlet with the id `aide` ([`shared::HELP_PORTLET`]) (the
//! `cartable-aide` crate's): when the ENT has none, or the user may not see it, the footer
//! has no link ([`shared::chrome`]) and these answer 404, as they do when no tab of her
//! layout holds a window of it.

use axum::Router;

use super::shared::{self, Cx, Fail, HELP_PORTLET, Handled, Query, St, User};
use crate::http::redirect;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(&format!("{base}/aide"), shared::get(st, help))
        .route(&format!("{base}/aide/signaler"), shared::get(st, report))
}

/// `GET /aide`: the help window, maximized.
async fn help(cx: Cx, User(user): User) -> Handled {
    let url = help_window(&cx, &user).await?;
    Ok(redirect(&format!("{url}?state=maximized")))
}

/// `GET /aide/signaler?page=&service=`: the incident form, with the page (a path of the
/// portal, anything else dropped) and the service (a portlet id) passed on.
async fn report(cx: Cx, User(user): User, Query(query): Query) -> Handled {
    let url = help_window(&cx, &user).await?;
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("state", "maximized");
    params.append_pair("p.vue", "signaler");
    if let Some(page) = query.get("page").filter(|p| is_portal_path(p)) {
        params.append_pair("p.page", page);
    }
    if let Some(service) = query
        .get("service")
        .filter(|s| cartable_portlet::is_valid_id(s))
    {
        params.append_pair("p.service", service);
    }
    Ok(redirect(&format!("{url}?{}", params.finish())))
}

/// The URL of the first window of the help portlet on the user's layout.
async fn help_window(cx: &Cx, user: &cartable_socle::Person) -> Result<String, Fail> {
    let state = &cx.st;
    if state.allowed_portlet(HELP_PORTLET, user).is_none() {
        return Err(Fail::NotFound);
    }
    let layout = state.layout(user).await?;
    layout
        .tabs
        .iter()
        .find_map(|tab| {
            tab.columns
                .iter()
                .flatten()
                .find(|w| w.portlet == HELP_PORTLET)
                .map(|w| format!("{}/page/{}/{}", state.base, tab.id, w.id))
        })
        .ok_or(Fail::NotFound)
}

/// A path on this portal: `/…`, not `//host`, no backslash, no control character, at most
/// 500 bytes.
fn is_portal_path(page: &str) -> bool {
    page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains('\\')
        && !page.chars().any(char::is_control)
        && page.len() <= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_the_portal_are_passed_on() {
        assert!(is_portal_path("/page/accueil/bloc-notes?mode=help"));
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/a\\b",
            "/a\nb",
            "page",
        ] {
            assert!(!is_portal_path(bad), "{bad:?}");
        }
        assert!(!is_portal_path(&format!("/{}", "a".repeat(500))));
    }
}
