//! Page aggregation: every window of a page renders concurrently, each in its own task
//! under its deadline; whatever one portlet does, the others and the page are intact.

use std::sync::Arc;

use cartable_portlet::{Mode, Params, Portlet, PortletError, RenderResponse, WindowState};
use cartable_socle::Person;

use crate::cache::FragmentCache;
use crate::state::State;
use cartable_container::CallError;

/// One window to render.
pub(crate) struct WindowJob {
    pub window: String,
    pub portlet: Arc<dyn Portlet>,
    pub mode: Mode,
    pub state: WindowState,
    pub params: Params,
    /// Only the title bar is shown: the portlet is not called.
    pub minimized: bool,
    /// The form the window's last action refused, shown again on this render.
    pub form: Option<Arc<cartable_portlet::form::InvalidForm>>,
}

/// What became of one window.
pub(crate) enum Outcome {
    /// The portlet answered.
    Rendered(RenderResponse),
    /// Minimized: not called.
    Minimized,
    /// The portlet returned an error.
    Failed(PortletError),
    /// The portlet panicked.
    Panicked,
    /// The portlet missed its deadline.
    TimedOut,
    /// The portlet is quarantined after repeated timeouts.
    Quarantined,
    /// An admin put the portlet in maintenance.
    Maintenance(String),
}

impl From<CallError> for Outcome {
    fn from(e: CallError) -> Self {
        match e {
            CallError::TimedOut { .. } => Outcome::TimedOut,
            CallError::Panicked { .. } => Outcome::Panicked,
            CallError::Quarantined { .. } => Outcome::Quarantined,
            CallError::Maintenance { message, .. } => Outcome::Maintenance(message),
            CallError::Portlet(e) => Outcome::Failed(e),
            other => Outcome::Failed(other.into()),
        }
    }
}

/// Render every job concurrently, each in its own task; the result is in the jobs'
/// order.
pub(crate) async fn render_all(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    jobs: Vec<WindowJob>,
) -> Vec<(WindowJob, Outcome)> {
    let handles = spawn_all(state, user, tab, locale, csrf, &jobs);
    let mut out = Vec::with_capacity(jobs.len());
    for (job, handle) in jobs.into_iter().zip(handles) {
        let outcome = joined(state, &job, handle.await);
        out.push((job, outcome));
    }
    out
}

/// The outcome of a window's task: what it answered, or [`Outcome::Panicked`] if the
/// task ended without an answer (the container logs it).
pub(crate) fn joined(
    state: &State,
    job: &WindowJob,
    done: Result<Outcome, tokio::task::JoinError>,
) -> Outcome {
    match done {
        Ok(outcome) => outcome,
        Err(e) => Outcome::from(state.container.task_lost(&job.portlet.descriptor().id, &e)),
    }
}

/// Start every job at once, each in its own task; the handles are in the jobs' order
/// (a streamed page awaits them in document order while they all run). A panic ends
/// only its task: its handle reports it ([`joined`]). One task per window: the portlet
/// is called in it under its deadline (`Container::invoke_in_task`).
pub(crate) fn spawn_all(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    jobs: &[WindowJob],
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    // Every window shown (not minimized) is a view of its service.
    state.record_uses(
        user,
        jobs.iter()
            .filter(|job| !job.minimized)
            .map(|job| job.portlet.descriptor().id.as_str()),
        cartable_socle::indicators::Use::View,
    );
    jobs.iter()
        .map(|job| tokio::spawn(render_one(state, user, tab, locale, csrf, job)))
        .collect()
}

/// Render one job through the container, in the task [`spawn_all`] gives it: admitted
/// if available, called under its deadline (a panic or a late answer becomes the
/// window's error box).
fn render_one(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    job: &WindowJob,
) -> impl std::future::Future<Output = Outcome> + Send + 'static + use<> {
    let id = job.portlet.descriptor().id.clone();
    let early = if job.minimized {
        Some(Outcome::Minimized)
    } else {
        state
            .container
            .check_available(&id)
            .err()
            .map(Outcome::from)
    };
    // A window showing a refused form is the user's alone, and shown once: never cached.
    let cache_policy = if job.form.is_some() {
        cartable_portlet::CachePolicy::NoCache
    } else {
        job.portlet.descriptor().cache
    };
    let cached = FragmentCache::key(
        cache_policy,
        &id,
        &user.id,
        tab,
        &job.window,
        job.mode,
        job.state,
        &job.params,
        locale,
    );
    let early = early.or_else(|| {
        let (key, _) = cached.as_ref()?;
        state.cache.get(key, csrf).map(Outcome::Rendered)
    });
    let state = state.clone();
    let user = user.clone();
    let portlet = job.portlet.clone();
    let (tab, window, locale, csrf) = (
        tab.to_string(),
        job.window.clone(),
        locale.to_string(),
        csrf.to_string(),
    );
    let (mode, wstate, params, form) = (job.mode, job.state, job.params.clone(), job.form.clone());
    async move {
        if let Some(outcome) = early {
            return outcome;
        }
        let task_state = state.clone();
        // A cacheable fragment is rendered with the placeholder token (see `cache`).
        let render_csrf = if cached.is_some() {
            state.cache.placeholder().to_string()
        } else {
            csrf.clone()
        };
        let render = async move {
            let ctx = task_state
                .context(
                    &*portlet,
                    user,
                    &tab,
                    &window,
                    mode,
                    wstate,
                    params,
                    &locale,
                    &render_csrf,
                    form,
                )
                .await?;
            portlet.render(&ctx).await
        };
        // Boxed: the window's task then holds a pointer, not the whole call, and its
        // spawn copies less (docs/performance.md).
        match state.container.invoke_in_task(&id, Box::pin(render)).await {
            Err(e) => Outcome::from(e),
            Ok(response) => match cached {
                Some((key, ttl)) => Outcome::Rendered(state.cache.put(key, ttl, response, &csrf)),
                None => Outcome::Rendered(response),
            },
        }
    }
}
