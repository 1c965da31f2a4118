use cartable_db::DbError;
use thiserror::Error;

/// A socle backend failed. Say which backend and what to check.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SocleError {
    /// The backend (database, directory server) could not be reached or answered an error.
    #[error("{backend} unavailable: {detail}")]
    Unavailable {
        /// Which backend, e.g. "sqlite storage" or "ldap directory".
        backend: &'static str,
        /// What went wrong, for the logs.
        detail: String,
    },
    /// Stored data could not be decoded; it was left as it is.
    #[error("corrupt {what} in storage: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// The caller passed a value the backend refuses (too long, empty key…).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The caller may not write this (shared data is the établissement's: see
    /// `PortletData::shared` in the portlet contract). Nothing was written.
    #[error("{what}: not allowed; {rule}")]
    Forbidden {
        /// What was being written, e.g. "shared key \"menu\" of cantine".
        what: String,
        /// The rule that refused it, and who may write it.
        rule: &'static str,
    },
    /// A conditional write found another version than the one expected: someone else
    /// changed (or created, or deleted) the item since it was read. Nothing was written.
    #[error("{what} was changed by someone else meanwhile; reload it and try again")]
    Conflict {
        /// What was being written, e.g. "the layout of lmartin".
        what: String,
    },
    /// The relational database failed (see [`DbError::is_unavailable`]).
    #[error(transparent)]
    Database(DbError),
}

impl From<DbError> for SocleError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict { what } => SocleError::Conflict { what },
            e => SocleError::Database(e),
        }
    }
}

impl From<cartable_db::sqlx::Error> for SocleError {
    fn from(e: cartable_db::sqlx::Error) -> Self {
        SocleError::Database(DbError::Query(e))
    }
}

/// Why a login failed. Deliberately coarse towards the user: the portal shows the same
/// message for an unknown login and a wrong password.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown login or wrong password.
    #[error("unknown login or wrong password")]
    InvalidCredentials,
    /// The account exists but is deactivated or past its end date.
    #[error("this account is deactivated")]
    AccountDisabled,
    /// The directory itself failed; the user should retry later.
    #[error(transparent)]
    Backend(#[from] SocleError),
}
