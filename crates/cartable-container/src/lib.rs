//! The portlet container: the one place that decides how a portlet is called.
//!
//! The portal's pages, its window calls (action, resource, event, preferences), the remote
//! producer and the test kit all call a portlet through a [`Container`], so they cannot
//! disagree on:
//!
//! - **admission** ([`Container::admit`]): may this user call this portlet, in this mode
//!   and window state, right now (not quarantined, not in maintenance)?
//! - **the CSRF rule** ([`take_csrf`]): a state-changing call carries the session's token;
//! - **preferences** ([`layer_preferences`], [`preference_form_changes`],
//!   [`save_preference_changes`]): descriptor default < établissement (maybe locked) <
//!   user, and a versioned save that never loses a concurrent change;
//! - **invocation** ([`Container::invoke`]): the portlet runs in a task of its own under
//!   its deadline; a panic or a late answer becomes an error, never a broken page or a
//!   dead server, and repeated timeouts put the portlet in quarantine ([`Health`]);
//! - **one error-to-status mapping** ([`CallError::status`]).
//!
//! The container knows no HTTP server: it speaks `http::StatusCode` and the portlet
//! contract, nothing more.
//!
//! ```
//! use std::time::Duration;
//! use cartable_container::{CallError, Container};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let container = Container::builder().deadline(Duration::from_millis(50)).build();
//! let late = container
//!     .invoke("slow", async {
//!         tokio::time::sleep(Duration::from_secs(5)).await;
//!         Ok::<_, cartable_portlet::PortletError>(())
//!     })
//!     .await;
//! assert!(matches!(late, Err(CallError::TimedOut { .. })));
//! assert_eq!(late.unwrap_err().status(), http::StatusCode::GATEWAY_TIMEOUT);
//! # }
//! ```

mod error;
mod health;
mod preferences;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cartable_portlet::{Descriptor, Mode, Params, WindowState};
use cartable_socle::Person;
use subtle::ConstantTimeEq;

pub use error::CallError;
pub use health::{Availability, Health};
pub use preferences::{layer_preferences, preference_form_changes, save_preference_changes};

/// The form field that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// What a portal or producer sets up once and every call shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Container {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    deadline: Duration,
    deadlines: HashMap<String, Duration>,
    health: Health,
}

/// Builds a [`Container`]: its deadlines and quarantine rule.
#[derive(Debug, Clone)]
pub struct ContainerBuilder {
    deadline: Duration,
    deadlines: HashMap<String, Duration>,
    quarantine_after: u32,
    quarantine_for: Duration,
}

impl Default for ContainerBuilder {
    fn default() -> Self {
        ContainerBuilder {
            deadline: Duration::from_millis(Container::DEFAULT_DEADLINE_MS),
            deadlines: HashMap::new(),
            quarantine_after: 3,
            quarantine_for: Duration::from_secs(60),
        }
    }
}

impl ContainerBuilder {
    /// How long any portlet may take to answer one call (default 3 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// A deadline of its own for one portlet.
    pub fn deadline_for(mut self, portlet: &str, deadline: Duration) -> Self {
        self.deadlines.insert(portlet.to_string(), deadline);
        self
    }

    /// Quarantine a portlet for `duration` after `timeouts` missed deadlines in a row
    /// (default: 3 in a row, 60 s).
    pub fn quarantine(mut self, timeouts: u32, duration: Duration) -> Self {
        self.quarantine_after = timeouts;
        self.quarantine_for = duration;
        self
    }

    /// The container.
    pub fn build(self) -> Container {
        Container {
            inner: Arc::new(Inner {
                deadline: self.deadline,
                deadlines: self.deadlines,
                health: Health::new(self.quarantine_after, self.quarantine_for),
            }),
        }
    }
}

impl Default for Container {
    fn default() -> Self {
        Container::builder().build()
    }
}

impl Container {
    /// The deadline of a portlet call when nothing else is configured, in milliseconds.
    pub const DEFAULT_DEADLINE_MS: u64 = 3_000;

    /// Start building a container.
    pub fn builder() -> ContainerBuilder {
        ContainerBuilder::default()
    }

    /// The deadline of one portlet's calls.
    pub fn deadline_for(&self, portlet: &str) -> Duration {
        self.inner
            .deadlines
            .get(portlet)
            .copied()
            .unwrap_or(self.inner.deadline)
    }

    /// Every portlet's health: quarantine and maintenance.
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Whether the portlet may be called right now (not quarantined, not in maintenance).
    pub fn check_available(&self, portlet: &str) -> Result<(), CallError> {
        match self.inner.health.availability(portlet) {
            Availability::Available => Ok(()),
            Availability::Quarantined => Err(CallError::Quarantined {
                portlet: portlet.to_string(),
            }),
            Availability::Maintenance(message) => Err(CallError::Maintenance {
                portlet: portlet.to_string(),
                message,
            }),
        }
    }

    /// Whether `user` may call the portlet in `mode` and `state` now: its audience takes
    /// her profiles, its descriptor declares the mode and the state, and it is available.
    /// The checks run in that order, so a user outside the audience learns nothing more.
    pub fn admit(
        &self,
        descriptor: &Descriptor,
        user: &Person,
        mode: Mode,
        state: WindowState,
    ) -> Result<(), CallError> {
        admit_user(descriptor, user)?;
        if !descriptor.supports_mode(mode) {
            return Err(CallError::UnsupportedMode {
                portlet: descriptor.id.clone(),
                mode,
            });
        }
        if !descriptor.supports_state(state) {
            return Err(CallError::UnsupportedState {
                portlet: descriptor.id.clone(),
                state,
            });
        }
        self.check_available(&descriptor.id)
    }

    /// Run one portlet call in a task of its own under the portlet's deadline.
    ///
    /// A late call is cancelled and counts towards quarantine; a panic ends only its
    /// task; an answer in time (whatever it is) clears the timeout count. One task per
    /// call: the deadline runs inside it ([`Container::invoke_in_task`]).
    pub async fn invoke<T, F>(&self, portlet: &str, call: F) -> Result<T, CallError>
    where
        F: Future<Output = Result<T, cartable_portlet::PortletError>> + Send + 'static,
        T: Send + 'static,
    {
        let container = self.clone();
        let id = portlet.to_string();
        let task = tokio::spawn(async move { container.invoke_in_task(&id, call).await });
        match task.await {
            Ok(result) => result,
            Err(join_error) => Err(self.task_lost(portlet, &join_error)),
        }
    }

    /// Like [`invoke`](Self::invoke), for a call that reads a request body as it comes
    /// (a streamed upload): the deadline counts from the last time `progress` moved, so a
    /// long upload whose bytes keep arriving is never cut, while a portlet that stalls
    /// for a whole deadline with nothing arriving is. The host ticks `progress` as the
    /// body's bytes arrive.
    pub async fn invoke_with_progress<T, F>(
        &self,
        portlet: &str,
        progress: Progress,
        call: F,
    ) -> Result<T, CallError>
    where
        F: Future<Output = Result<T, cartable_portlet::PortletError>> + Send + 'static,
        T: Send + 'static,
    {
        let container = self.clone();
        let id = portlet.to_string();
        let task = tokio::spawn(async move {
            let deadline = container.deadline_for(&id);
            let mut call = std::pin::pin!(call);
            let mut seen = progress.count();
            loop {
                match tokio::time::timeout(deadline, call.as_mut()).await {
                    Ok(result) => {
                        container.inner.health.record_success(&id);
                        return result.map_err(|e| {
                            tracing::warn!(portlet = %id, "portlet call failed: {e}");
                            CallError::Portlet(e)
                        });
                    }
                    Err(_) => {
                        let now = progress.count();
                        if now != seen {
                            seen = now;
                            continue;
                        }
                        container.inner.health.record_timeout(&id);
                        tracing::warn!(portlet = %id, ?deadline, "portlet call missed its deadline");
                        return Err(CallError::TimedOut {
                            portlet: id.clone(),
                            deadline,
                        });
                    }
                }
            }
        });
        match task.await {
            Ok(result) => result,
            Err(join_error) => Err(self.task_lost(portlet, &join_error)),
        }
    }

    /// Run one portlet call on the current task under the portlet's deadline, for a
    /// caller that already gave the call a task of its own (a page starts every window's
    /// task at once): a panic unwinds to that task's handle, which the caller turns into
    /// [`CallError::Panicked`] with [`Container::task_lost`]. Without such a task, use
    /// [`Container::invoke`].
    pub async fn invoke_in_task<T, F>(&self, portlet: &str, call: F) -> Result<T, CallError>
    where
        F: Future<Output = Result<T, cartable_portlet::PortletError>>,
    {
        let deadline = self.deadline_for(portlet);
        match tokio::time::timeout(deadline, call).await {
            Err(_) => {
                self.inner.health.record_timeout(portlet);
                tracing::warn!(portlet, ?deadline, "portlet call missed its deadline");
                Err(CallError::TimedOut {
                    portlet: portlet.to_string(),
                    deadline,
                })
            }
            Ok(result) => {
                self.inner.health.record_success(portlet);
                result.map_err(|e| {
                    tracing::warn!(portlet, "portlet call failed: {e}");
                    CallError::Portlet(e)
                })
            }
        }
    }

    /// The error of a call whose task ended without an answer: it panicked (logged), or
    /// was aborted because nobody waits for it any more.
    pub fn task_lost(&self, portlet: &str, join_error: &tokio::task::JoinError) -> CallError {
        self.inner.health.record_success(portlet);
        if join_error.is_panic() {
            tracing::error!(portlet, "portlet call panicked");
        }
        CallError::Panicked {
            portlet: portlet.to_string(),
        }
    }
}

/// How far a request body has come, for [`Container::invoke_with_progress`]: the host
/// ticks it as bytes arrive. Cheap to clone (one shared counter).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    /// A counter at zero.
    pub fn new() -> Self {
        Progress::default()
    }

    /// Record that `bytes` more arrived.
    pub fn tick(&self, bytes: u64) {
        self.0.fetch_add(bytes.max(1), Ordering::Relaxed);
    }

    /// How many bytes arrived so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether the portlet's audience takes the user's profiles (the first admission check,
/// for callers that learn the mode and state later).
pub fn admit_user(descriptor: &Descriptor, user: &Person) -> Result<(), CallError> {
    if descriptor.audience.allows(&user.profiles) {
        Ok(())
    } else {
        Err(CallError::Forbidden {
            portlet: descriptor.id.clone(),
        })
    }
}

/// Whether `submitted` is the session's token, compared in constant time. An empty
/// expected token (no session) matches nothing.
pub fn csrf_matches(expected: &str, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) if !expected.is_empty() => expected.as_bytes().ct_eq(s.as_bytes()).into(),
        _ => false,
    }
}

/// Check and remove the [`CSRF_FIELD`] of a state-changing call's form: missing or not the
/// session's token is refused ([`CallError::Csrf`]), and the portlet never sees the field.
pub fn take_csrf(form: &mut Params, expected: &str) -> Result<(), CallError> {
    let submitted = form.remove(CSRF_FIELD);
    if csrf_matches(expected, submitted.as_deref()) {
        Ok(())
    } else {
        Err(CallError::Csrf)
    }
}

#[cfg(test)]
mod tests;
