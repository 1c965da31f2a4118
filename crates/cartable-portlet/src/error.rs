use cartable_socle::SocleError;
use cartable_socle::files::FileError;
use http::StatusCode;
use thiserror::Error;

use crate::PreferenceError;
use crate::form::InvalidForm;

/// A portlet call failed. The portal shows it in the window's error box (render) or as
/// the response status (action, resource); other windows are never affected.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PortletError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is malformed; the message tells the user what to fix.
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// The user may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The data changed since it was read; reload and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A socle service failed.
    #[error("service unavailable: {0}")]
    Socle(#[from] SocleError),
    /// A preference could not be changed.
    #[error(transparent)]
    Preference(#[from] PreferenceError),
    /// The user's input was refused: messages per field and the values as typed, shown
    /// again in the window on its next render ([`InvalidForm`]).
    #[error("the form was refused: {}", summary(.0))]
    Invalid(Box<InvalidForm>),
    /// A template failed to render (the template's name and line are in the source).
    #[error("template error: {0}")]
    Template(#[from] minijinja::Error),
    /// A file could not be stored or read ([`FileError`]): too large, no room left in
    /// the quota, no such file…; its message says what to do.
    #[error(transparent)]
    File(#[from] FileError),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<cartable_db::DbError> for PortletError {
    fn from(e: cartable_db::DbError) -> Self {
        PortletError::Socle(e.into())
    }
}

impl From<cartable_db::sqlx::Error> for PortletError {
    fn from(e: cartable_db::sqlx::Error) -> Self {
        PortletError::Socle(e.into())
    }
}

impl PortletError {
    /// The HTTP status for an action or resource that failed this way. The portlet
    /// container (`cartable-container`) gives every call this status, in the portal,
    /// the remote producer and the test kit alike: a stale versioned write (a socle
    /// conflict) is a 409 like [`PortletError::Conflict`], invalid input a 400, any
    /// other socle failure a 503, a refused form a 422. A file too large is a 413, a
    /// quota with no room left a 507, a byte range outside the file a 416.
    pub fn status(&self) -> StatusCode {
        match self {
            PortletError::File(e) => file_status(e),
            PortletError::Socle(SocleError::Conflict { .. }) => StatusCode::CONFLICT,
            PortletError::Socle(SocleError::Invalid(_)) => StatusCode::BAD_REQUEST,
            PortletError::NotFound(_) => StatusCode::NOT_FOUND,
            PortletError::BadRequest(_) | PortletError::Preference(_) => StatusCode::BAD_REQUEST,
            PortletError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PortletError::Socle(SocleError::Forbidden { .. }) => StatusCode::FORBIDDEN,
            PortletError::Forbidden => StatusCode::FORBIDDEN,
            PortletError::Conflict(_) => StatusCode::CONFLICT,
            PortletError::Socle(_) => StatusCode::SERVICE_UNAVAILABLE,
            PortletError::Template(_) | PortletError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// The status of a file that could not be stored or read.
fn file_status(e: &FileError) -> StatusCode {
    match e {
        FileError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        FileError::QuotaExceeded { .. } => StatusCode::INSUFFICIENT_STORAGE,
        FileError::NotFound => StatusCode::NOT_FOUND,
        FileError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        FileError::Invalid(_) | FileError::Body(_) => StatusCode::BAD_REQUEST,
        FileError::Expired { .. } => StatusCode::REQUEST_TIMEOUT,
        FileError::Store(_) | FileError::Database(_) | FileError::Directory { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The messages of a refused form, for logs.
fn summary(form: &InvalidForm) -> String {
    form.messages()
        .iter()
        .map(|m| match &m.field {
            Some(field) => format!("{field}: {}", m.message),
            None => m.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
