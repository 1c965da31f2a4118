//! Page aggregation: every window of a page renders concurrently, each in its own task
//! under its deadline; whatever one portlet does, the others and the page are intact.

use std::sync::Arc;

use cartable_portlet::{Mode, Params, Portlet, PortletError, RenderResponse, WindowState};
use cartable_socle::Person;

use crate::cache::FragmentCache;
use crate::health::Availability;
use crate::state::State;

/// One window to render.
pub(crate) struct WindowJob {
    pub window: String,
    pub portlet: Arc<dyn Portlet>,
    pub mode: Mode,
    pub state: WindowState,
    pub params: Params,
    /// Only the title bar is shown: the portlet is not called.
    pub minimized: bool,
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

/// Render every job concurrently; the result is in the jobs' order.
pub(crate) async fn render_all(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    jobs: Vec<WindowJob>,
) -> Vec<(WindowJob, Outcome)> {
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let fut = render_one(state, user, tab, locale, csrf, &job, true);
            (job, fut)
        })
        .map(|(job, fut)| async move {
            let outcome = fut.await;
            (job, outcome)
        })
        .collect();
    futures::future::join_all(handles).await
}

/// Start every job at once, each in its own task; the handles are in the jobs' order
/// (a streamed page awaits them in document order while they all run). A panic ends
/// only its task: its handle reports it.
pub(crate) fn spawn_all(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    jobs: &[WindowJob],
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    jobs.iter()
        .map(|job| tokio::spawn(render_one(state, user, tab, locale, csrf, job, false)))
        .collect()
}

/// Render one job under its deadline. With `isolate`, the portlet runs in a task of its
/// own, so that a panic does not reach the caller (the caller already runs this in a
/// task of its own otherwise).
fn render_one(
    state: &Arc<State>,
    user: &Arc<Person>,
    tab: &str,
    locale: &str,
    csrf: &str,
    job: &WindowJob,
    isolate: bool,
) -> impl std::future::Future<Output = Outcome> + Send + 'static + use<> {
    let id = job.portlet.descriptor().id.clone();
    let early = if job.minimized {
        Some(Outcome::Minimized)
    } else {
        match state.health.availability(&id) {
            Availability::Available => None,
            Availability::Quarantined => Some(Outcome::Quarantined),
            Availability::Maintenance(m) => Some(Outcome::Maintenance(m)),
        }
    };
    let deadline = state.config.deadline_for(&id);
    let cached = FragmentCache::key(
        job.portlet.descriptor().cache,
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
    let (mode, wstate, params) = (job.mode, job.state, job.params.clone());
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
                )
                .await?;
            portlet.render(&ctx).await
        };
        let finished = if isolate {
            let task = tokio::spawn(render);
            let abort = task.abort_handle();
            let finished = tokio::time::timeout(deadline, task).await;
            if finished.is_err() {
                abort.abort();
            }
            finished
        } else {
            tokio::time::timeout(deadline, render)
                .await
                .map(Ok::<_, tokio::task::JoinError>)
        };
        match finished {
            Err(_) => {
                state.health.record_timeout(&id);
                tracing::warn!(portlet = %id, ?deadline, "render missed its deadline");
                Outcome::TimedOut
            }
            Ok(Err(join_error)) => {
                state.health.record_success(&id);
                if join_error.is_panic() {
                    tracing::error!(portlet = %id, "render panicked");
                    Outcome::Panicked
                } else {
                    Outcome::Failed(PortletError::Internal("render cancelled".into()))
                }
            }
            Ok(Ok(Err(e))) => {
                state.health.record_success(&id);
                tracing::warn!(portlet = %id, "render failed: {e}");
                Outcome::Failed(e)
            }
            Ok(Ok(Ok(response))) => {
                state.health.record_success(&id);
                match cached {
                    Some((key, ttl)) => {
                        Outcome::Rendered(state.cache.put(key, ttl, response, &csrf))
                    }
                    None => Outcome::Rendered(response),
                }
            }
        }
    }
}
