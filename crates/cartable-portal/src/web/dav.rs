//! CalDAV and CardDAV: the services' collections for calendar and contact clients
//! (Thunderbird, DAVx⁵, Apple's), through their
//! [`DavService`](cartable_portlet::dav::DavService) and the protocol of `cartable-dav`.
//!
//! | URL | what |
//! |---|---|
//! | `/.well-known/caldav`, `/.well-known/carddav` | redirect to `<base>/dav/` (RFC 6764) |
//! | `PROPFIND`, `OPTIONS`, `REPORT` on `/` and `<base>/` | answered as the DAV root (discovery) |
//! | `<base>/dav/…` | principals, home sets, collections, members |
//!
//! Clients log in with HTTP Basic: the ENT login and an **application password** made
//! on "Mon compte" (`/compte`), never the ENT password, which is refused here. No
//! session cookie is read (a DAV request carries no CSRF token): the `Authorization`
//! header is the only way in. Failures count in the login throttle, like the login
//! form's.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use cartable_portlet::export::DataContext;
use http::{HeaderValue, Method, StatusCode, header};

use super::shared::St;
use crate::state::State;

/// The longest a DAV request may take before the client is told to try again.
const DEADLINE: Duration = Duration::from_secs(30);
/// The realm clients show when they ask for the password.
const REALM: &str = "Cartable (mot de passe d'application)";

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    let mut r = Router::new()
        .route("/.well-known/caldav", axum::routing::any(well_known))
        .route("/.well-known/carddav", axum::routing::any(well_known))
        .route(&format!("{base}/dav"), axum::routing::any(serve))
        .route(&format!("{base}/dav/"), axum::routing::any(serve))
        .route(&format!("{base}/dav/{{*rest}}"), axum::routing::any(serve));
    if !base.is_empty() {
        r = r
            .route(
                &format!("{base}/.well-known/caldav"),
                axum::routing::any(well_known),
            )
            .route(
                &format!("{base}/.well-known/carddav"),
                axum::routing::any(well_known),
            );
    }
    r
}

/// Whether a request is a DAV client's discovery on the server's root or the portal's
/// base (`PROPFIND /`): the pages never answer these methods there.
pub(crate) fn is_root_discovery(st: &State, req: &Request) -> bool {
    let dav_method = matches!(req.method().as_str(), "PROPFIND" | "REPORT" | "OPTIONS");
    let path = req.uri().path();
    dav_method && (path == "/" || path == st.base || path == format!("{}/", st.base))
}

/// `/.well-known/caldav` and `carddav`: `301` to the DAV root (RFC 6764 §5), for any
/// method (Apple's clients send `PROPFIND` there).
async fn well_known(axum::extract::State(st): axum::extract::State<St>) -> Response {
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/dav/", st.base)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The language of a DAV client's answers (collection names, errors): the first of its
/// `Accept-Language` ranges the portal speaks, else French. A client has no session, so
/// no language chosen on the portal's pages.
fn language(headers: &http::HeaderMap) -> crate::i18n::Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|range| {
            range
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .find(|tag| tag.starts_with("fr") || tag.starts_with("en"))
        .map_or(crate::i18n::Lang::Fr, |tag| {
            crate::i18n::Lang::from_tag(&tag)
        })
}

/// Every DAV request: authenticate, pick the user's services, answer.
pub(crate) async fn serve(
    axum::extract::State(st): axum::extract::State<St>,
    req: Request,
) -> Response {
    // OPTIONS needs no login: clients ask it first to learn what the server speaks.
    if req.method() == Method::OPTIONS {
        return convert(cartable_dav::options());
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
            c.0.ip()
        });
    let Some((login, password)) = basic_credentials(req.headers()) else {
        return convert(cartable_dav::unauthorized(REALM));
    };
    if let Some(wait) = st.throttle.blocked(&login, peer) {
        let mut r = crate::http::text(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins: wait before trying again",
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return r;
    }
    let verified = match st.app_passwords.verify(&login, &password).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("application passwords unavailable: {e}");
            return crate::http::text(StatusCode::SERVICE_UNAVAILABLE, "Try again later");
        }
    };
    if verified.is_none() {
        st.throttle.failure(&login, peer);
        tracing::info!(login = %login, "DAV login refused: not one of her application passwords");
        return convert(cartable_dav::unauthorized(REALM));
    }
    // As pages see her: gone, expired or inactive is refused like a wrong password.
    let person = match st.effective_person(&login).await {
        Ok(Some(p)) => p,
        Ok(None) => return convert(cartable_dav::unauthorized(REALM)),
        Err(e) => {
            tracing::error!("directory unavailable for a DAV request: {e}");
            return crate::http::text(StatusCode::SERVICE_UNAVAILABLE, "Try again later");
        }
    };
    st.throttle.success(&login, peer);
    let (parts, body) = req.into_parts();
    let body = match crate::http::read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    let mounted: Vec<(String, Arc<dyn cartable_portlet::Portlet>)> = st
        .order
        .iter()
        .filter_map(|id| {
            let p = st.allowed_portlet(id, &person)?;
            p.dav()?;
            st.container.check_available(id).ok()?;
            Some((id.clone(), p.clone()))
        })
        .collect();
    st.record_uses(
        &person,
        mounted.iter().map(|(id, _)| id.as_str()),
        cartable_socle::indicators::Use::Resource,
    );
    let cx = DataContext::new(person, st.services.clone(), language(&parts.headers).tag());
    let root = format!("{}/dav", st.base);
    let request = cartable_dav::Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        headers: parts.headers,
        body,
    };
    let path = request.path.clone();
    // In a task of its own, as the container runs portlets: a service that panics
    // answers 500 to this request only.
    let task = tokio::spawn(async move {
        let mounts: Vec<cartable_dav::Mount<'_>> = mounted
            .iter()
            .filter_map(|(id, p)| {
                Some(cartable_dav::Mount {
                    id,
                    service: p.dav()?,
                })
            })
            .collect();
        let dav = cartable_dav::Dav {
            root: &root,
            cx: &cx,
            mounts: &mounts,
        };
        dav.handle(&request).await
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(DEADLINE, task).await {
        Ok(Ok(r)) => convert(r),
        Ok(Err(e)) => {
            tracing::error!(path = %path, "DAV request failed: {e}");
            crate::http::text(StatusCode::INTERNAL_SERVER_ERROR, "The service failed")
        }
        Err(_) => {
            abort.abort();
            tracing::warn!(path = %path, "DAV request past its deadline");
            crate::http::text(StatusCode::GATEWAY_TIMEOUT, "The service took too long")
        }
    }
}

/// `Authorization: Basic …`: login and password, UTF-8.
fn basic_credentials(headers: &http::HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    let login = login.trim();
    (!login.is_empty() && login.len() <= 256 && password.len() <= 1024)
        .then(|| (login.to_string(), password.to_string()))
}

/// The protocol's answer as the portal's.
fn convert(r: cartable_dav::Response) -> Response {
    let (parts, body) = r.into_parts();
    Response::from_parts(parts, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read() {
        let mut h = http::HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("léa:se:cret");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("léa".into(), "se:cret".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&h), None);
    }
}
