//! Request routing and the handlers of every portal URL.
//!
//! | URL | what |
//! |---|---|
//! | `GET /login`, `POST /login`, `POST /logout` | authentication |
//! | `GET /lang/{fr,en}` | page language |
//! | `GET /page/{tab}` | a page: every window of the tab |
//! | `GET /page/{tab}/{window}?mode=&state=&p.x=` | the page with one window targeted |
//! | `POST /action/{tab}/{window}` | a portlet action, then a redirect (PRG) |
//! | `GET,POST /resource/{tab}/{window}/{id}` | a portlet resource, nothing else rendered |
//! | `POST /prefs/{tab}/{window}` | the generic preference form |
//! | `GET /layout/{tab}`, `POST /layout` | layout editing |
//! | `GET /admin`, `POST /admin/maintenance` | portlet status and maintenance |
//! | `GET /theme/{file}` | theme static files |
//! | `/cas/…`, `/login/cas` | CAS single sign-on, server and client (see [`crate::cas`]) |

use std::collections::BTreeMap;
use std::sync::Arc;

use cartable_portlet::{
    ActionRequest, ActionResponse, Event, HeadResource, Mode, Params, Portlet, PortletError,
    ResourceRequest, WindowState,
};
use cartable_socle::{AccountStatus, AuthError, Person, Profile, Session, SessionId, SocleError};
use http::{HeaderValue, Method, Response, StatusCode, header};
use minijinja::Value;
use minijinja::value::Serde;

use crate::aggregate::{Outcome, WindowJob, render_all, spawn_all};
use crate::health::Availability;
use crate::http::{Body, Request, clear_cookie, html, redirect, safe_filename, session_cookie};
use crate::i18n::Lang;
use crate::layout::{Direction, Layout, LayoutError};
use crate::memo::Segments;
use crate::security::{csrf_matches, safe_redirect};
use crate::state::State;

/// How deep events may cascade (an event handler emitting events…).
const MAX_EVENT_DEPTH: usize = 3;

/// Everything known about the caller once the session is loaded.
pub(crate) struct Caller {
    /// The stored session, or an anonymous visit read from its signed cookie.
    pub session: Option<Session>,
    /// Whether `session` is an anonymous visit ([`crate::visitor`]): nothing stored.
    pub visitor: bool,
    pub user: Option<Arc<Person>>,
    pub lang: Lang,
}

/// A response, or an error page to show instead.
pub(crate) type Handled = Result<Response<Body>, Fail>;

/// A failure shown as an error page.
pub(crate) enum Fail {
    NotFound,
    /// Someone changed what the form was built from; reload and try again.
    Conflict,
    Forbidden,
    BadRequest(String),
    Unavailable(SocleError),
    Internal(String),
}

impl From<SocleError> for Fail {
    fn from(e: SocleError) -> Self {
        match e {
            SocleError::Conflict { .. } => Fail::Conflict,
            other => Fail::Unavailable(other),
        }
    }
}

pub(crate) fn sv<T: serde::Serialize>(x: T) -> Value {
    Value::from(Serde(x))
}

/// Handle one request (the security headers are added by the caller).
pub(crate) async fn handle(state: &Arc<State>, mut req: Request) -> Response<Body> {
    // HEAD is answered as GET (wherever GET is allowed); the server sends headers only.
    if req.method == Method::HEAD {
        req.method = Method::GET;
    }
    let route = req.route();
    if let Some(allow) = allowed_methods(&route)
        && !accepts(allow, &req.method)
    {
        return method_not_allowed(allow);
    }
    let caller = match load_caller(state, &req).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("session store failed: {e}");
            return error_page(state, &anonymous(), Fail::Unavailable(e));
        }
    };
    if req.method == Method::POST && !crate::cas::is_back_channel(state, &req) {
        if crate::security::is_cross_site(
            req.fetch_site.as_deref(),
            req.origin.as_deref(),
            req.host.as_deref(),
            state.config.auth.public_url.as_ref(),
        ) {
            tracing::info!(path = %req.raw_path, origin = ?req.origin, "POST refused: sent from another site");
            return error_page(state, &caller, Fail::Forbidden);
        }
        let expected = caller.session.as_ref().map_or("", |s| s.csrf.as_str());
        if !csrf_matches(expected, req.csrf()) {
            tracing::info!(path = %req.raw_path, "POST refused: missing or wrong CSRF token");
            return error_page(state, &caller, Fail::Forbidden);
        }
    }
    let result = dispatch(state, &caller, &req, &route).await;
    match result {
        Ok(r) => r,
        Err(f) => error_page(state, &caller, f),
    }
}

/// The methods a portal path answers, as the `Allow` header lists them (`HEAD` wherever
/// `GET` is), or `None` for a path the portal does not have (404).
fn allowed_methods(route: &[&str]) -> Option<&'static str> {
    const GET: &str = "GET, HEAD";
    const POST: &str = "POST";
    const BOTH: &str = "GET, HEAD, POST";
    Some(match route {
        [] | ["theme", _] | ["lang", _] | ["page", _] | ["page", _, _] | ["layout", _] => GET,
        ["compte"] | ["admin"] => GET,
        ["cas", "login" | "serviceValidate" | "logout"] | ["cas", "p3", "serviceValidate"] => GET,
        ["login"] | ["login", "cas"] | ["resource", _, _, _] => BOTH,
        ["logout"] | ["action", _, _] | ["prefs", _, _] | ["layout"] => POST,
        ["compte", "password" | "delegation" | "groups"] => POST,
        ["admin", "purge" | "password" | "maintenance"] => POST,
        _ => return None,
    })
}

/// Whether `allow` (from [`allowed_methods`]) lists `method`.
fn accepts(allow: &str, method: &Method) -> bool {
    allow.split(", ").any(|m| m == method.as_str())
}

/// `405 Method Not Allowed` with the methods the path does answer.
fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = crate::http::text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn anonymous() -> Caller {
    Caller {
        session: None,
        visitor: false,
        user: None,
        lang: Lang::Fr,
    }
}

async fn load_caller(state: &State, req: &Request) -> Result<Caller, SocleError> {
    let cookie = req.session_cookie.as_deref();
    let (session, visitor) = match cookie.and_then(SessionId::parse) {
        Some(id) => (state.sessions.session(&id).await?, false),
        None => match cookie.and_then(|c| state.visitors.read(c)) {
            Some(visit) => (Some(visit), true),
            None => (None, false),
        },
    };
    let user = match session.as_ref().and_then(|s| s.user.as_deref()) {
        Some(uid) => state.effective_person(uid).await?,
        None => None,
    };
    let lang = session
        .as_ref()
        .map_or(Lang::Fr, |s| Lang::from_tag(&s.locale));
    Ok(Caller {
        session,
        visitor,
        user,
        lang,
    })
}

async fn dispatch(state: &Arc<State>, caller: &Caller, req: &Request, route: &[&str]) -> Handled {
    let m = &req.method;
    match (m, route) {
        (&Method::GET, ["theme", file]) => static_file(state, file),
        (&Method::GET, ["login"]) => login_form(state, caller, req).await,
        (&Method::POST, ["login"]) => login(state, caller, req).await,
        (&Method::POST, ["logout"]) => logout(state, caller, req).await,
        (&Method::GET, ["lang", tag]) => set_lang(state, caller, req, tag).await,
        (&Method::GET, ["cas", "login"]) => crate::cas::login(state, caller, req).await,
        (&Method::GET, ["cas", "serviceValidate"] | ["cas", "p3", "serviceValidate"]) => {
            crate::cas::validate(state, req).await
        }
        (&Method::GET, ["cas", "logout"]) => crate::cas::logout(state, caller, req).await,
        (&Method::GET, ["login", "cas"]) => crate::cas::client_callback(state, caller, req).await,
        (&Method::POST, ["login", "cas"]) => crate::cas::client_single_logout(state, req).await,
        _ => {
            let Some(user) = caller.user.clone() else {
                if *m == Method::GET {
                    let next = form_urlencoded::byte_serialize(req.raw_path.as_bytes())
                        .collect::<String>();
                    return Ok(redirect(&format!("{}/login?next={next}", state.base)));
                }
                return Err(Fail::Forbidden);
            };
            route_user(state, caller, &user, req, route).await
        }
    }
}

async fn route_user(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    route: &[&str],
) -> Handled {
    match (&req.method, route) {
        (&Method::GET, []) => {
            let layout = state.layout(user).await?;
            let first = layout.tabs.first().map_or("accueil", |t| t.id.as_str());
            Ok(redirect(&format!("{}/page/{first}", state.base)))
        }
        (&Method::GET, ["page", tab]) => page(state, caller, user, req, tab, None).await,
        (&Method::GET, ["page", tab, window]) => {
            page(state, caller, user, req, tab, Some(window)).await
        }
        (&Method::POST, ["action", tab, window]) => {
            action(state, caller, user, req, tab, window).await
        }
        (&Method::GET | &Method::POST, ["resource", tab, window, id]) => {
            resource(state, caller, user, req, tab, window, id).await
        }
        (&Method::POST, ["prefs", tab, window]) => save_prefs(state, user, req, tab, window).await,
        (&Method::GET, ["layout", tab]) => layout_page(state, caller, user, req, tab).await,
        (&Method::POST, ["layout"]) => layout_edit(state, user, req).await,
        (&Method::GET, ["compte"]) => crate::account::page(state, caller, user, req).await,
        (&Method::POST, ["compte", "password"]) => {
            crate::account::change_password(state, caller, user, req).await
        }
        (&Method::POST, ["compte", "delegation"]) => {
            crate::account::delegation(state, caller, user, req).await
        }
        (&Method::POST, ["compte", "groups"]) => {
            crate::account::groups(state, caller, user, req).await
        }
        (&Method::POST, ["admin", "purge"]) if is_admin(user) => {
            crate::account::admin_purge(state, user, req).await
        }
        (&Method::POST, ["admin", "password"]) if is_admin(user) => {
            crate::account::admin_reset_password(state, caller, user, req).await
        }
        (&Method::GET, ["admin"]) if is_admin(user) => {
            admin_page(state, caller, user, req, None).await
        }
        (&Method::POST, ["admin", "maintenance"]) if is_admin(user) => {
            admin_maintenance(state, req).await
        }
        (_, ["admin", ..]) => Err(Fail::Forbidden),
        _ => Err(Fail::NotFound),
    }
}

pub(crate) fn is_admin(user: &Person) -> bool {
    user.has_profile(&Profile::Admin)
}

// ---------------------------------------------------------------------------------------
// Pages of the chrome: common template values, error pages, static files.

pub(crate) fn chrome(
    state: &State,
    caller: &Caller,
    title: &str,
    here: &str,
) -> BTreeMap<&'static str, Value> {
    let lang = caller.lang;
    let mut c = BTreeMap::new();
    c.insert("lang", Value::from(lang.tag()));
    c.insert("t", lang.strings_value());
    c.insert("etab", Value::from(state.config.etablissement.as_str()));
    c.insert("base", Value::from(state.base.as_str()));
    c.insert("page_title", Value::from(title));
    c.insert(
        "csrf",
        Value::from(caller.session.as_ref().map_or("", |s| s.csrf.as_str())),
    );
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    c.insert(
        "lang_url",
        Value::from(format!(
            "{}/lang/{}?next={next}",
            state.base,
            lang.t("other_lang")
        )),
    );
    if let Some(user) = &caller.user {
        let profiles: Vec<&str> = user
            .profiles
            .iter()
            .map(|p| {
                if lang == Lang::En {
                    p.label_en()
                } else {
                    p.label_fr()
                }
            })
            .collect();
        c.insert(
            "user",
            Value::from_pairs([
                ("name", Value::from(user.display_name.as_str())),
                ("profiles", Value::from(profiles.join(", "))),
            ]),
        );
        if is_admin(user) {
            c.insert("admin_url", Value::from(format!("{}/admin", state.base)));
        }
    }
    c.insert("head_styles", sv(Vec::<String>::new()));
    c.insert("head_scripts", sv(Vec::<String>::new()));
    c
}

pub(crate) fn render_template(
    state: &State,
    name: &str,
    status: StatusCode,
    ctx: BTreeMap<&'static str, Value>,
) -> Handled {
    state
        .theme
        .render(name, Value::from_pairs(ctx))
        .map(|body| html(status, body))
        .map_err(|e| Fail::Internal(e.to_string()))
}

fn error_page(state: &State, caller: &Caller, fail: Fail) -> Response<Body> {
    let lang = caller.lang;
    let (status, heading, message) = match &fail {
        Fail::NotFound => (
            StatusCode::NOT_FOUND,
            lang.t("err_not_found"),
            lang.t("err_not_found_msg").to_string(),
        ),
        Fail::Conflict => (
            StatusCode::CONFLICT,
            lang.t("err_conflict"),
            lang.t("err_conflict_msg").to_string(),
        ),
        Fail::Forbidden => (
            StatusCode::FORBIDDEN,
            lang.t("err_forbidden"),
            lang.t("err_forbidden_msg").to_string(),
        ),
        Fail::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            lang.t("err_bad_request"),
            m.clone(),
        ),
        Fail::Unavailable(e) => {
            tracing::error!("socle unavailable: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.t("err_unavailable"),
                lang.t("err_unavailable_msg").to_string(),
            )
        }
        Fail::Internal(e) => {
            tracing::error!("internal error: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.t("err_internal"),
                lang.t("err_internal_msg").to_string(),
            )
        }
    };
    let mut ctx = chrome(state, caller, heading, "/");
    ctx.insert("heading", Value::from(heading));
    ctx.insert("message", Value::from(message));
    match state.theme.render("error.html", Value::from_pairs(ctx)) {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!("error page template failed: {e}");
            crate::http::text(status, "Erreur / Error")
        }
    }
}

fn static_file(state: &State, file: &str) -> Handled {
    let (ctype, bytes) = state.theme.static_file(file).ok_or(Fail::NotFound)?;
    let mut r = Response::new(crate::http::full(bytes::Bytes::copy_from_slice(bytes)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(r)
}

// ---------------------------------------------------------------------------------------
// Authentication and language.

pub(crate) fn with_cookie(mut r: Response<Body>, value: HeaderValue) -> Response<Body> {
    r.headers_mut().append(header::SET_COOKIE, value);
    r
}

pub(crate) fn cookie_for(state: &State, session: &Session) -> HeaderValue {
    session_cookie(
        session.id.as_str(),
        &state.base,
        state.config.secure_cookies,
        state.session_ttl.as_secs(),
    )
}

pub(crate) fn next_target<'a>(state: &State, next: Option<&'a str>, fallback: &'a str) -> &'a str {
    next.map_or(fallback, |n| safe_redirect(n, &state.base, fallback))
}

async fn login_form(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    let home = format!("{}/", state.base);
    if caller.user.is_some() {
        return Ok(redirect(next_target(
            state,
            req.query.get("next").map(String::as_str),
            &home,
        )));
    }
    if state.cas.delegates_login() {
        let next = next_target(state, req.query.get("next").map(String::as_str), &home);
        return crate::cas::client_redirect(state, req, next);
    }
    // An anonymous visitor's CSRF token travels in a signed cookie: nothing is stored.
    let (session, fresh) = match &caller.session {
        Some(s) => (s.clone(), None),
        None => {
            let (visit, cookie) = state.visitors.issue(caller.lang.tag(), state.session_ttl);
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
    let next = next_target(state, req.query.get("next").map(String::as_str), &home);
    let r = login_page(state, &caller, StatusCode::OK, None, "", next)?;
    Ok(match fresh {
        Some(cookie) => with_cookie(r, raw_cookie(state, &cookie)),
        None => r,
    })
}

/// The session cookie carrying an anonymous visit.
fn raw_cookie(state: &State, value: &str) -> HeaderValue {
    session_cookie(
        value,
        &state.base,
        state.config.secure_cookies,
        state.session_ttl.as_secs(),
    )
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

async fn login(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    if state.cas.delegates_login() {
        return Err(Fail::NotFound);
    }
    let home = format!("{}/", state.base);
    let login = req.form.get("login").map_or("", |s| s.trim());
    let password = req.form.get("password").map_or("", String::as_str);
    let next = next_target(state, req.form.get("next").map(String::as_str), &home).to_string();
    let lang = caller.lang;
    if login.is_empty() || login.len() > 256 || password.len() > 1024 {
        return login_page(
            state,
            caller,
            StatusCode::UNAUTHORIZED,
            Some(lang.t("bad_credentials")),
            &login.chars().take(256).collect::<String>(),
            &next,
        );
    }
    if let Some(wait) = state.throttle.blocked(login, req.peer) {
        let mut r = login_page(
            state,
            caller,
            StatusCode::TOO_MANY_REQUESTS,
            Some(lang.t("throttled")),
            login,
            &next,
        )?;
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(r);
    }
    match state.services.directory.authenticate(login, password).await {
        Ok(person)
            if state.lifecycle.status(&person, state.clock.now()) != AccountStatus::Active =>
        {
            tracing::info!(user = %person.id, "login refused: account past its end date");
            login_page(
                state,
                caller,
                StatusCode::FORBIDDEN,
                Some(lang.t("account_disabled")),
                login,
                &next,
            )
        }
        Ok(person) => {
            state.throttle.success(login, req.peer);
            Ok(open_session(state, caller, person, &next).await?.0)
        }
        Err(AuthError::InvalidCredentials) => {
            state.throttle.failure(login, req.peer);
            login_page(
                state,
                caller,
                StatusCode::UNAUTHORIZED,
                Some(lang.t("bad_credentials")),
                login,
                &next,
            )
        }
        Err(AuthError::AccountDisabled) => login_page(
            state,
            caller,
            StatusCode::FORBIDDEN,
            Some(lang.t("account_disabled")),
            login,
            &next,
        ),
        Err(AuthError::Backend(e)) => {
            tracing::error!("directory unavailable at login: {e}");
            login_page(
                state,
                caller,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(lang.t("directory_down")),
                login,
                &next,
            )
        }
    }
}

/// Open a session for a person who just proved who she is, and send her on.
pub(crate) async fn open_session(
    state: &Arc<State>,
    caller: &Caller,
    person: Person,
    next: &str,
) -> Result<(Response<Body>, SessionId), Fail> {
    // Rotate: the session (and any id an attacker planted) dies here; an anonymous
    // visit was never stored, its cookie is replaced.
    if let Some(old) = caller.session.as_ref().filter(|_| !caller.visitor) {
        state.sessions.delete_session(&old.id).await?;
    }
    let session = Session::new(
        Some(person.id.clone()),
        caller.lang.tag(),
        state.session_ttl,
    );
    state.sessions.save_session(&session).await?;
    tracing::info!(user = %person.id, "login");
    state.remember(Arc::new(person));
    Ok((
        with_cookie(redirect(next), cookie_for(state, &session)),
        session.id,
    ))
}

/// A response that also removes the session cookie.
pub(crate) fn without_session(state: &State, response: Response<Body>) -> Response<Body> {
    with_cookie(
        response,
        clear_cookie(&state.base, state.config.secure_cookies),
    )
}

async fn logout(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    if let Some(s) = caller.session.as_ref().filter(|_| !caller.visitor) {
        crate::cas::end_session(state, s).await?;
    }
    let target = crate::cas::client_logout_target(state, req)
        .unwrap_or_else(|| format!("{}/login", state.base));
    Ok(without_session(state, redirect(&target)))
}

async fn set_lang(state: &Arc<State>, caller: &Caller, req: &Request, tag: &str) -> Handled {
    let lang = match tag {
        "fr" => Lang::Fr,
        "en" => Lang::En,
        _ => return Err(Fail::NotFound),
    };
    let home = format!("{}/", state.base);
    let next = next_target(state, req.query.get("next").map(String::as_str), &home);
    match &caller.session {
        Some(s) if !caller.visitor => {
            let mut s = s.clone();
            s.locale = lang.tag().to_string();
            state.sessions.save_session(&s).await?;
            Ok(redirect(next))
        }
        // An anonymous visitor's language travels in her signed cookie.
        Some(visit) => {
            let (_, cookie) = state.visitors.relocalize(visit, lang.tag());
            Ok(with_cookie(redirect(next), raw_cookie(state, &cookie)))
        }
        None => {
            let (_, cookie) = state.visitors.issue(lang.tag(), state.session_ttl);
            Ok(with_cookie(redirect(next), raw_cookie(state, &cookie)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pages and windows.

/// Find a window of the user's layout and check she may use its portlet. A window that
/// is not on her layout but names a portlet she may not see answers 403, not 404.
fn resolve_window<'a>(
    state: &'a State,
    layout: &Layout,
    user: &Person,
    tab: &str,
    window: &str,
) -> Result<(String, &'a Arc<dyn Portlet>), Fail> {
    match layout.window(tab, window) {
        Some(w) => state
            .allowed_portlet(&w.portlet, user)
            .map(|p| (w.id.clone(), p))
            .ok_or(Fail::Forbidden),
        None => {
            let guess = window
                .rsplit_once('-')
                .filter(|(_, n)| n.parse::<u32>().is_ok())
                .map_or(window, |(p, _)| p);
            if [window, guess].iter().any(|id| {
                state.portlets.contains_key(*id) && state.allowed_portlet(id, user).is_none()
            }) {
                Err(Fail::Forbidden)
            } else {
                Err(Fail::NotFound)
            }
        }
    }
}

fn parse_mode(req: &Request) -> Result<Mode, Fail> {
    req.query.get("mode").map_or(Ok(Mode::View), |m| {
        m.parse().map_err(|e| Fail::BadRequest(format!("{e}")))
    })
}

fn parse_state(req: &Request) -> Result<WindowState, Fail> {
    req.query.get("state").map_or(Ok(WindowState::Normal), |s| {
        s.parse().map_err(|e| Fail::BadRequest(format!("{e}")))
    })
}

async fn page(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    tab_id: &str,
    target: Option<&str>,
) -> Handled {
    let lang = caller.lang;
    let (layout, layout_version) = state.layout_versioned(user).await?;
    let tab = layout.tab(tab_id).ok_or(Fail::NotFound)?;
    let target = match target {
        None => None,
        Some(w) => {
            let (id, portlet) = resolve_window(state, &layout, user, tab_id, w)?;
            let mode = parse_mode(req)?;
            let wstate = parse_state(req)?;
            let d = portlet.descriptor();
            if !d.supports_mode(mode) || !d.supports_state(wstate) {
                return Err(Fail::BadRequest(format!(
                    "{} does not support {mode} mode in {wstate} state",
                    d.title.get(lang.tag())
                )));
            }
            Some((id, mode, wstate))
        }
    };
    let maximized = matches!(&target, Some((_, _, WindowState::Maximized)));
    let mut columns: Vec<Vec<WindowJob>> = Vec::new();
    let mut locked = BTreeMap::new();
    for column in &tab.columns {
        let mut jobs = Vec::new();
        for w in column {
            let Some(portlet) = state.allowed_portlet(&w.portlet, user) else {
                continue;
            };
            locked.insert(w.id.clone(), w.locked);
            let targeted = target.as_ref().filter(|(id, _, _)| *id == w.id);
            if maximized && targeted.is_none() {
                continue;
            }
            let (mode, wstate, params) = match targeted {
                Some((_, mode, wstate)) => (*mode, *wstate, req.portlet_params()),
                None if w.minimized => (Mode::View, WindowState::Minimized, Params::new()),
                None => (Mode::View, WindowState::Normal, Params::new()),
            };
            jobs.push(WindowJob {
                window: w.id.clone(),
                portlet: portlet.clone(),
                mode,
                state: wstate,
                params,
                minimized: wstate == WindowState::Minimized,
            });
        }
        if !maximized || !jobs.is_empty() {
            columns.push(jobs);
        }
    }
    let csrf = caller.session.as_ref().map_or("", |s| s.csrf.as_str());
    let shape: Vec<usize> = columns.iter().map(Vec::len).collect();
    let jobs: Vec<WindowJob> = columns.into_iter().flatten().collect();
    let mut ctx = chrome(state, caller, tab.title_in(lang.tag()), &req.raw_path);
    ctx.insert("heading", Value::from(tab.title_in(lang.tag())));
    ctx.insert("maximized", Value::from(maximized));
    ctx.insert("tabs", tabs_value(state, &layout, tab_id, lang));
    ctx.insert("layout_version", Value::from(layout_version.get()));
    ctx.insert(
        "layout_url",
        Value::from(format!("{}/layout/{tab_id}", state.base)),
    );
    // The plain page (no window targeted) is streamed: its title does not depend on the
    // windows. A targeted one (help, edit, maximized, parameters) is titled after its
    // window, so it is sent whole.
    let jobs = if target.is_none() && state.config.stream_pages {
        match stream_page(
            state,
            user,
            lang,
            tab_id,
            ctx.clone(),
            &shape,
            jobs,
            locked.clone(),
        ) {
            Ok(response) => return Ok(response),
            Err(jobs) => jobs,
        }
    } else {
        jobs
    };
    let outcomes = render_all(state, user, tab_id, lang.tag(), csrf, jobs).await;

    let mut styles = Vec::new();
    let mut scripts = Vec::new();
    let mut windows = Vec::new();
    let mut page_title = tab.title_in(lang.tag()).to_string();
    for (job, outcome) in outcomes {
        let is_locked = locked.get(&job.window).copied().unwrap_or(false);
        let view = window_value(state, lang, tab_id, &job, outcome, is_locked);
        let title = view.title.clone();
        // A window in help or edit mode, maximized, or shown with parameters (a search…)
        // gives the page a title of its own ("Aide – Bloc-notes – Accueil").
        let mode_label = match job.mode {
            Mode::View => None,
            Mode::Help => Some(lang.t("help")),
            Mode::Edit => Some(lang.t("edit")),
        };
        if maximized || mode_label.is_some() || !job.params.is_empty() {
            page_title = format!("{title} – {page_title}");
        }
        if let Some(label) = mode_label {
            page_title = format!("{label} – {page_title}");
        }
        if let Some(head) = view.head.clone() {
            for h in head {
                match h {
                    HeadResource::Stylesheet(u) if !styles.contains(&u) => styles.push(u),
                    HeadResource::Script(u) if !scripts.contains(&u) => scripts.push(u),
                    _ => {}
                }
            }
        }
        windows.push(view.into_value());
    }
    let mut iter = windows.into_iter();
    let columns: Vec<Value> = shape
        .iter()
        .map(|n| Value::from(iter.by_ref().take(*n).collect::<Vec<_>>()))
        .collect();

    ctx.insert("page_title", Value::from(page_title));
    ctx.insert("columns", Value::from(columns));
    ctx.insert("head_styles", sv(styles));
    ctx.insert("head_scripts", sv(scripts));
    render_template(state, "page.html", StatusCode::OK, ctx)
}

/// How long a streamed page holds what is ready for the next window before sending it.
const FLUSH_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// Where a window goes in a streamed page's skeleton.
const WINDOW_MARKER: &str = "<!--cartable:window-->";

/// Send a page as it is ready: the head, banner and tabs at once, then each window in
/// document order as soon as it and those before it are rendered (every window renders
/// concurrently from the start). Works without JavaScript: it is one HTML document,
/// written top to bottom. Head resources a window asks for come as `<link>`/`<script>`
/// just before it. Windows rendered when their turn comes, or within [`FLUSH_DELAY`], are
/// sent together with what precedes them, so a page whose windows are all quick leaves
/// in one write.
/// The chrome and the window frames come from the memo (see `memo`). Gives the jobs
/// back when the theme's `page.html` has no window placeholders (an établissement theme
/// written before streaming): the page is then sent whole.
#[allow(clippy::result_large_err)]
#[allow(clippy::too_many_arguments)]
fn stream_page(
    state: &Arc<State>,
    user: &Arc<Person>,
    lang: Lang,
    tab_id: &str,
    mut ctx: BTreeMap<&'static str, Value>,
    shape: &[usize],
    jobs: Vec<WindowJob>,
    locked: BTreeMap<String, bool>,
) -> Result<Response<Body>, Vec<WindowJob>> {
    let csrf = ctx
        .get("csrf")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let globals = ctx.clone();
    let placeholder = Value::from_pairs([(
        "placeholder",
        Value::from_safe_string(WINDOW_MARKER.to_string()),
    )]);
    let placeholders: Vec<Value> = shape
        .iter()
        .map(|n| Value::from(vec![placeholder.clone(); *n]))
        .collect();
    ctx.insert("columns", Value::from(placeholders));
    let Ok(pieces) = state.memo.page(&state.theme, ctx, WINDOW_MARKER) else {
        return Err(jobs);
    };
    if pieces.len() != jobs.len() + 1 {
        return Err(jobs);
    }
    let handles = spawn_all(state, user, tab_id, lang.tag(), &csrf, &jobs);
    let (tx, body) = crate::http::channel(jobs.len() + 2);
    let state = state.clone();
    let tab = tab_id.to_string();
    tokio::spawn(async move {
        let chrome: usize = pieces.iter().map(Segments::len).sum();
        let mut out = Vec::with_capacity(chrome + 2048 * jobs.len());
        let mut pieces = pieces.iter();
        if let Some(head) = pieces.next() {
            head.write(&mut out, &csrf, "");
        }
        let mut open = true;
        let mut seen_head: Vec<HeadResource> = Vec::new();
        for ((job, mut handle), piece) in jobs.into_iter().zip(handles).zip(pieces) {
            if !open {
                // The reader left: stop the renders still running.
                handle.abort();
                continue;
            }
            if !handle.is_finished() {
                // Give the renders a turn before sending what is ready.
                tokio::task::yield_now().await;
            }
            let mut early = None;
            if !handle.is_finished() && !out.is_empty() {
                // A window about to be ready goes out with what precedes it: one write
                // instead of two, for a first byte later by at most FLUSH_DELAY.
                match tokio::time::timeout(FLUSH_DELAY, &mut handle).await {
                    Ok(done) => early = Some(done),
                    Err(_) => {
                        let ready = std::mem::take(&mut out);
                        open = tx.send(bytes::Bytes::from(ready)).await.is_ok();
                        if !open {
                            handle.abort();
                            continue;
                        }
                    }
                }
            }
            let done = match early {
                Some(done) => done,
                None => (&mut handle).await,
            };
            let outcome = done.unwrap_or(Outcome::Panicked);
            let is_locked = locked.get(&job.window).copied().unwrap_or(false);
            let shown = Shown::of(lang, &job, outcome);
            for h in shown.head.iter().flatten() {
                if seen_head.contains(h) {
                    continue;
                }
                let tag = match &h {
                    HeadResource::Stylesheet(u) => format!(
                        "<link rel=\"stylesheet\" href=\"{}\">",
                        cartable_portlet::Markup::text(u).as_str()
                    ),
                    HeadResource::Script(u) => format!(
                        "<script src=\"{}\" defer></script>",
                        cartable_portlet::Markup::text(u).as_str()
                    ),
                };
                out.extend_from_slice(tag.as_bytes());
                seen_head.push(h.clone());
            }
            let key = shown.frame_key(&tab, &job, is_locked);
            let fields = || window_fields(&state, lang, &tab, &job, &shown, is_locked);
            match state.memo.window(&state.theme, &globals, &key, fields) {
                Ok(frame) => frame.write(&mut out, &csrf, &shown.markup),
                Err(e) => tracing::error!("window template failed: {e}"),
            }
            piece.write(&mut out, &csrf, "");
        }
        if open && !out.is_empty() {
            let _ = tx.send(bytes::Bytes::from(out)).await;
        }
    });
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}

fn tabs_value(state: &State, layout: &Layout, current: &str, lang: Lang) -> Value {
    Value::from(
        layout
            .tabs
            .iter()
            .map(|t| {
                Value::from_pairs([
                    ("id", Value::from(t.id.as_str())),
                    ("title", Value::from(t.title_in(lang.tag()))),
                    ("url", Value::from(format!("{}/page/{}", state.base, t.id))),
                    ("current", Value::from(t.id == current)),
                ])
            })
            .collect::<Vec<_>>(),
    )
}

/// What the theme shows of one window.
struct WindowView {
    /// Its title (the portlet's, or the one its render gave).
    title: String,
    /// The values of `w` in `window.html`, but its markup.
    fields: BTreeMap<&'static str, Value>,
    /// The portlet's markup (empty when it failed or is minimized).
    markup: String,
    /// Head resources its render asked for.
    head: Option<Vec<HeadResource>>,
}

impl WindowView {
    /// The whole `w` value.
    fn into_value(self) -> Value {
        let mut fields = self.fields;
        fields.insert("markup", Value::from_safe_string(self.markup));
        Value::from_pairs(fields)
    }
}

/// What the theme shows of one window, from what became of its render.
fn window_value(
    state: &State,
    lang: Lang,
    tab: &str,
    job: &WindowJob,
    outcome: Outcome,
    locked: bool,
) -> WindowView {
    let shown = Shown::of(lang, job, outcome);
    let fields = window_fields(state, lang, tab, job, &shown, locked);
    WindowView {
        title: shown.title,
        fields,
        markup: shown.markup,
        head: shown.head,
    }
}

/// What became of a window's render, as the page shows it.
struct Shown {
    title: String,
    markup: String,
    head: Option<Vec<HeadResource>>,
    /// The message of a failed window and whether it offers to retry.
    error: Option<(String, bool)>,
}

impl Shown {
    fn of(lang: Lang, job: &WindowJob, outcome: Outcome) -> Self {
        let mut shown = Shown {
            title: job.portlet.descriptor().title.get(lang.tag()).to_string(),
            markup: String::new(),
            head: None,
            error: None,
        };
        match outcome {
            Outcome::Rendered(r) => {
                if let Some(t) = r.title {
                    shown.title = t;
                }
                shown.markup = r.markup.into_string();
                shown.head = Some(r.head);
            }
            Outcome::Minimized => {}
            Outcome::Failed(e) => {
                tracing::debug!("window {} failed: {e}", job.window);
                shown.error = Some((lang.t("err_failed").to_string(), true));
            }
            Outcome::Panicked => shown.error = Some((lang.t("err_failed").to_string(), true)),
            Outcome::TimedOut => shown.error = Some((lang.t("err_timeout").to_string(), true)),
            Outcome::Quarantined => {
                shown.error = Some((lang.t("err_quarantine").to_string(), false));
            }
            Outcome::Maintenance(m) => {
                shown.error = Some((format!("{} : {m}", lang.t("err_maintenance")), false));
            }
        }
        shown
    }

    /// Everything [`window_fields`] reads, written out: the key of the window's frame in
    /// the memo (the page's values it reads are added there). Descriptors and the base
    /// path do not change while the portal runs; the portlet's id stands for them.
    fn frame_key(&self, tab: &str, job: &WindowJob, locked: bool) -> String {
        let mut key = String::with_capacity(128);
        let mut text = |t: &str| crate::memo::push_text(&mut key, t);
        text(&job.portlet.descriptor().id);
        text(tab);
        text(&job.window);
        text(job.mode.as_str());
        text(job.state.as_str());
        for (k, v) in &job.params {
            text(k);
            text(v);
        }
        text("|");
        text(&self.title);
        if let Some((message, retry)) = &self.error {
            text(message);
            text(if *retry { "retry" } else { "final" });
        }
        text(if locked { "locked" } else { "free" });
        key
    }
}

/// The values of `w` in `window.html` (but its markup).
fn window_fields(
    state: &State,
    lang: Lang,
    tab: &str,
    job: &WindowJob,
    shown: &Shown,
    locked: bool,
) -> BTreeMap<&'static str, Value> {
    let d = job.portlet.descriptor();
    let title = shown.title.as_str();
    let error = shown.error.clone();
    let urls = cartable_portlet::PortletUrls::new(&state.base, tab, &job.window);
    let ns = format!("w-{}", job.window);
    let mut v: BTreeMap<&'static str, Value> = BTreeMap::new();
    let here = {
        let mut u = urls.render();
        if job.mode != Mode::View {
            u = u.mode(job.mode);
        }
        if job.state == WindowState::Maximized {
            u = u.state(job.state);
        }
        for (k, val) in &job.params {
            u = u.param(k, val);
        }
        format!("{u}#{ns}")
    };
    if let Some((message, retry)) = error {
        v.insert(
            "error",
            Value::from_pairs([
                ("message", Value::from(message)),
                (
                    "retry_url",
                    if retry {
                        Value::from(here.clone())
                    } else {
                        Value::from(())
                    },
                ),
            ]),
        );
    }
    let minimized = job.state == WindowState::Minimized;
    let maximized = job.state == WindowState::Maximized;
    if d.supports_mode(Mode::Help) && d.modes.contains(&Mode::Help) && job.mode != Mode::Help {
        v.insert(
            "help_url",
            Value::from(format!("{}#{ns}", urls.render().mode(Mode::Help))),
        );
    }
    if d.modes.contains(&Mode::Edit) && job.mode != Mode::Edit {
        v.insert(
            "edit_url",
            Value::from(format!("{}#{ns}", urls.render().mode(Mode::Edit))),
        );
    }
    if job.mode != Mode::View || maximized {
        v.insert("view_url", Value::from(format!("{}#{ns}", urls.page())));
    }
    if !maximized && !minimized && d.supports_state(WindowState::Maximized) {
        v.insert(
            "maximize_url",
            Value::from(urls.render().state(WindowState::Maximized).to_string()),
        );
    }
    if !maximized {
        let (op, label) = if minimized {
            ("restore", lang.t("restore"))
        } else {
            ("minimize", lang.t("minimize"))
        };
        v.insert(
            "minimize",
            Value::from_pairs([
                ("url", Value::from(format!("{}/layout", state.base))),
                ("op", Value::from(op)),
                ("label", Value::from(label)),
            ]),
        );
    }
    v.insert("id", Value::from(job.window.as_str()));
    v.insert("tab", Value::from(tab));
    v.insert("namespace", Value::from(ns));
    v.insert("title", Value::from(title));
    v.insert("minimized", Value::from(minimized));
    v.insert("locked", Value::from(locked));
    v
}

// ---------------------------------------------------------------------------------------
// Actions, events, resources, preferences.

/// Run a portlet call in its own task under the portlet's deadline.
async fn guarded<T, F>(state: &State, portlet: &str, fut: F) -> Result<T, Fail>
where
    F: std::future::Future<Output = Result<T, PortletError>> + Send + 'static,
    T: Send + 'static,
{
    let deadline = state.config.deadline_for(portlet);
    let task = tokio::spawn(fut);
    let abort = task.abort_handle();
    match tokio::time::timeout(deadline, task).await {
        Err(_) => {
            abort.abort();
            state.container.health().record_timeout(portlet);
            Err(Fail::Unavailable(SocleError::Unavailable {
                backend: "portlet",
                detail: format!("{portlet} missed its deadline of {deadline:?}"),
            }))
        }
        Ok(Err(_)) => Err(Fail::Internal(format!("portlet {portlet} panicked"))),
        Ok(Ok(Err(e))) => Err(portlet_fail(e)),
        Ok(Ok(Ok(v))) => {
            state.container.health().record_success(portlet);
            Ok(v)
        }
    }
}

fn portlet_fail(e: PortletError) -> Fail {
    match e {
        PortletError::NotFound(_) => Fail::NotFound,
        PortletError::Forbidden => Fail::Forbidden,
        PortletError::BadRequest(m) => Fail::BadRequest(m),
        PortletError::Preference(p) => Fail::BadRequest(p.to_string()),
        PortletError::Conflict(_) => Fail::Conflict,
        PortletError::Socle(s) => Fail::from(s),
        PortletError::Template(m) | PortletError::Internal(m) => Fail::Internal(m),
    }
}

fn check_available(state: &State, portlet: &str) -> Result<(), Fail> {
    match state.container.health().availability(portlet) {
        Availability::Available => Ok(()),
        Availability::Quarantined | Availability::Maintenance(_) => {
            Err(Fail::Unavailable(SocleError::Unavailable {
                backend: "portlet",
                detail: format!("{portlet} is quarantined or under maintenance"),
            }))
        }
    }
}

fn form_without_csrf(req: &Request) -> Params {
    let mut form = req.form.clone();
    form.remove(crate::http::CSRF_FIELD);
    form
}

async fn action(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    tab: &str,
    window: &str,
) -> Handled {
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let portlet = portlet.clone();
    let id = portlet.descriptor().id.clone();
    check_available(state, &id)?;
    let lang = caller.lang;
    let csrf = caller.session.as_ref().map_or("", |s| s.csrf.as_str());
    let mut ctx = state
        .context(
            &*portlet,
            user.clone(),
            tab,
            &window,
            Mode::View,
            WindowState::Normal,
            req.portlet_params(),
            lang.tag(),
            csrf,
        )
        .await?;
    let request = ActionRequest {
        form: form_without_csrf(req),
    };
    let p = portlet.clone();
    // Whatever the action did, this user's fragments of the portlet may be stale.
    state.cache.invalidate(&id, &user.id);
    let (ctx, response): (_, ActionResponse) = guarded(state, &id, async move {
        let r = p.action(&mut ctx, request).await?;
        Ok((ctx, r))
    })
    .await?;
    // Other nodes' fragments of this portlet for this user are stale too.
    state
        .publish(cartable_socle::Change::Data {
            portlet: id.clone(),
            user: user.id.clone(),
        })
        .await;
    state
        .save_preference_changes(
            portlet.descriptor(),
            &user.id,
            &window,
            ctx.preferences.changes(),
            None,
        )
        .await?;
    deliver_events(state, caller, user, &layout, tab, response.events.clone()).await;
    let urls = cartable_portlet::PortletUrls::new(&state.base, tab, &window);
    let location =
        if response.params.is_empty() && response.mode.is_none() && response.state.is_none() {
            format!("{}#w-{window}", urls.page())
        } else {
            let mut u = urls.render();
            if let Some(m) = response.mode {
                u = u.mode(m);
            }
            if let Some(s) = response.state {
                u = u.state(s);
            }
            for (k, v) in &response.params {
                u = u.param(k, v);
            }
            format!("{u}#w-{window}")
        };
    Ok(redirect(&location))
}

/// Deliver events to the windows of the tab that consume them, breadth first, at most
/// [`MAX_EVENT_DEPTH`] rounds. A failing consumer is logged and skipped.
async fn deliver_events(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    layout: &Layout,
    tab: &str,
    mut events: Vec<Event>,
) {
    let Some(tab_layout) = layout.tab(tab) else {
        return;
    };
    let csrf = caller.session.as_ref().map_or("", |s| s.csrf.as_str());
    for _ in 0..MAX_EVENT_DEPTH {
        if events.is_empty() {
            return;
        }
        let mut next = Vec::new();
        for event in &events {
            for w in tab_layout.columns.iter().flatten() {
                let Some(portlet) = state.allowed_portlet(&w.portlet, user) else {
                    continue;
                };
                if !portlet.descriptor().consumes.contains(&event.name) {
                    continue;
                }
                let id = portlet.descriptor().id.clone();
                if check_available(state, &id).is_err() {
                    continue;
                }
                let ctx = state
                    .context(
                        &**portlet,
                        user.clone(),
                        tab,
                        &w.id,
                        Mode::View,
                        WindowState::Normal,
                        Params::new(),
                        caller.lang.tag(),
                        csrf,
                    )
                    .await;
                let Ok(mut ctx) = ctx else { continue };
                state.cache.invalidate(&id, &user.id);
                let p = portlet.clone();
                let ev = event.clone();
                let result = guarded(state, &id, async move {
                    let emitted = p.event(&mut ctx, &ev).await?;
                    Ok((ctx, emitted))
                })
                .await;
                state
                    .publish(cartable_socle::Change::Data {
                        portlet: id.clone(),
                        user: user.id.clone(),
                    })
                    .await;
                match result {
                    Ok((ctx, emitted)) => {
                        if let Err(e) = state
                            .save_preference_changes(
                                portlet.descriptor(),
                                &user.id,
                                &w.id,
                                ctx.preferences.changes(),
                                None,
                            )
                            .await
                        {
                            tracing::warn!(portlet = %id, "cannot save preferences after event: {e}");
                        }
                        next.extend(emitted);
                    }
                    Err(_) => {
                        tracing::warn!(portlet = %id, event = %event.name, "event handler failed")
                    }
                }
            }
        }
        events = next;
    }
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    tab: &str,
    window: &str,
    resource_id: &str,
) -> Handled {
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let portlet = portlet.clone();
    let id = portlet.descriptor().id.clone();
    check_available(state, &id)?;
    let csrf = caller.session.as_ref().map_or("", |s| s.csrf.as_str());
    let ctx = state
        .context(
            &*portlet,
            user.clone(),
            tab,
            &window,
            Mode::View,
            WindowState::Normal,
            req.portlet_params(),
            caller.lang.tag(),
            csrf,
        )
        .await?;
    let mut params = req.portlet_params();
    params.extend(form_without_csrf(req));
    let request = ResourceRequest {
        id: resource_id.to_string(),
        method: req.method.clone(),
        params,
        body: req.body.clone(),
    };
    let p = portlet.clone();
    let out = guarded(state, &id, async move { p.resource(&ctx, request).await }).await?;
    let mut r = Response::new(crate::http::full(out.body));
    *r.status_mut() = out.status;
    let ctype = HeaderValue::from_str(&out.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert(header::CONTENT_TYPE, ctype);
    if let Some(name) = out.attachment {
        let v = format!("attachment; filename=\"{}\"", safe_filename(&name));
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(r)
}

async fn save_prefs(
    state: &Arc<State>,
    user: &Arc<Person>,
    req: &Request,
    tab: &str,
    window: &str,
) -> Handled {
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let d = portlet.descriptor();
    let current = state.preferences(d, &user.id, &window).await?;
    let mut changes = Params::new();
    for spec in &d.preferences {
        let Some(value) = req.form.get(&spec.name) else {
            continue;
        };
        if current.is_locked(&spec.name) {
            // A locked field is disabled in the form; a forged value is ignored.
            continue;
        }
        spec.validate(value)
            .map_err(|reason| Fail::BadRequest(format!("{} : {reason}", spec.label.get("fr"))))?;
        changes.insert(spec.name.clone(), value.clone());
    }
    state
        .save_preference_changes(
            d,
            &user.id,
            &window,
            &changes,
            crate::nodes::parse_version(req.form.get("_version")),
        )
        .await?;
    Ok(redirect(&format!("{}/page/{tab}#w-{window}", state.base)))
}

// ---------------------------------------------------------------------------------------
// Layout editing.

async fn layout_page(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    tab_id: &str,
) -> Handled {
    let lang = caller.lang;
    let (layout, layout_version) = state.layout_versioned(user).await?;
    let tab = layout.tab(tab_id).ok_or(Fail::NotFound)?;
    let ncols = tab.columns.len();
    let columns: Vec<Value> = tab
        .columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let visible: Vec<_> = col
                .iter()
                .filter_map(|w| state.allowed_portlet(&w.portlet, user).map(|p| (w, p)))
                .collect();
            let n = visible.len();
            Value::from(
                visible
                    .into_iter()
                    .enumerate()
                    .map(|(r, (w, p))| {
                        let mut ops = Vec::new();
                        let mut op = |op: &str, dir: Option<&str>, label: &str| {
                            ops.push(Value::from_pairs([
                                ("op", Value::from(op)),
                                ("dir", Value::from(dir)),
                                ("label", Value::from(label)),
                            ]));
                        };
                        if r > 0 {
                            op("move", Some("up"), lang.t("move_up"));
                        }
                        if r + 1 < n {
                            op("move", Some("down"), lang.t("move_down"));
                        }
                        if c > 0 {
                            op("move", Some("left"), lang.t("move_left"));
                        }
                        if c + 1 < ncols {
                            op("move", Some("right"), lang.t("move_right"));
                        }
                        op("remove", None, lang.t("remove"));
                        Value::from_pairs([
                            ("id", Value::from(w.id.as_str())),
                            ("title", Value::from(p.descriptor().title.get(lang.tag()))),
                            ("locked", Value::from(w.locked)),
                            ("ops", Value::from(ops)),
                        ])
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let catalogue: Vec<Value> = state
        .order
        .iter()
        .filter_map(|id| state.allowed_portlet(id, user))
        .filter(|p| !layout.windows().any(|w| w.portlet == p.descriptor().id))
        .map(|p| {
            let d = p.descriptor();
            Value::from_pairs([
                ("id", Value::from(d.id.as_str())),
                ("title", Value::from(d.title.get(lang.tag()))),
                ("description", Value::from(d.description.get(lang.tag()))),
            ])
        })
        .collect();
    let heading = format!(
        "{} « {} »",
        lang.t("layout_heading"),
        tab.title_in(lang.tag())
    );
    let mut ctx = chrome(state, caller, &heading, &req.raw_path);
    ctx.insert("heading", Value::from(heading.as_str()));
    ctx.insert("tab", Value::from(tab_id));
    ctx.insert("tabs", tabs_value(state, &layout, tab_id, lang));
    ctx.insert("columns", Value::from(columns));
    ctx.insert("catalogue", Value::from(catalogue));
    ctx.insert("column_numbers", sv((0..ncols).collect::<Vec<_>>()));
    ctx.insert("layout_version", Value::from(layout_version.get()));
    ctx.insert(
        "back_url",
        Value::from(format!("{}/page/{tab_id}", state.base)),
    );
    if req.query.contains_key("done") {
        ctx.insert("notice", Value::from(lang.t("layout_saved")));
    }
    render_template(state, "layout.html", StatusCode::OK, ctx)
}

fn layout_fail(e: LayoutError) -> Fail {
    match e {
        LayoutError::Locked => Fail::Forbidden,
        LayoutError::NoWindow(_) | LayoutError::NoTab(_) => Fail::NotFound,
        other => Fail::BadRequest(other.to_string()),
    }
}

async fn layout_edit(state: &Arc<State>, user: &Arc<Person>, req: &Request) -> Handled {
    let field = |name: &str| req.form.get(name).map(String::as_str).unwrap_or("");
    let tab = field("tab");
    let window = field("window");
    let (mut layout, version) = state.layout_versioned(user).await?;
    // A form from a page built on another version of the layout (changed meanwhile in
    // another tab, on another device or node) is refused rather than applied blindly.
    if crate::nodes::parse_version(req.form.get("_version")).is_some_and(|v| v != version) {
        return Err(Fail::Conflict);
    }
    if layout.tab(tab).is_none() {
        return Err(Fail::NotFound);
    }
    let back_to_page = format!("{}/page/{tab}#w-{window}", state.base);
    let back_to_editor = format!("{}/layout/{tab}?done=1", state.base);
    let target = match field("op") {
        "add" => {
            let portlet = field("portlet");
            if !state.portlets.contains_key(portlet) {
                return Err(Fail::NotFound);
            }
            if state.allowed_portlet(portlet, user).is_none() {
                return Err(Fail::Forbidden);
            }
            let column = field("column").parse().unwrap_or(0);
            layout.add(tab, column, portlet).map_err(layout_fail)?;
            back_to_editor
        }
        "remove" => {
            layout.remove(window).map_err(layout_fail)?;
            back_to_editor
        }
        "move" => {
            let dir: Direction = field("dir").parse().map_err(layout_fail)?;
            layout.move_window(window, dir).map_err(layout_fail)?;
            back_to_editor
        }
        "minimize" | "restore" => {
            layout
                .set_minimized(window, field("op") == "minimize")
                .map_err(layout_fail)?;
            back_to_page
        }
        "reset" => {
            state.reset_layout(user).await?;
            return Ok(redirect(&back_to_editor));
        }
        other => {
            return Err(Fail::BadRequest(format!(
                "unknown layout operation {other:?}"
            )));
        }
    };
    state.save_layout(user, &layout, version).await?;
    Ok(redirect(&target))
}

// ---------------------------------------------------------------------------------------
// Administration.

pub(crate) async fn admin_page(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    new_password: Option<(&str, &str)>,
) -> Handled {
    let lang = caller.lang;
    let maintenance = state.container.health().maintenance();
    let portlets: Vec<Value> = state
        .order
        .iter()
        .filter_map(|id| state.portlets.get(id))
        .map(|p| {
            let d = p.descriptor();
            let status = match state.container.health().availability(&d.id) {
                Availability::Available => lang.t("status_ok"),
                Availability::Quarantined => lang.t("status_quarantined"),
                Availability::Maintenance(_) => lang.t("status_maintenance"),
            };
            Value::from_pairs([
                ("id", Value::from(d.id.as_str())),
                ("title", Value::from(d.title.get(lang.tag()))),
                ("status", Value::from(status)),
                ("maintenance", Value::from(maintenance.get(&d.id).cloned())),
            ])
        })
        .collect();
    let heading = lang.t("admin");
    let mut ctx = chrome(state, caller, heading, &req.raw_path);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("portlets", Value::from(portlets));
    let _ = user;
    if req.query.contains_key("done") {
        ctx.insert("notice", Value::from(lang.t("saved")));
    }
    if let Some((uid, password)) = new_password {
        ctx.insert(
            "new_password",
            Value::from_pairs([("uid", uid), ("password", password)]),
        );
    }
    ctx.insert(
        "can_set_password",
        Value::from(state.services.directory.can_set_passwords()),
    );
    ctx.insert(
        "accounts",
        Value::from(crate::account::ending_accounts(state, lang).await?),
    );
    render_template(state, "admin.html", StatusCode::OK, ctx)
}

async fn admin_maintenance(state: &Arc<State>, req: &Request) -> Handled {
    let portlet = req.form.get("portlet").map_or("", String::as_str);
    if !state.portlets.contains_key(portlet) {
        return Err(Fail::NotFound);
    }
    let message = req.form.get("message").map_or("", |m| m.trim());
    if message.chars().count() > 300 || message.chars().any(char::is_control) {
        return Err(Fail::BadRequest(
            "the maintenance message must be one line of at most 300 characters".into(),
        ));
    }
    let message = (!message.is_empty()).then(|| message.to_string());
    state.set_maintenance(portlet, message).await?;
    Ok(redirect(&format!("{}/admin?done=1", state.base)))
}
