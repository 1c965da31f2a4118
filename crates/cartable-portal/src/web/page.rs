//! Pages: a tab of the user's layout, every window rendered concurrently under its
//! deadline, streamed window by window in document order; and the theme's static files.
//!
//! | URL | what |
//! |---|---|
//! | `GET /` | the first tab of the user's layout |
//! | `GET /page/{tab}` | a page: every window of the tab (streamed, see [`stream_page`]) |
//! | `GET /page/{tab}/{window}?mode=&state=&p.x=` | the page with one window targeted (sent whole) |
//! | `GET /theme/{file}` | theme static files |

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use cartable_portlet::form::InvalidForm;
use cartable_portlet::markup::escape;
use cartable_portlet::{HeadResource, Markup, Mode, Params, WindowState};
use cartable_socle::Person;
use http::{HeaderValue, StatusCode, header};
use minijinja::Value;

use super::shared::{
    self, Cx, Fail, Handled, Here, Query, Segment, St, User, WindowPath, chrome, render_template,
    resolve_window, sv, tabs_value,
};
use crate::aggregate::{Outcome, WindowJob, render_all, spawn_all};
use crate::http::{portlet_params, redirect};
use crate::i18n::Lang;
use crate::memo::Segments;
use crate::state::State;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    let mut router = Router::new()
        .route(&format!("{base}/"), shared::get(st, home))
        .route(&format!("{base}/page/{{tab}}"), shared::get(st, tab_page))
        .route(
            &format!("{base}/page/{{tab}}/{{window}}"),
            shared::get(st, window_page),
        )
        .route(
            &format!("{base}/theme/{{file}}"),
            shared::get_public(static_file),
        );
    if !base.is_empty() {
        // `/ent` as well as `/ent/`.
        router = router.route(base, shared::get(st, home));
    }
    router
}

/// `GET /`: the first tab of the user's layout.
async fn home(cx: Cx, User(user): User) -> Handled {
    let layout = cx.st.layout(&user).await?;
    let first = layout.tabs.first().map_or("accueil", |t| t.id.as_str());
    Ok(redirect(&format!("{}/page/{first}", cx.st.base)))
}

/// `GET /page/{tab}`.
async fn tab_page(cx: Cx, User(user): User, Segment(tab): Segment, Here(here): Here) -> Handled {
    page(&cx, &user, &tab, None, &Params::new(), &here).await
}

/// `GET /page/{tab}/{window}`: `mode`, `state` and `p.*` parameters are the window's.
async fn window_page(
    cx: Cx,
    User(user): User,
    path: WindowPath,
    Query(query): Query,
    Here(here): Here,
) -> Handled {
    page(&cx, &user, &path.tab, Some(&path.window), &query, &here).await
}

/// `GET /theme/{file}`: the theme's CSS, scripts and images, cached an hour; a plain
/// `404` for any other name (no session is read: the files are everyone's).
async fn static_file(
    axum::extract::State(st): axum::extract::State<St>,
    Segment(file): Segment,
) -> Response {
    let Some((ctype, bytes)) = st.theme.static_file(&file) else {
        return crate::http::text(StatusCode::NOT_FOUND, "Not found");
    };
    let mut r = Response::new(axum::body::Body::from(bytes.clone()));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

// ---------------------------------------------------------------------------------------
// Pages and windows.

fn parse_mode(query: &Params) -> Result<Mode, Fail> {
    query.get("mode").map_or(Ok(Mode::View), |m| {
        m.parse().map_err(|e| Fail::BadRequest(format!("{e}")))
    })
}

fn parse_state(query: &Params) -> Result<WindowState, Fail> {
    query.get("state").map_or(Ok(WindowState::Normal), |s| {
        s.parse().map_err(|e| Fail::BadRequest(format!("{e}")))
    })
}

/// A page of the user's layout, with `target` the window its parameters are for.
async fn page(
    cx: &Cx,
    user: &Arc<Person>,
    tab_id: &str,
    target: Option<&str>,
    query: &Params,
    here: &str,
) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let (layout, layout_version) = state.layout_versioned(user).await?;
    let tab = layout.tab(tab_id).ok_or(Fail::NotFound)?;
    let target = match target {
        None => None,
        Some(w) => {
            let (id, portlet) = resolve_window(state, &layout, user, tab_id, w)?;
            let mode = parse_mode(query)?;
            let wstate = parse_state(query)?;
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
    // The form the targeted window's last action refused (`crate::forms`), shown once.
    let form = match (&target, query.get(crate::forms::FORM_PARAM)) {
        (Some((id, _, _)), Some(token)) => crate::forms::take(
            &*state.services.storage,
            crate::state::PORTAL_DATA,
            &*state.clock,
            &user.id,
            id,
            token,
        )
        .await?
        .map(Arc::new),
        _ => None,
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
                Some((_, mode, wstate)) => (*mode, *wstate, portlet_params(query)),
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
                form: targeted.and(form.clone()),
            });
        }
        if !maximized || !jobs.is_empty() {
            columns.push(jobs);
        }
    }
    let csrf = caller.csrf();
    let shape: Vec<usize> = columns.iter().map(Vec::len).collect();
    let jobs: Vec<WindowJob> = columns.into_iter().flatten().collect();
    let mut ctx = chrome(state, caller, tab.title_in(lang.tag()), here);
    // A page showing one window reports problems about its service.
    if let Some((id, _, _)) = &target
        && ctx.contains_key("report_url")
        && let Some(w) = layout.window(tab_id, id)
    {
        let url = shared::report_url(state, here, Some(&w.portlet));
        ctx.insert("report_url", Value::from(url));
    }
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
    let mut windows = Vec::with_capacity(outcomes.len());
    let mut page_title = tab.title_in(lang.tag()).to_string();
    for (job, outcome) in outcomes {
        let outcome = match (&job.form, outcome) {
            (Some(form), Outcome::Rendered(mut response)) => {
                let summary = form_summary(lang, &job.window, form);
                response.markup =
                    Markup::trusted_html(format!("{summary}{}", response.markup.as_str()));
                Outcome::Rendered(response)
            }
            (_, outcome) => outcome,
        };
        let is_locked = locked.get(&job.window).copied().unwrap_or(false);
        let shown = Shown::of(lang, &job, outcome);
        // A window in help or edit mode, maximized, or shown with parameters (a search…)
        // gives the page a title of its own ("Aide – Bloc-notes – Accueil").
        let mode_label = match job.mode {
            Mode::View => None,
            Mode::Help => Some(lang.t("help")),
            Mode::Edit => Some(lang.t("edit")),
        };
        if maximized || mode_label.is_some() || !job.params.is_empty() {
            page_title = format!("{} – {page_title}", shown.title);
        }
        if let Some(label) = mode_label {
            page_title = format!("{label} – {page_title}");
        }
        for h in shown.head.iter().flatten() {
            match h {
                HeadResource::Stylesheet(u) if !styles.contains(u) => styles.push(u.clone()),
                HeadResource::Script(u) if !scripts.contains(u) => scripts.push(u.clone()),
                _ => {}
            }
        }
        windows.push((job, shown, is_locked));
    }
    ctx.insert("page_title", Value::from(page_title));
    ctx.insert("head_styles", sv(styles));
    ctx.insert("head_scripts", sv(scripts));
    if let Some(response) = whole_page(state, lang, tab_id, &ctx, &shape, &windows, csrf) {
        return Ok(response);
    }
    // A theme without window places: every window through the page template.
    let mut iter = windows.into_iter().map(|(job, shown, is_locked)| {
        let mut fields = window_fields(state, lang, tab_id, &job, &shown, is_locked);
        fields.insert("markup", Value::from_safe_string(shown.markup));
        Value::from_pairs(fields)
    });
    let columns: Vec<Value> = shape
        .iter()
        .map(|n| Value::from(iter.by_ref().take(*n).collect::<Vec<_>>()))
        .collect();
    ctx.insert("columns", Value::from(columns));
    render_template(state, "page.html", StatusCode::OK, ctx)
}

/// A page with every window rendered, written from the memo as a streamed page is (the
/// chrome and each window's frame rendered once per distinct value), in one body. `None`
/// when the theme's `page.html` has no window places: the caller renders it whole.
fn whole_page(
    state: &State,
    lang: Lang,
    tab: &str,
    ctx: &BTreeMap<&'static str, Value>,
    shape: &[usize],
    windows: &[(WindowJob, Shown, bool)],
    csrf: &str,
) -> Option<Response> {
    let mut chrome = ctx.clone();
    chrome.insert("columns", placeholders(shape));
    let crate::memo::Chrome { pieces, personal } =
        state.memo.page(&state.theme, chrome, WINDOW_MARKER).ok()?;
    if pieces.len() != windows.len() + 1 {
        return None;
    }
    let markup: usize = windows.iter().map(|(_, s, _)| s.markup.len()).sum();
    let size: usize = pieces.iter().map(Segments::len).sum::<usize>() + markup;
    let mut out = Vec::with_capacity(size + 1024 * windows.len());
    let mut pieces = pieces.iter();
    pieces.next()?.write_with(&mut out, csrf, "", &personal);
    let scope = state.memo.window_scope(ctx);
    for ((job, shown, locked), piece) in windows.iter().zip(pieces) {
        let key = shown.frame_key(tab, job, *locked);
        let fields = || window_fields(state, lang, tab, job, shown, *locked);
        match state.memo.window(&state.theme, ctx, &scope, &key, fields) {
            Ok(frame) => frame.write(&mut out, csrf, &shown.markup),
            Err(e) => tracing::error!("window template failed: {e}"),
        }
        piece.write_with(&mut out, csrf, "", &personal);
    }
    Some(crate::http::html(StatusCode::OK, out))
}

/// The page's `columns` with a window place in each window's stead.
fn placeholders(shape: &[usize]) -> Value {
    let placeholder = Value::from_pairs([(
        "placeholder",
        Value::from_safe_string(WINDOW_MARKER.to_string()),
    )]);
    Value::from(
        shape
            .iter()
            .map(|n| Value::from(vec![placeholder.clone(); *n]))
            .collect::<Vec<_>>(),
    )
}

/// The summary a window shows above a form its action refused: how many messages, each
/// linked to its field (`<ns>-<field>`, the guide's convention for ids), in an alert the
/// redirect's fragment points at.
fn form_summary(lang: Lang, window: &str, form: &InvalidForm) -> String {
    let ns = format!("w-{window}");
    let mut html = format!(
        r#"<div class="form-errors" role="alert" tabindex="-1" id="{ns}-form-errors"><p>{}</p><ul>"#,
        escape(&lang.t_args(
            "form_refused",
            &cartable_i18n::args! { "n" => form.messages().len() }
        ))
    );
    for m in form.messages() {
        match &m.field {
            Some(field) => html.push_str(&format!(
                r##"<li><a href="#{ns}-{}">{}</a></li>"##,
                escape(field),
                escape(&m.message)
            )),
            None => html.push_str(&format!("<li>{}</li>", escape(&m.message))),
        }
    }
    html.push_str("</ul></div>");
    html
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
) -> Result<Response, Vec<WindowJob>> {
    let csrf = ctx
        .get("csrf")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let globals = ctx.clone();
    ctx.insert("columns", placeholders(shape));
    let Ok(crate::memo::Chrome { pieces, personal }) =
        state.memo.page(&state.theme, ctx, WINDOW_MARKER)
    else {
        return Err(jobs);
    };
    if pieces.len() != jobs.len() + 1 {
        return Err(jobs);
    }
    let handles = spawn_all(state, user, tab_id, lang.tag(), &csrf, &jobs);
    let (tx, body) = crate::http::channel(jobs.len() + 2);
    let state = state.clone();
    let tab = tab_id.to_string();
    let scope = state.memo.window_scope(&globals);
    tokio::spawn(async move {
        let chrome: usize = pieces.iter().map(Segments::len).sum();
        let mut out = Vec::with_capacity(chrome + 2048 * jobs.len());
        let mut pieces = pieces.iter();
        if let Some(head) = pieces.next() {
            head.write_with(&mut out, &csrf, "", &personal);
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
            let outcome = crate::aggregate::joined(&state, &job, done);
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
            match state
                .memo
                .window(&state.theme, &globals, &scope, &key, fields)
            {
                Ok(frame) => {
                    // Room for the whole window at once: a large markup would otherwise
                    // be copied again each time the buffer doubles.
                    out.reserve(frame.len() + shown.markup.len() + piece.len());
                    frame.write(&mut out, &csrf, &shown.markup)
                }
                Err(e) => tracing::error!("window template failed: {e}"),
            }
            piece.write_with(&mut out, &csrf, "", &personal);
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
