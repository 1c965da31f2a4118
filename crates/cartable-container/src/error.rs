//! Why a portlet call did not give an answer, and the one status each reason gets.

use std::time::Duration;

use cartable_portlet::{Mode, PortletError, PreferenceError, WindowState};
use cartable_socle::SocleError;
use http::StatusCode;
use thiserror::Error;

/// A call the container refused, or that failed. [`CallError::status`] is the HTTP status
/// that the portal, the remote producer and the test kit all give it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CallError {
    /// The portlet is not offered to the user's profiles.
    #[error("the portlet {portlet:?} is not offered to this user's profiles")]
    Forbidden {
        /// The portlet's id.
        portlet: String,
    },
    /// The request asks for a mode that the portlet's descriptor does not declare.
    #[error("the portlet {portlet:?} has no {mode} mode (add it to its descriptor)")]
    UnsupportedMode {
        /// The portlet's id.
        portlet: String,
        /// The mode asked for.
        mode: Mode,
    },
    /// The request asks for a window state that the portlet's descriptor does not declare.
    #[error("the portlet {portlet:?} has no {state} state (add it to its descriptor)")]
    UnsupportedState {
        /// The portlet's id.
        portlet: String,
        /// The state asked for.
        state: WindowState,
    },
    /// A state-changing call without the session's CSRF token, or with another one.
    #[error("the form's security token is missing or stale; reload the page and send it again")]
    Csrf,
    /// The portlet kept missing its deadline; calls resume after the quarantine.
    #[error("the portlet {portlet:?} is quarantined after repeated timeouts")]
    Quarantined {
        /// The portlet's id.
        portlet: String,
    },
    /// An admin put the portlet in maintenance.
    #[error("the portlet {portlet:?} is in maintenance: {message}")]
    Maintenance {
        /// The portlet's id.
        portlet: String,
        /// The admin's message to users.
        message: String,
    },
    /// The portlet did not answer within its deadline; the call was aborted.
    #[error("the portlet {portlet:?} missed its deadline of {deadline:?}")]
    TimedOut {
        /// The portlet's id.
        portlet: String,
        /// The deadline it missed.
        deadline: Duration,
    },
    /// The portlet panicked; only its task ended.
    #[error("the portlet {portlet:?} panicked")]
    Panicked {
        /// The portlet's id.
        portlet: String,
    },
    /// The portlet answered with an error.
    #[error(transparent)]
    Portlet(#[from] PortletError),
}

impl CallError {
    /// The HTTP status of a call that failed this way: the only mapping in Cartable.
    ///
    /// | reason | status |
    /// |---|---|
    /// | not for the user's profiles, bad CSRF token, [`PortletError::Forbidden`] | 403 |
    /// | mode or state not declared, [`PortletError::BadRequest`], a refused preference, [`SocleError::Invalid`] | 400 |
    /// | [`PortletError::NotFound`] | 404 |
    /// | [`PortletError::Conflict`], [`SocleError::Conflict`] (a stale versioned write) | 409 |
    /// | quarantined, in maintenance, another [`SocleError`] | 503 |
    /// | deadline missed | 504 |
    /// | panic, template or internal error | 500 |
    pub fn status(&self) -> StatusCode {
        match self {
            CallError::Forbidden { .. } | CallError::Csrf => StatusCode::FORBIDDEN,
            CallError::UnsupportedMode { .. } | CallError::UnsupportedState { .. } => {
                StatusCode::BAD_REQUEST
            }
            CallError::Quarantined { .. } | CallError::Maintenance { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            CallError::TimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
            CallError::Panicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            CallError::Portlet(e) => e.status(),
        }
    }

    /// The portlet's own error, when the portlet answered with one.
    pub fn portlet_error(&self) -> Option<&PortletError> {
        match self {
            CallError::Portlet(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SocleError> for CallError {
    fn from(e: SocleError) -> Self {
        CallError::Portlet(PortletError::Socle(e))
    }
}

impl From<PreferenceError> for CallError {
    fn from(e: PreferenceError) -> Self {
        CallError::Portlet(PortletError::Preference(e))
    }
}

/// For code whose error type is the portlet's (a consumer relaying a call, a test that
/// returns `Result<(), PortletError>`): the container's reasons become the portlet error
/// with the same status, except a missed deadline, which becomes a 503.
impl From<CallError> for PortletError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Portlet(e) => e,
            CallError::Forbidden { .. } | CallError::Csrf => PortletError::Forbidden,
            e @ (CallError::UnsupportedMode { .. } | CallError::UnsupportedState { .. }) => {
                PortletError::BadRequest(e.to_string())
            }
            e @ (CallError::Quarantined { .. }
            | CallError::Maintenance { .. }
            | CallError::TimedOut { .. }) => PortletError::Socle(SocleError::Unavailable {
                backend: "portlet",
                detail: e.to_string(),
            }),
            e @ CallError::Panicked { .. } => PortletError::Internal(e.to_string()),
        }
    }
}
