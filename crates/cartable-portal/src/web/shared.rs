//! What every area of the web layer shares, and nothing else: the state handle, who is
//! calling ([`Caller`] and the extractors built on it), failures shown as the theme's
//! error page ([`Fail`]), the chrome of HTML pages, sessions and cookies, and the route
//! helpers that put the caller and CSRF layers on each route.
//!
//! Areas (`login`, `page`, `window`, `layout`, `account`, `admin`, `cas`) import this
//! module, never each other.
//!
//! How a request goes through a route made by [`get`], [`post`] or [`get_post`]:
//! 1. axum matches the path and the method (another method: `405` with `Allow`, before
//!    anything is loaded);
//! 2. the caller layer loads the session and the person ([`Caller`], `503` if the session
//!    store fails) and keeps it in the request's extensions;
//! 3. on a `POST`, the CSRF layer reads the body, refuses a request sent from another
//!    site, then one without the session's token (`403`), and keeps the form;
//! 4. the handler runs with its extractors ([`Cx`], [`User`], [`Admin`], [`Form`],
//!    [`Query`], [`WindowPath`]…); a [`Fail`] it returns comes back to the caller layer
//!    as a marker and leaves as the theme's error page, with the caller's language.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams};
use axum::handler::Handler;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use bytes::Bytes;
use cartable_portlet::{Params, Portlet, PortletError};
use cartable_socle::{Person, Profile, Session, SessionId, SocleError};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use minijinja::Value;
use minijinja::value::Serde;

use crate::http::{
    CSRF_FIELD, CSRF_HEADER, ReadError, clear_cookie, decode_segment, header_text, html, is_form,
    parse_params, parse_params_bytes, plausible_host, read_body, redirect, session_cookie,
    session_cookie_value,
};
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::security::{csrf_matches, is_cross_site, safe_redirect};
use crate::state::State;

/// The state every handler shares (one reference count per request).
pub(crate) type St = Arc<State>;

/// A handler's answer: a response, or a failure shown as the theme's error page.
pub(crate) type Handled = Result<Response, Fail>;

// ---------------------------------------------------------------------------------------
// Who is calling.

/// Everything known about the caller once the session is loaded.
pub(crate) struct Caller {
    /// The stored session, or an anonymous visit read from its signed cookie.
    pub session: Option<Session>,
    /// Whether `session` is an anonymous visit (`crate::visitor`): nothing stored.
    pub visitor: bool,
    pub user: Option<Arc<Person>>,
    pub lang: Lang,
}

impl Caller {
    /// Nobody known.
    pub(crate) fn anonymous() -> Caller {
        Caller {
            session: None,
            visitor: false,
            user: None,
            lang: Lang::Fr,
        }
    }

    /// The session's CSRF token (empty without a session).
    pub(crate) fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }

    /// Load the caller of a request from its session cookie.
    pub(crate) async fn load(state: &State, headers: &HeaderMap) -> Result<Caller, SocleError> {
        let cookie = session_cookie_value(headers);
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
}

/// The caller the caller layer loaded (or, for a handler mounted without it, loaded now).
async fn caller_of(parts: &Parts, st: &St) -> Result<Arc<Caller>, Response> {
    if let Some(caller) = parts.extensions.get::<Arc<Caller>>() {
        return Ok(caller.clone());
    }
    match Caller::load(st, &parts.headers).await {
        Ok(caller) => Ok(Arc::new(caller)),
        Err(e) => {
            tracing::error!("session store failed: {e}");
            Err(error_page(
                st,
                &Caller::anonymous(),
                Fail::Unavailable(e).page(),
            ))
        }
    }
}

/// The handler's context: the portal's state and who is calling.
pub(crate) struct Cx {
    pub st: St,
    pub caller: Arc<Caller>,
}

impl FromRequestParts<St> for Cx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, Response> {
        Ok(Cx {
            st: st.clone(),
            caller: caller_of(parts, st).await?,
        })
    }
}

/// A logged-in user. Without one, a `GET` is sent to the login form (to come back
/// here), anything else is refused (`403`).
pub(crate) struct User(pub Arc<Person>);

impl FromRequestParts<St> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, Response> {
        match &caller_of(parts, st).await?.user {
            Some(user) => Ok(User(user.clone())),
            None => Err(login_first(st, parts)),
        }
    }
}

/// Send an anonymous `GET` to the login form, `next` being where she was going.
fn login_first(st: &State, parts: &Parts) -> Response {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        let next: String = form_urlencoded::byte_serialize(raw_path(parts).as_bytes()).collect();
        redirect(&format!("{}/login?next={next}", st.base))
    } else {
        Fail::Forbidden.into_response()
    }
}

/// A logged-in administrator (a user who is not one: `403`).
pub(crate) struct Admin(pub Arc<Person>);

impl FromRequestParts<St> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, Response> {
        let User(user) = User::from_request_parts(parts, st).await?;
        if is_admin(&user) {
            Ok(Admin(user))
        } else {
            Err(Fail::Forbidden.into_response())
        }
    }
}

/// Whether a person administers the portal.
pub(crate) fn is_admin(user: &Person) -> bool {
    user.has_profile(&Profile::Admin)
}

// ---------------------------------------------------------------------------------------
// What the request carries.

/// The query's fields (first value wins).
pub(crate) struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(
            parts.uri.query().map(parse_params).unwrap_or_default(),
        ))
    }
}

/// The path and query as the browser sent them (for `next` redirects and the language
/// switch).
pub(crate) struct Here(pub String);

fn raw_path(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str())
}

impl<S: Send + Sync> FromRequestParts<S> for Here {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Here(raw_path(parts).to_string()))
    }
}

/// The client's address (for login throttling): from the server's
/// [`ConnectInfo`] extension, unspecified when it is missing.
pub(crate) struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// The `Host` header, when it is a plausible host name.
pub(crate) struct Host(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Host {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Host(plausible_host(&parts.headers).map(str::to_string)))
    }
}

/// The path's parameters as matched (still percent-encoded).
async fn raw_params<S: Send + Sync>(parts: &mut Parts, st: &S) -> Option<RawPathParams> {
    RawPathParams::from_request_parts(parts, st).await.ok()
}

/// The last segment of a route with one parameter (`/page/{tab}`, `/lang/{tag}`…),
/// percent-decoded.
pub(crate) struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, Self::Rejection> {
        let params = raw_params(parts, st).await;
        let last = params.as_ref().and_then(|p| p.iter().last());
        Ok(Segment(
            last.map(|(_, v)| decode_segment(v)).unwrap_or_default(),
        ))
    }
}

/// The window a URL names: `…/{tab}/{window}[/{id}]` (`id`: a resource's, else empty),
/// percent-decoded.
pub(crate) struct WindowPath {
    pub tab: String,
    pub window: String,
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for WindowPath {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, Self::Rejection> {
        let mut path = WindowPath {
            tab: String::new(),
            window: String::new(),
            id: String::new(),
        };
        if let Some(params) = raw_params(parts, st).await {
            for (name, value) in &params {
                match name {
                    "tab" => path.tab = decode_segment(value),
                    "window" => path.window = decode_segment(value),
                    "id" => path.id = decode_segment(value),
                    _ => {}
                }
            }
        }
        Ok(path)
    }
}

/// A request's body, read whole (at most `MAX_BODY`), and its fields when it is an
/// urlencoded form. A `GET` has none. The CSRF layer reads it first and leaves it in the
/// request's extensions.
#[derive(Clone, Default)]
pub(crate) struct Posted {
    pub body: Bytes,
    pub form: Params,
}

impl Posted {
    async fn read(parts: &Parts, body: axum::body::Body) -> Result<Posted, ReadError> {
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Ok(Posted::default());
        }
        let body = read_body(body).await?;
        let form = if is_form(&parts.headers) {
            parse_params_bytes(&body)
        } else {
            Params::new()
        };
        Ok(Posted { body, form })
    }

    /// The form without its CSRF token (what a portlet is given).
    pub(crate) fn form_without_csrf(&self) -> Params {
        let mut form = self.form.clone();
        form.remove(CSRF_FIELD);
        form
    }
}

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        if let Some(posted) = parts.extensions.remove::<Posted>() {
            return Ok(posted);
        }
        if parts.extensions.get::<crate::upload::Pending>().is_some() {
            return Err(takes_no_files());
        }
        Posted::read(&parts, body).await.map_err(|e| e.response())
    }
}

/// `415` to a `multipart/form-data` POST sent where no files are taken (its CSRF token
/// was not checked: nothing of it is read).
fn takes_no_files() -> Response {
    crate::http::text(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "This form takes no files: send it as application/x-www-form-urlencoded",
    )
}

/// What a window call's `POST` carries: a body read whole ([`Posted`], its CSRF token
/// checked), or a `multipart/form-data` body left to stream, whose token the handler
/// checks among its first fields (`crate::upload`). A `GET` carries an empty [`Posted`].
pub(crate) enum Submitted {
    Posted(Posted),
    Multipart {
        headers: HeaderMap,
        body: axum::body::Body,
    },
}

impl<S: Send + Sync> FromRequest<S> for Submitted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, st: &S) -> Result<Self, Response> {
        if req.extensions().get::<crate::upload::Pending>().is_some() {
            let (parts, body) = req.into_parts();
            return Ok(Submitted::Multipart {
                headers: parts.headers,
                body,
            });
        }
        Ok(Submitted::Posted(Posted::from_request(req, st).await?))
    }
}

/// The fields of an urlencoded form (first value wins).
pub(crate) struct Form(pub Params);

impl Form {
    /// A field, or `""`.
    pub(crate) fn field(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, st: &S) -> Result<Self, Response> {
        Ok(Form(Posted::from_request(req, st).await?.form))
    }
}

// ---------------------------------------------------------------------------------------
// Failures.

/// A failure shown as an error page.
pub(crate) enum Fail {
    NotFound,
    /// Someone changed what the form was built from; reload and try again.
    Conflict,
    Forbidden,
    BadRequest(String),
    /// A form refused outside an action (a resource call): 422 with its messages.
    Invalid(String),
    Unavailable(SocleError),
    /// A portlet missed its deadline (504).
    TimedOut(String),
    Internal(String),
}

/// A window call the container refused or that failed: the container's status
/// ([`CallError::status`](cartable_container::CallError::status)) decides the page.
impl From<cartable_container::CallError> for Fail {
    fn from(e: cartable_container::CallError) -> Self {
        use cartable_container::CallError;
        match e {
            CallError::Portlet(PortletError::BadRequest(m)) => Fail::BadRequest(m),
            CallError::Portlet(PortletError::Invalid(form)) => Fail::Invalid(
                form.messages()
                    .iter()
                    .map(|m| m.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            CallError::Portlet(PortletError::Socle(s)) => Fail::from(s),
            e => match e.status() {
                StatusCode::NOT_FOUND => Fail::NotFound,
                StatusCode::FORBIDDEN => Fail::Forbidden,
                StatusCode::CONFLICT => Fail::Conflict,
                StatusCode::BAD_REQUEST => Fail::BadRequest(e.to_string()),
                StatusCode::SERVICE_UNAVAILABLE => Fail::Unavailable(SocleError::Unavailable {
                    backend: "portlet",
                    detail: e.to_string(),
                }),
                StatusCode::GATEWAY_TIMEOUT => Fail::TimedOut(e.to_string()),
                _ => Fail::Internal(e.to_string()),
            },
        }
    }
}

impl From<SocleError> for Fail {
    fn from(e: SocleError) -> Self {
        match &e {
            SocleError::Conflict { .. } => Fail::Conflict,
            SocleError::Forbidden { .. } => {
                tracing::warn!("refused: {e}");
                Fail::Forbidden
            }
            _ => Fail::Unavailable(e),
        }
    }
}

/// The error page to show for a [`Fail`]: what travels back to the caller layer in the
/// response's extensions (the cause was logged on the way).
#[derive(Clone, Debug)]
pub(crate) enum ErrorPage {
    NotFound,
    Conflict,
    Forbidden,
    BadRequest(String),
    Invalid(String),
    Unavailable,
    TimedOut,
    Internal,
}

impl Fail {
    /// Log what the user is not shown, and keep what she is.
    pub(crate) fn page(self) -> ErrorPage {
        match self {
            Fail::NotFound => ErrorPage::NotFound,
            Fail::Conflict => ErrorPage::Conflict,
            Fail::Forbidden => ErrorPage::Forbidden,
            Fail::BadRequest(m) => ErrorPage::BadRequest(m),
            Fail::Invalid(m) => ErrorPage::Invalid(m),
            Fail::Unavailable(e) => {
                tracing::error!("socle unavailable: {e}");
                ErrorPage::Unavailable
            }
            Fail::TimedOut(e) => {
                tracing::warn!("{e}");
                ErrorPage::TimedOut
            }
            Fail::Internal(e) => {
                tracing::error!("internal error: {e}");
                ErrorPage::Internal
            }
        }
    }
}

impl IntoResponse for Fail {
    /// A marker the caller layer turns into the error page.
    fn into_response(self) -> Response {
        let page = self.page();
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = page.status();
        r.extensions_mut().insert(page);
        r
    }
}

impl ErrorPage {
    fn status(&self) -> StatusCode {
        match self {
            ErrorPage::NotFound => StatusCode::NOT_FOUND,
            ErrorPage::Conflict => StatusCode::CONFLICT,
            ErrorPage::Forbidden => StatusCode::FORBIDDEN,
            ErrorPage::BadRequest(_) => StatusCode::BAD_REQUEST,
            ErrorPage::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorPage::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorPage::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            ErrorPage::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The theme's error page.
pub(crate) fn error_page(state: &State, caller: &Caller, page: ErrorPage) -> Response {
    let lang = caller.lang;
    let status = page.status();
    let (heading, message) = match page {
        ErrorPage::NotFound => (lang.t("err_not_found"), lang.t("err_not_found_msg").into()),
        ErrorPage::Conflict => (lang.t("err_conflict"), lang.t("err_conflict_msg").into()),
        ErrorPage::Forbidden => (lang.t("err_forbidden"), lang.t("err_forbidden_msg").into()),
        ErrorPage::BadRequest(m) | ErrorPage::Invalid(m) => (lang.t("err_bad_request"), m),
        ErrorPage::Unavailable => (
            lang.t("err_unavailable"),
            lang.t("err_unavailable_msg").to_string(),
        ),
        ErrorPage::TimedOut => (lang.t("err_unavailable"), lang.t("err_timeout").into()),
        ErrorPage::Internal => (lang.t("err_internal"), lang.t("err_internal_msg").into()),
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

// ---------------------------------------------------------------------------------------
// The layers of a portal route, and the routes made with them.

/// The caller layer: load the caller, keep it for the extractors, and turn a [`Fail`]
/// marker into the error page.
async fn with_caller(
    axum::extract::State(st): axum::extract::State<St>,
    mut req: axum::extract::Request,
    next: Next,
) -> Response {
    let caller = match Caller::load(&st, req.headers()).await {
        Ok(caller) => Arc::new(caller),
        Err(e) => {
            tracing::error!("session store failed: {e}");
            return error_page(&st, &Caller::anonymous(), Fail::Unavailable(e).page());
        }
    };
    req.extensions_mut().insert(caller.clone());
    let mut response = next.run(req).await;
    match response.extensions_mut().remove::<ErrorPage>() {
        Some(page) => error_page(&st, &caller, page),
        None => response,
    }
}

/// The CSRF layer, on every route that changes state (`POST`): the body is read, a
/// request sent from another site is refused, then one without the session's token.
async fn csrf(
    axum::extract::State(st): axum::extract::State<St>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let caller = match req.extensions().get::<Arc<Caller>>() {
        Some(caller) => caller.clone(),
        None => return Fail::Forbidden.into_response(),
    };
    match check_post(&st, &caller, req).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

/// Read a `POST`'s body and check where it comes from and its token; the request comes
/// back with its body and its [`Posted`] fields.
pub(crate) async fn check_post(
    st: &State,
    caller: &Caller,
    req: axum::extract::Request,
) -> Result<axum::extract::Request, Response> {
    let (mut parts, body) = req.into_parts();
    let headers = &parts.headers;
    let origin = header_text(headers, header::ORIGIN);
    if is_cross_site(
        header_text(headers, "sec-fetch-site"),
        origin,
        plausible_host(headers),
        st.config.auth.public_url.as_ref(),
    ) {
        tracing::info!(path = %raw_path(&parts), ?origin, "POST refused: sent from another site");
        return Err(Fail::Forbidden.into_response());
    }
    if crate::upload::is_multipart(headers) {
        // Files are not read here: the window they are posted to reads the token from
        // the body's first fields, before any file (`crate::upload`); any other handler
        // refuses the body unread ([`Posted`]).
        parts.extensions.insert(crate::upload::Pending);
        return Ok(axum::extract::Request::from_parts(parts, body));
    }
    let posted = Posted::read(&parts, body).await.map_err(|e| e.response())?;
    let headers = &parts.headers;
    let submitted = posted
        .form
        .get(CSRF_FIELD)
        .map(String::as_str)
        .or(header_text(headers, CSRF_HEADER));
    if !csrf_matches(caller.csrf(), submitted) {
        tracing::info!(path = %raw_path(&parts), "POST refused: missing or wrong CSRF token");
        return Err(Fail::Forbidden.into_response());
    }
    let body = axum::body::Body::from(posted.body.clone());
    parts.extensions.insert(posted);
    Ok(axum::extract::Request::from_parts(parts, body))
}

const GET: &str = "GET, HEAD";
const POST: &str = "POST";
const GET_POST: &str = "GET, HEAD, POST";

/// `405 Method Not Allowed`, with the methods the path does answer.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = crate::http::text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn not_allowed(allow: &'static str) -> impl Handler<((),), St> {
    move || async move { method_not_allowed(allow) }
}

macro_rules! caller_layer {
    ($st:expr) => {
        axum::middleware::from_fn_with_state($st.clone(), with_caller)
    };
}

macro_rules! csrf_layer {
    ($st:expr) => {
        axum::middleware::from_fn_with_state($st.clone(), csrf)
    };
}

/// A route answering `GET` (and `HEAD`) with `handler`.
pub(crate) fn get<H, T>(st: &St, handler: H) -> MethodRouter<St>
where
    H: Handler<T, St>,
    T: 'static,
{
    axum::routing::get(handler)
        .route_layer(caller_layer!(st))
        .fallback(not_allowed(GET))
}

/// A route answering `GET` (and `HEAD`) with `handler`, without the caller: for what is
/// the same for everyone and never an error page (the theme's files). Loading the
/// session there cost a static file a third of its instructions.
pub(crate) fn get_public<H, T>(handler: H) -> MethodRouter<St>
where
    H: Handler<T, St>,
    T: 'static,
{
    axum::routing::get(handler).fallback(not_allowed(GET))
}

/// A route answering `POST` with `handler`, behind the CSRF layer.
pub(crate) fn post<H, T>(st: &St, handler: H) -> MethodRouter<St>
where
    H: Handler<T, St>,
    T: 'static,
{
    axum::routing::post(handler)
        .route_layer(csrf_layer!(st))
        .route_layer(caller_layer!(st))
        .fallback(not_allowed(POST))
}

/// A route answering `GET` with `on_get` and `POST` with `on_post` (behind the CSRF
/// layer).
pub(crate) fn get_post<G, TG, P, TP>(st: &St, on_get: G, on_post: P) -> MethodRouter<St>
where
    G: Handler<TG, St>,
    TG: 'static,
    P: Handler<TP, St>,
    TP: 'static,
{
    let get = axum::routing::get(on_get).route_layer(caller_layer!(st));
    let post = axum::routing::post(on_post)
        .route_layer(csrf_layer!(st))
        .route_layer(caller_layer!(st));
    get.merge(post).fallback(not_allowed(GET_POST))
}

/// Like [`get_post`], but the `POST` comes from another server (a back channel, such as
/// a CAS server's single logout): no CSRF layer.
pub(crate) fn get_post_back_channel<G, TG, P, TP>(
    st: &St,
    on_get: G,
    on_post: P,
) -> MethodRouter<St>
where
    G: Handler<TG, St>,
    TG: 'static,
    P: Handler<TP, St>,
    TP: 'static,
{
    axum::routing::get(on_get)
        .post(on_post)
        .route_layer(caller_layer!(st))
        .fallback(not_allowed(GET_POST))
}

/// The answer to a path no route has, after what any portal path goes through: outside
/// the base path a plain `404`; else the caller is loaded, a `POST` is checked like any
/// other, an anonymous `GET` goes to the login form, anything else anonymous is refused,
/// and a user gets `404` (`403` under `/admin`).
pub(crate) async fn not_routed(st: St, req: axum::extract::Request) -> Response {
    let path = req.uri().path();
    let rest = path.strip_prefix(st.base.as_str());
    if !rest.is_some_and(|r| r.is_empty() || r.starts_with('/')) {
        return ReadError::OutsideBase.response();
    }
    let first = rest
        .unwrap_or_default()
        .split('/')
        .find(|s| !s.is_empty())
        .map(decode_segment);
    let caller = match Caller::load(&st, req.headers()).await {
        Ok(caller) => caller,
        Err(e) => {
            tracing::error!("session store failed: {e}");
            return error_page(&st, &Caller::anonymous(), Fail::Unavailable(e).page());
        }
    };
    let req = if req.method() == Method::POST {
        match check_post(&st, &caller, req).await {
            Ok(req) => req,
            Err(mut refused) => {
                return match refused.extensions_mut().remove::<ErrorPage>() {
                    Some(page) => error_page(&st, &caller, page),
                    None => refused,
                };
            }
        }
    } else {
        req
    };
    let (parts, _) = req.into_parts();
    let page = match &caller.user {
        None if parts.method == Method::GET || parts.method == Method::HEAD => {
            return login_first(&st, &parts);
        }
        None => ErrorPage::Forbidden,
        Some(_) if first.as_deref() == Some("admin") => ErrorPage::Forbidden,
        Some(_) => ErrorPage::NotFound,
    };
    error_page(&st, &caller, page)
}

// ---------------------------------------------------------------------------------------
// Pages of the chrome: common template values, templates, tabs, windows.

/// A value for a template, through serde.
pub(crate) fn sv<T: serde::Serialize>(x: T) -> Value {
    Value::from(Serde(x))
}

/// The values every page of the theme reads: language, strings, établissement, user…
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
    c.insert("csrf", Value::from(caller.csrf()));
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
        if state.allowed_portlet(HELP_PORTLET, user).is_some() {
            c.insert("help_url", Value::from(format!("{}/aide", state.base)));
            c.insert("report_url", Value::from(report_url(state, here, None)));
        }
    }
    c.insert("head_styles", sv(Vec::<String>::new()));
    c.insert("head_scripts", sv(Vec::<String>::new()));
    c
}

/// The id of the portlet the page footer links to for help and problem reports (the
/// `cartable-aide` service's): no link when the ENT has none or the user may not see it.
pub(crate) const HELP_PORTLET: &str = "aide";

/// The footer's "report a problem" link: `/aide/signaler` with the page the user is on
/// and, when one window is shown, its service (portlet id).
pub(crate) fn report_url(state: &State, here: &str, service: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("page", here);
    if let Some(service) = service {
        query.append_pair("service", service);
    }
    format!("{}/aide/signaler?{}", state.base, query.finish())
}

/// Render one of the theme's templates.
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

/// The tab bar of a user's layout.
pub(crate) fn tabs_value(state: &State, layout: &Layout, current: &str, lang: Lang) -> Value {
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

/// Find a window of the user's layout and check she may use its portlet. A window that
/// is not on her layout but names a portlet she may not see answers 403, not 404.
pub(crate) fn resolve_window<'a>(
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

// ---------------------------------------------------------------------------------------
// Sessions and cookies.

/// A response that also sets a cookie.
pub(crate) fn with_cookie(mut r: Response, value: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, value);
    r
}

/// The session cookie of a stored session.
pub(crate) fn cookie_for(state: &State, session: &Session) -> HeaderValue {
    raw_cookie(state, session.id.as_str())
}

/// The session cookie carrying `value` (a session id, or an anonymous visit).
pub(crate) fn raw_cookie(state: &State, value: &str) -> HeaderValue {
    session_cookie(
        value,
        &state.base,
        state.config.secure_cookies,
        state.session_ttl.as_secs(),
    )
}

/// A response that also removes the session cookie.
pub(crate) fn without_session(state: &State, response: Response) -> Response {
    with_cookie(
        response,
        clear_cookie(&state.base, state.config.secure_cookies),
    )
}

/// Where to go next: `next` if it is a path of this portal, else `fallback`.
pub(crate) fn next_target<'a>(state: &State, next: Option<&'a str>, fallback: &'a str) -> &'a str {
    next.map_or(fallback, |n| safe_redirect(n, &state.base, fallback))
}

/// Open a session for a person who just proved who she is, and send her on.
pub(crate) async fn open_session(
    state: &State,
    caller: &Caller,
    person: Person,
    next: &str,
) -> Result<(Response, SessionId), Fail> {
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

/// End a portal session: delete it, then tell every CAS service that validated a ticket
/// in it (in the background: a slow service does not hold the user's logout).
pub(crate) async fn end_session(state: &State, session: &Session) -> Result<(), SocleError> {
    state.sessions.delete_session(&session.id).await?;
    state
        .cas
        .single_logout(session.id.as_str(), state.clock.now());
    Ok(())
}

/// The absolute URL of a portal path: on the configured public URL, else on the `Host`
/// the request was sent to.
pub(crate) fn absolute_url(
    state: &State,
    host: Option<&str>,
    path: &str,
) -> Result<url::Url, Fail> {
    let mut url = match (&state.config.auth.public_url, host) {
        (Some(public), _) => public.clone(),
        (None, Some(host)) => url::Url::parse(&format!("http://{host}/"))
            .map_err(|_| Fail::BadRequest("unreadable Host header".into()))?,
        (None, None) => {
            return Err(Fail::Internal(
                "no [auth] public_url and no Host header: cannot build an absolute URL of the portal"
                    .into(),
            ));
        }
    };
    url.set_path(&format!("{}{path}", state.base));
    url.set_query(None);
    Ok(url)
}
