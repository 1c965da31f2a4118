//! Logging in and out, and the page language.
//!
//! | URL | what |
//! |---|---|
//! | `GET /login?next=`, `POST /login` | the login form (or off to the CAS server), then a session |
//! | `POST /logout` | ends the session (and, with a CAS server, its session there) |
//! | `GET /lang/{fr,en}?next=` | the language of the session, or of an anonymous visit |

use axum::Router;
use axum::response::Response;
use cartable_socle::{AccountStatus, AuthError};
use http::{HeaderValue, StatusCode, header};
use minijinja::Value;

use super::shared::{
    self, Caller, Cx, Fail, Form, Handled, Host, Peer, Query, Segment, St, chrome, end_session,
    next_target, open_session, raw_cookie, render_template, with_cookie, without_session,
};
use crate::http::redirect;
use crate::i18n::Lang;
use crate::state::State;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(
            &format!("{base}/login"),
            shared::get_post(st, login_form, login),
        )
        .route(&format!("{base}/logout"), shared::post(st, logout))
        .route(&format!("{base}/lang/{{tag}}"), shared::get(st, set_lang))
}

/// `GET /login`: the form (with a CSRF token for an anonymous visitor, in a signed
/// cookie: nothing is stored), or on to `next` when already logged in.
async fn login_form(cx: Cx, Query(query): Query, Host(host): Host) -> Handled {
    let (st, caller) = (&cx.st, &*cx.caller);
    let home = format!("{}/", st.base);
    let next = next_target(st, query.get("next").map(String::as_str), &home);
    if caller.user.is_some() {
        return Ok(redirect(next));
    }
    if st.cas.delegates_login() {
        let mut service = shared::absolute_url(st, host.as_deref(), "/login/cas")?;
        service.query_pairs_mut().append_pair("next", next);
        return match st.cas.client_login(&service) {
            Some(Ok(target)) => Ok(redirect(target.as_str())),
            Some(Err(e)) => Err(Fail::Internal(format!("CAS server URL: {e}"))),
            None => Err(Fail::NotFound),
        };
    }
    // An anonymous visitor's CSRF token travels in a signed cookie: nothing is stored.
    let (session, fresh) = match &caller.session {
        Some(s) => (s.clone(), None),
        None => {
            let (visit, cookie) = st.visitors.issue(caller.lang.tag(), st.session_ttl);
            (visit, Some(cookie))
        }
    };
    let visitor = fresh.is_some() || caller.visitor;
    let caller = Caller {
        session: Some(session),
        visitor,
        user: None,
        lang: caller.lang,
    };
    let r = login_page(st, &caller, StatusCode::OK, None, "", next)?;
    Ok(match fresh {
        Some(cookie) => with_cookie(r, raw_cookie(st, &cookie)),
        None => r,
    })
}

fn login_page(
    state: &State,
    caller: &Caller,
    status: StatusCode,
    error: Option<&str>,
    login: &str,
    next: &str,
) -> Handled {
    let lang = caller.lang;
    let title = lang.t("login_title");
    let mut ctx = chrome(state, caller, title, &format!("{}/login", state.base));
    ctx.insert("error", Value::from(error));
    ctx.insert("login", Value::from(login));
    ctx.insert("next", Value::from(next));
    render_template(state, "login.html", status, ctx)
}

/// `POST /login`: check the password (throttled per account and address), then open a
/// session and go on to `next`.
async fn login(cx: Cx, Peer(peer): Peer, form: Form) -> Handled {
    let (st, caller) = (&cx.st, &*cx.caller);
    if st.cas.delegates_login() {
        return Err(Fail::NotFound);
    }
    let home = format!("{}/", st.base);
    let login = form.field("login").trim();
    let password = form.field("password");
    let next = next_target(st, form.0.get("next").map(String::as_str), &home).to_string();
    let lang = caller.lang;
    let page = |status, error: &'static str, login: &str| {
        login_page(st, caller, status, Some(lang.t(error)), login, &next)
    };
    if login.is_empty() || login.len() > 256 || password.len() > 1024 {
        let shown: String = login.chars().take(256).collect();
        return page(StatusCode::UNAUTHORIZED, "bad_credentials", &shown);
    }
    if let Some(wait) = st.throttle.blocked(login, peer) {
        let mut r = page(StatusCode::TOO_MANY_REQUESTS, "throttled", login)?;
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(r);
    }
    match st.services.directory.authenticate(login, password).await {
        Ok(person) if st.lifecycle.status(&person, st.clock.now()) != AccountStatus::Active => {
            tracing::info!(user = %person.id, "login refused: account past its end date");
            page(StatusCode::FORBIDDEN, "account_disabled", login)
        }
        Ok(person) => {
            st.throttle.success(login, peer);
            Ok(open_session(st, caller, person, &next).await?.0)
        }
        Err(AuthError::InvalidCredentials) => {
            st.throttle.failure(login, peer);
            page(StatusCode::UNAUTHORIZED, "bad_credentials", login)
        }
        Err(AuthError::AccountDisabled) => page(StatusCode::FORBIDDEN, "account_disabled", login),
        Err(AuthError::Backend(e)) => {
            tracing::error!("directory unavailable at login: {e}");
            page(StatusCode::SERVICE_UNAVAILABLE, "directory_down", login)
        }
        Err(e) => {
            st.throttle.failure(login, peer);
            tracing::info!("login refused: {e}");
            page(StatusCode::UNAUTHORIZED, "bad_credentials", login)
        }
    }
}

/// `POST /logout`: end the session, then back to the login form (or to the CAS
/// server's logout, which sends the browser back to the portal).
async fn logout(cx: Cx, Host(host): Host) -> Handled {
    let (st, caller) = (&cx.st, &*cx.caller);
    if let Some(s) = caller.session.as_ref().filter(|_| !caller.visitor) {
        end_session(st, s).await?;
    }
    let back = if st.cas.delegates_login() {
        shared::absolute_url(st, host.as_deref(), "/").ok()
    } else {
        None
    };
    let target = st
        .cas
        .client_logout(back.as_ref())
        .unwrap_or_else(|| format!("{}/login", st.base));
    Ok(without_session(st, redirect(&target)))
}

/// `GET /lang/{fr,en}`: the language of the session, or of the anonymous visit (in its
/// signed cookie).
async fn set_lang(cx: Cx, Segment(tag): Segment, Query(query): Query) -> Handled {
    let (st, caller) = (&cx.st, &*cx.caller);
    let lang = match tag.as_str() {
        "fr" => Lang::Fr,
        "en" => Lang::En,
        _ => return Err(Fail::NotFound),
    };
    let home = format!("{}/", st.base);
    let next = next_target(st, query.get("next").map(String::as_str), &home);
    let to = |cookie: &str| -> Response { with_cookie(redirect(next), raw_cookie(st, cookie)) };
    match &caller.session {
        Some(s) if !caller.visitor => {
            let mut s = s.clone();
            s.locale = lang.tag().to_string();
            st.sessions.save_session(&s).await?;
            Ok(redirect(next))
        }
        // An anonymous visitor's language travels in her signed cookie.
        Some(visit) => Ok(to(&st.visitors.relocalize(visit, lang.tag()).1)),
        None => Ok(to(&st.visitors.issue(lang.tag(), st.session_ttl).1)),
    }
}
