//! Single sign-on with CAS 3.0, both ways: the URLs (the CAS state is `crate::cas`).
//!
//! **Server**: the portal issues service tickets to the services the établissement
//! registers (`[cas]`), so a user who opens one from the ENT arrives authenticated.
//!
//! | URL | what |
//! |---|---|
//! | `GET /cas/login?service=` | a ticket for a portal session, else the login form first |
//! | `GET /cas/serviceValidate`, `GET /cas/p3/serviceValidate` | validation, XML or `format=JSON`, with attributes |
//! | `GET /cas/logout` | ends the session and sends back-channel logout to the services visited |
//!
//! **Client** (`[auth] method = "cas"`): the portal's own login is delegated to an
//! académie's CAS server; `GET /login/cas` receives the ticket, `POST /login/cas` the
//! server's single logout requests (a back channel: no CSRF token).

use axum::Router;
use axum::response::Response;
use cartable_cas::{Grant, TicketRegistry, ValidationError, response};
use cartable_fetch::OutboundRequest;
use cartable_portlet::Params;
use cartable_socle::{AccountStatus, SocleError};
use http::{HeaderValue, StatusCode, header};

use super::shared::{
    self, Cx, Fail, Form, Handled, Host, Query, St, end_session, next_target, open_session,
    without_session,
};
use crate::cas::{BACK_CHANNEL, encode};
use crate::http::redirect;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    // The server's single logout comes from the server, not a browser: no CSRF token.
    let login_cas = if st.cas.delegates_login() {
        shared::get_post_back_channel(st, client_callback, client_single_logout)
    } else {
        shared::get_post(st, client_callback, client_single_logout)
    };
    Router::new()
        .route(&format!("{base}/cas/login"), shared::get(st, login))
        .route(
            &format!("{base}/cas/serviceValidate"),
            shared::get(st, validate),
        )
        .route(
            &format!("{base}/cas/p3/serviceValidate"),
            shared::get(st, validate),
        )
        .route(&format!("{base}/cas/logout"), shared::get(st, logout))
        .route(&format!("{base}/login/cas"), login_cas)
}

fn query<'a>(query: &'a Params, name: &str) -> &'a str {
    query.get(name).map_or("", String::as_str)
}

// ---------------------------------------------------------------------------------------
// Server.

/// `GET /cas/login?service=…[&gateway=true]`.
async fn login(cx: Cx, Query(req): Query) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let req = &req;
    let service = query(req, "service");
    let Some((registered, url)) = state.cas.registry.matching(service) else {
        tracing::info!(service, "CAS login refused: the service is not registered");
        return Err(Fail::BadRequest(
            caller.lang.t("cas_unknown_service").to_string(),
        ));
    };
    let (Some(user), Some(session)) = (&caller.user, &caller.session) else {
        if matches!(query(req, "gateway"), "true" | "1") {
            return Ok(redirect(url.as_str()));
        }
        let back = format!("{}/cas/login?service={}", state.base, encode(url.as_str()));
        return Ok(redirect(&format!(
            "{}/login?next={}",
            state.base,
            encode(&back)
        )));
    };
    if !registered.allows(user) {
        tracing::info!(user = %user.id, service = %registered.id, "CAS login refused: profile not allowed");
        return Err(Fail::Forbidden);
    }
    let ticket = state.cas.tickets.issue(
        url.clone(),
        Grant {
            user: user.id.clone(),
            service_id: registered.id.clone(),
            session: session.id.as_str().to_string(),
        },
    );
    let mut target = url;
    target
        .query_pairs_mut()
        .append_pair("ticket", ticket.as_str());
    tracing::info!(user = %user.id, service = %registered.id, "CAS service ticket issued");
    Ok(redirect(target.as_str()))
}

/// `GET /cas/serviceValidate` and `GET /cas/p3/serviceValidate`: both release the
/// service's attributes (CAS 3.0); `format=JSON` answers JSON.
async fn validate(cx: Cx, Query(req): Query) -> Handled {
    let (state, req) = (&cx.st, &req);
    let json = query(req, "format").eq_ignore_ascii_case("json");
    let answer = |status: StatusCode, body: String| {
        let mut r = Response::new(axum::body::Body::from(body));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if json {
                "application/json; charset=utf-8"
            } else {
                "application/xml; charset=utf-8"
            }),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    let failure = |e: &ValidationError| {
        tracing::info!(code = e.code(), "CAS validation refused");
        if json {
            response::failure_json(e)
        } else {
            response::failure_xml(e)
        }
    };
    // Proxy tickets and renew are not offered: say so rather than pretend.
    if !query(req, "pgtUrl").is_empty() || matches!(query(req, "renew"), "true" | "1") {
        return Ok(answer(
            StatusCode::OK,
            failure(&ValidationError::InvalidRequest),
        ));
    }
    let grant = match state
        .cas
        .tickets
        .validate(query(req, "ticket"), query(req, "service"))
    {
        Ok(grant) => grant,
        Err(e) => return Ok(answer(StatusCode::OK, failure(&e))),
    };
    let person = state.effective_person(&grant.user).await?;
    let (Some(person), Some(registered)) = (person, state.cas.registry.get(&grant.service_id))
    else {
        return Ok(answer(
            StatusCode::OK,
            failure(&ValidationError::InvalidTicket),
        ));
    };
    let attributes = registered.released(&person);
    tracing::info!(user = %person.id, service = %registered.id, "CAS ticket validated");
    Ok(answer(
        StatusCode::OK,
        if json {
            response::success_json(&person.id, &attributes)
        } else {
            response::success_xml(&person.id, &attributes)
        },
    ))
}

/// `GET /cas/logout[?service=]`: end the session, then the services' sessions.
async fn logout(cx: Cx, Query(req): Query) -> Handled {
    let (state, caller, req) = (&cx.st, &*cx.caller, &req);
    if let Some(session) = caller.session.as_ref().filter(|_| !caller.visitor) {
        end_session(state, session).await?;
    }
    let target = match state.cas.registry.matching(query(req, "service")) {
        Some((_, url)) => url.to_string(),
        None => format!("{}/login", state.base),
    };
    Ok(without_session(state, redirect(&target)))
}

/// `GET /login/cas?ticket=…&next=…`: validate the ticket with the server, then open a
/// portal session for the user the server names (who must be in the directory).
async fn client_callback(cx: Cx, Query(req): Query, Host(host): Host) -> Handled {
    let (state, caller, req) = (&cx.st, &*cx.caller, &req);
    let Some(client) = &state.cas.client else {
        return Err(Fail::NotFound);
    };
    let lang = caller.lang;
    let ticket = query(req, "ticket");
    if !TicketRegistry::well_formed(ticket) {
        return Err(Fail::BadRequest(lang.t("cas_bad_ticket").to_string()));
    }
    let home = format!("{}/", state.base);
    let next = next_target(state, req.get("next").map(String::as_str), &home).to_string();
    let mut service = shared::absolute_url(state, host.as_deref(), "/login/cas")?;
    service.query_pairs_mut().append_pair("next", &next);
    let mut url = client
        .server
        .join("p3/serviceValidate")
        .map_err(|e| Fail::Internal(format!("CAS server URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("service", service.as_str())
        .append_pair("ticket", ticket);
    let answer = client
        .fetcher
        .send(
            OutboundRequest::get(url)
                .timeout(BACK_CHANNEL)
                .max_body(64 * 1024)
                .max_redirects(0),
        )
        .await
        .map_err(|e| {
            Fail::Unavailable(SocleError::Unavailable {
                backend: "CAS server",
                detail: e.to_string(),
            })
        })?;
    let text = String::from_utf8_lossy(&answer.body);
    let user = match cartable_cas::client::parse_validation(&text) {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("CAS ticket refused by the server: {e}");
            return Err(Fail::BadRequest(lang.t("cas_refused").to_string()));
        }
    };
    let Some(person) = state.services.directory.person(&user.user).await? else {
        tracing::warn!(user = %user.user, "CAS user unknown to the directory");
        return Err(Fail::BadRequest(lang.t("cas_unknown_user").to_string()));
    };
    if state.lifecycle.status(&person, state.clock.now()) != AccountStatus::Active {
        return Err(Fail::BadRequest(lang.t("account_disabled").to_string()));
    }
    let (response, session) = open_session(state, caller, person, &next).await?;
    client
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(ticket.to_string(), session);
    Ok(response)
}

/// `POST /login/cas` with `logoutRequest`: the server ends the session opened with a
/// ticket. It comes from the server, not a browser, so it carries no CSRF token; it can
/// only end a session whose ticket it names.
async fn client_single_logout(cx: Cx, Form(form): Form) -> Handled {
    let state = &cx.st;
    let Some(client) = &state.cas.client else {
        return Err(Fail::NotFound);
    };
    let ticket = form
        .get("logoutRequest")
        .and_then(|xml| cartable_cas::client::parse_logout_request(xml));
    let Some(ticket) = ticket else {
        return Err(Fail::BadRequest(
            "logoutRequest missing or unreadable".into(),
        ));
    };
    let session = client
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&ticket);
    if let Some(id) = session {
        state.sessions.delete_session(&id).await?;
        tracing::info!("session ended by the CAS server's single logout");
    }
    Ok(crate::http::text(StatusCode::OK, "ok"))
}
