//! Secret URLs: what a portlet serves without a session to the holder of a user's token
//! (a feed reader, a calendar client), through its
//! [`SecretResource`](cartable_portlet::secret::SecretResource).
//!
//! | URL | what |
//! |---|---|
//! | `GET /flux/{portlet}/{token}/{file}` | the portlet's file for the token's owner |
//!
//! The portlet says whose token it is; the portal then loads her as pages do (in the
//! directory, account active, delegated roles), checks that the portlet is one she may
//! use, and has the portlet serve her under its deadline. Any refusal is the same `404`.

use std::sync::Arc;

use axum::Router;
use axum::extract::RawPathParams;
use axum::response::Response;
use cartable_portlet::export::DataContext;
use cartable_portlet::secret::SecretRequest;
use http::{HeaderMap, HeaderValue, header};

use super::shared::{self, Cx, Fail, Handled, Query, St};
use crate::http::decode_segment;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new().route(
        &format!("{base}/flux/{{portlet}}/{{token}}/{{file}}"),
        shared::get(st, serve),
    )
}

/// `GET /flux/{portlet}/{token}/{file}`.
async fn serve(cx: Cx, params: RawPathParams, Query(query): Query, headers: HeaderMap) -> Handled {
    let state = &cx.st;
    let (mut portlet_id, mut token, mut file) = (String::new(), String::new(), String::new());
    for (name, value) in &params {
        match name {
            "portlet" => portlet_id = decode_segment(value),
            "token" => token = decode_segment(value),
            "file" => file = decode_segment(value),
            _ => {}
        }
    }
    let Some(portlet) = state.portlets.get(&portlet_id).cloned() else {
        return Err(Fail::NotFound);
    };
    if portlet.secret().is_none() || token.is_empty() {
        return Err(Fail::NotFound);
    }
    state.container.check_available(&portlet_id)?;
    let services = state.services.clone();
    let p = portlet.clone();
    let asked = token.clone();
    let owner = state
        .container
        .invoke(&portlet_id, async move {
            match p.secret() {
                Some(s) => s.owner(&services, &asked).await,
                None => Ok(None),
            }
        })
        .await?;
    let Some(owner) = owner else {
        return Err(Fail::NotFound);
    };
    // As pages see her: gone, expired or not allowed this portlet is the same 404.
    let Some(person) = state.effective_person(&owner).await? else {
        return Err(Fail::NotFound);
    };
    if state.allowed_portlet(&portlet_id, &person).is_none() {
        return Err(Fail::NotFound);
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let portal_url = shared::absolute_url(state, host, "")?
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let request = SecretRequest {
        token,
        file,
        params: query,
        portal_url,
    };
    state.record_uses(
        &person,
        [portlet_id.as_str()],
        cartable_socle::indicators::Use::Resource,
    );
    let cx = DataContext::new(
        Arc::clone(&person),
        state.services.clone(),
        cx.caller.lang.tag(),
    );
    let p = portlet.clone();
    let out = state
        .container
        .invoke(&portlet_id, async move {
            match p.secret() {
                Some(s) => s.serve(&cx, request).await,
                None => Err(cartable_portlet::PortletError::NotFound(String::new())),
            }
        })
        .await?;
    let mut r = Response::new(axum::body::Body::from(out.body));
    *r.status_mut() = out.status;
    let ctype = HeaderValue::from_str(&out.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, ctype);
    // The URL is the user's secret: not kept by shared caches, not indexed.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}
