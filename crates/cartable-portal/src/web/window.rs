//! Window calls: a portlet's action, its resources and the generic preference form.
//! Each call is admitted (the window is on the user's layout, its portlet is hers and
//! available), then run by the portlet container (`cartable-container`) in a task of
//! its own under the portlet's deadline ([`guarded`]); a failure gets the container's
//! status.
//!
//! | URL | what |
//! |---|---|
//! | `POST /action/{tab}/{window}` | a portlet action, then a redirect (PRG) |
//! | `GET,POST /resource/{tab}/{window}/{id}` | a portlet resource, nothing else rendered |
//! | `POST /prefs/{tab}/{window}` | the generic preference form |

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cartable_container::CallError;
use cartable_container::Progress;
use cartable_portlet::upload::Uploads;
use cartable_portlet::{
    ActionRequest, ActionResponse, Event, Mode, Params, PortletError, ResourceRequest, WindowState,
};
use cartable_socle::Person;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::shared::{
    self, Caller, Cx, Fail, Form, Handled, Query, St, Submitted, User, WindowPath, resolve_window,
};
use crate::http::{portlet_params, redirect, safe_filename};
use crate::layout::Layout;
use crate::state::State;

/// How deep events may cascade (an event handler emitting events…).
const MAX_EVENT_DEPTH: usize = 3;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(
            &format!("{base}/action/{{tab}}/{{window}}"),
            shared::post(st, action),
        )
        .route(
            &format!("{base}/resource/{{tab}}/{{window}}/{{id}}"),
            shared::get_post(st, resource, resource),
        )
        .route(
            &format!("{base}/prefs/{{tab}}/{{window}}"),
            shared::post(st, save_prefs),
        )
}

/// Run a portlet call through the container: in a task of its own under the portlet's
/// deadline, its failure mapped to the container's status.
async fn guarded<T, F>(state: &State, portlet: &str, fut: F) -> Result<T, Fail>
where
    F: std::future::Future<Output = Result<T, PortletError>> + Send + 'static,
    T: Send + 'static,
{
    Ok(state.container.invoke(portlet, fut).await?)
}

fn check_available(state: &State, portlet: &str) -> Result<(), Fail> {
    Ok(state.container.check_available(portlet)?)
}

/// `POST /action/{tab}/{window}`: the portlet's action, the events it emitted, then a
/// redirect to the page (post/redirect/get).
async fn action(
    cx: Cx,
    User(user): User,
    path: WindowPath,
    Query(query): Query,
    submitted: Submitted,
) -> Handled {
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let (tab, window) = (path.tab.as_str(), path.window.as_str());
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let portlet = portlet.clone();
    let id = portlet.descriptor().id.clone();
    check_available(state, &id)?;
    let lang = caller.lang;
    let csrf = caller.csrf();
    let mut ctx = state
        .context(
            &*portlet,
            user.clone(),
            tab,
            &window,
            Mode::View,
            WindowState::Normal,
            portlet_params(&query),
            lang.tag(),
            csrf,
            None,
        )
        .await?;
    let body = match CallBody::read(submitted, portlet.descriptor().upload_limit, caller).await {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let (request, body) = body.into_action();
    state.record_uses(user, [id.as_str()], cartable_socle::indicators::Use::Action);
    let p = portlet.clone();
    // Whatever the action did, this user's fragments of the portlet may be stale.
    state.cache.invalidate(&id, &user.id);
    let call = async move {
        let r = p.action(&mut ctx, request).await?;
        Ok((ctx, r))
    };
    let called = match &body.progress {
        Some(progress) => {
            state
                .container
                .invoke_with_progress(&id, progress.clone(), call)
                .await
        }
        None => state.container.invoke(&id, call).await,
    };
    if let Some(refused) = body.over_limit() {
        return Ok(refused);
    }
    let (ctx, response): (_, ActionResponse) = match called {
        Ok(done) => done,
        Err(CallError::Portlet(PortletError::Invalid(form))) => {
            // Nothing was done: show the window again with the form as typed.
            return refused(state, user, tab, &window, &query, *form).await;
        }
        Err(e) => return Err(e.into()),
    };
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

/// Redirect to the window after its action refused the form: the form is kept for that
/// render (`crate::forms`), the URL names it by a token and keeps the window's parameters.
async fn refused(
    state: &State,
    user: &Person,
    tab: &str,
    window: &str,
    query: &Params,
    form: cartable_portlet::form::InvalidForm,
) -> Handled {
    let token = crate::forms::keep(
        &*state.services.storage,
        crate::state::PORTAL_DATA,
        &*state.clock,
        &user.id,
        window,
        form,
    )
    .await?;
    let mut url = cartable_portlet::PortletUrls::new(&state.base, tab, window).render();
    for (k, v) in portlet_params(query) {
        url = url.param(&k, v);
    }
    let url = url.to_string();
    let join = if url.contains('?') { '&' } else { '?' };
    // The fragment points at the window's summary of the messages (see `page`).
    Ok(redirect(&format!(
        "{url}{join}{}={token}#w-{window}-form-errors",
        crate::forms::FORM_PARAM
    )))
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
    let csrf = caller.csrf();
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
                        None,
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

/// `GET` or `POST /resource/{tab}/{window}/{id}`: what the portlet answers, as it
/// answers it (JSON, a download…); nothing else is rendered.
async fn resource(
    cx: Cx,
    User(user): User,
    path: WindowPath,
    method: Method,
    Query(query): Query,
    headers: HeaderMap,
    submitted: Submitted,
) -> Handled {
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let (tab, window, resource_id) = (path.tab.as_str(), path.window.as_str(), path.id.as_str());
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let portlet = portlet.clone();
    let id = portlet.descriptor().id.clone();
    check_available(state, &id)?;
    let csrf = caller.csrf();
    let ctx = state
        .context(
            &*portlet,
            user.clone(),
            tab,
            &window,
            Mode::View,
            WindowState::Normal,
            portlet_params(&query),
            caller.lang.tag(),
            csrf,
            None,
        )
        .await?;
    let mut body = match CallBody::read(submitted, portlet.descriptor().upload_limit, caller).await
    {
        Ok(body) => body,
        Err(refused) => return Ok(refused),
    };
    let mut params = portlet_params(&query);
    params.extend(std::mem::take(&mut body.form));
    let request = ResourceRequest {
        id: resource_id.to_string(),
        // HEAD is answered as GET.
        method: if method == Method::HEAD {
            Method::GET
        } else {
            method
        },
        params,
        body: std::mem::take(&mut body.raw),
        files: std::mem::take(&mut body.files),
    };
    state.record_uses(
        user,
        [id.as_str()],
        cartable_socle::indicators::Use::Resource,
    );
    let p = portlet.clone();
    let call = async move { p.resource(&ctx, request).await };
    let out = match &body.progress {
        Some(progress) => {
            state
                .container
                .invoke_with_progress(&id, progress.clone(), call)
                .await
        }
        None => state.container.invoke(&id, call).await,
    };
    if let Some(refused) = body.over_limit() {
        return Ok(refused);
    }
    let out = out?;
    if let Some(file) = out.file {
        let Some(files) = &state.services.files else {
            return Err(Fail::Internal(
                "a portlet answered a stored file, but the portal has no file store".into(),
            ));
        };
        return Ok(crate::download::respond(files, file, out.attachment, &headers).await);
    }
    let mut r = Response::new(axum::body::Body::from(out.body));
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

/// The body of a window call, as its portlet receives it.
struct CallBody {
    /// Form fields without `_csrf` (of a multipart body: those before its first file).
    form: Params,
    /// The raw body of a POST that is neither a form nor multipart.
    raw: Bytes,
    /// The files of a multipart body.
    files: Uploads,
    /// Ticked as a multipart body arrives (the call's deadline counts from it).
    progress: Option<Progress>,
    /// Set when a multipart body went past the portlet's limit.
    limit: Option<crate::upload::Limit>,
}

impl CallBody {
    /// Read what `submitted` carries: a multipart body is held to `limit` (`0`: the
    /// portlet takes no files) and must carry the session's CSRF token before its first
    /// file. `Err`: the answer already decided (413, 415, 400, 408, 403).
    async fn read(submitted: Submitted, limit: u64, caller: &Caller) -> Result<Self, Response> {
        let (headers, body) = match submitted {
            Submitted::Posted(posted) => {
                return Ok(CallBody {
                    form: posted.form_without_csrf(),
                    raw: posted.body,
                    files: Uploads::none(),
                    progress: None,
                    limit: None,
                });
            }
            Submitted::Multipart { headers, body } => (headers, body),
        };
        if limit == 0 {
            return Err(crate::http::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This window takes no files",
            ));
        }
        let progress = Progress::new();
        let declared = crate::upload::content_length(&headers);
        let (mut form, reader) =
            match crate::upload::read_fields(&headers, body, limit, progress.clone()).await {
                Ok(read) => read,
                Err(crate::upload::MultipartError::TooLarge { limit }) => {
                    tracing::info!(limit, ?declared, "multipart body refused: over the limit");
                    return Err(too_large(limit));
                }
                Err(crate::upload::MultipartError::TooSlow) => {
                    return Err(crate::http::ReadError::TooSlow.response());
                }
                Err(e) => return Err(Fail::BadRequest(e.to_string()).into_response()),
            };
        let submitted = form.remove(crate::http::CSRF_FIELD).or_else(|| {
            crate::http::header_text(&headers, crate::http::CSRF_HEADER).map(str::to_string)
        });
        if !crate::security::csrf_matches(caller.csrf(), submitted.as_deref()) {
            tracing::info!("multipart POST refused: missing or wrong CSRF token before its files");
            return Err(Fail::Forbidden.into_response());
        }
        let limit = reader.limit();
        Ok(CallBody {
            form,
            raw: Bytes::new(),
            files: reader.into_uploads(),
            progress: Some(progress),
            limit: Some(limit),
        })
    }

    /// The action request, and what stays to check after the call.
    fn into_action(mut self) -> (ActionRequest, Self) {
        let request = ActionRequest {
            form: std::mem::take(&mut self.form),
            files: std::mem::take(&mut self.files),
        };
        (request, self)
    }

    /// `413` when the multipart body went past the portlet's limit, whatever the portlet
    /// answered (the file cut there was not kept).
    fn over_limit(&self) -> Option<Response> {
        self.limit
            .as_ref()
            .filter(|l| l.exceeded())
            .map(|_| too_large(0))
    }
}

/// `413 Payload Too Large`, the connection closed after it.
fn too_large(limit: u64) -> Response {
    let mut r = crate::http::ReadError::TooLarge.response();
    if limit > 0 {
        let message = format!(
            "Request body too large: this window accepts at most {limit} bytes; send a smaller file"
        );
        *r.body_mut() = axum::body::Body::from(message);
    }
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// `POST /prefs/{tab}/{window}`: the generic preference form (locked fields ignored),
/// saved if nobody changed the preferences since the form was built.
async fn save_prefs(cx: Cx, User(user): User, path: WindowPath, Form(form): Form) -> Handled {
    let (state, user) = (&cx.st, &user);
    let (tab, window) = (path.tab.as_str(), path.window.as_str());
    let layout = state.layout(user).await?;
    let (window, portlet) = resolve_window(state, &layout, user, tab, window)?;
    let d = portlet.descriptor();
    let current = state.preferences(d, &user.id, &window).await?;
    let changes = cartable_container::preference_form_changes(d, &current, &form)?;
    state
        .save_preference_changes(
            d,
            &user.id,
            &window,
            &changes,
            crate::nodes::parse_version(form.get("_version")),
        )
        .await?;
    Ok(redirect(&format!("{}/page/{tab}#w-{window}", state.base)))
}
