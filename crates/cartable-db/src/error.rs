use thiserror::Error;

/// The database refused or failed. Each variant says what to check.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    /// The database could not be opened or reached at start.
    #[error(
        "cannot open the database {target}: {source}; check the path or URL and that the server runs"
    )]
    Open {
        /// The file or server (never the password).
        target: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed (the server is gone, a constraint refused the row, the SQL is wrong).
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A conditional write found another version than the one read: someone else changed
    /// the row meanwhile. Nothing was written; reload and try again.
    #[error("{what} was changed by someone else meanwhile; reload it and try again")]
    Conflict {
        /// What was being written, e.g. "the note n1".
        what: String,
    },
    /// The database did not answer within the call's time limit (see
    /// [`Database::within`](crate::Database::within)); the call was abandoned.
    #[error(
        "the database {target} did not answer within {} ms; check that the server runs and is not overloaded",
        limit.as_millis()
    )]
    TimedOut {
        /// The file or server (never the password).
        target: String,
        /// The limit that ran out.
        limit: std::time::Duration,
    },
    /// A value the database cannot take (a schema name with a quote…).
    #[error("invalid database setting: {0}")]
    Invalid(String),
}

impl DbError {
    /// Whether the database was unreachable or busy (worth retrying later), rather than a
    /// refusal of this query.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Open { .. } | DbError::TimedOut { .. } => true,
            DbError::Query(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_)
            ),
            _ => false,
        }
    }

    /// Whether a unique or primary key constraint refused the row.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Query(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}
