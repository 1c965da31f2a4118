//! The incidents users report, rows of `aide_incident`: the queries, written once for
//! SQLite and PostgreSQL. Every query of a reporter's incidents names her.

use cartable_portlet::sqlx::{self, AnyConnection};
use cartable_portlet::{Database, PortletError, expect_changed, retry_unique};
use serde::Serialize;

/// The statuses of an incident, in the order of its life.
pub const STATUSES: [&str; 4] = ["nouveau", "en-cours", "resolu", "ferme"];
/// The statuses of an incident still to handle.
pub const OPEN: [&str; 2] = ["nouveau", "en-cours"];
/// The longest subject, in characters.
pub const MAX_SUBJECT_LEN: usize = 200;
/// The longest description or answer, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 5_000;
/// The longest page a report names, in bytes.
pub const MAX_PAGE_LEN: usize = 500;
/// The most incidents one person may have open (`nouveau` or `en-cours`) at once.
pub const MAX_OPEN_PER_REPORTER: usize = 20;
/// The most incidents the queue shows at once (newest first).
pub const QUEUE_LIMIT: usize = 200;

/// How often a report is tried again when a parallel one took the same number (only on
/// PostgreSQL: SQLite runs one writer at a time).
const FILE_ATTEMPTS: usize = 8;

/// `SELECT` every column of [`Row`] `FROM aide_incident`, then the rest of the query.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, reporter, reporter_name, subject, description, page, service, \
             created_at, status, assignee, answer, updated_at, updated_by, version \
             FROM aide_incident ",
            $rest
        )
    };
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Incident {
    pub id: i64,
    pub reporter: String,
    pub reporter_name: String,
    pub subject: String,
    pub description: String,
    /// The portal path it was reported from, or empty.
    pub page: String,
    /// The service (portlet id) it was reported from, or empty.
    pub service: String,
    /// Seconds since 1970.
    pub created_at: i64,
    pub status: String,
    /// A user id, or empty.
    pub assignee: String,
    pub answer: String,
    pub updated_at: i64,
    pub updated_by: String,
    pub version: i64,
}

/// A row as read: the columns of `select!` in order.
type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    String,
    i64,
);

impl From<Row> for Incident {
    fn from(r: Row) -> Self {
        Incident {
            id: r.0,
            reporter: r.1,
            reporter_name: r.2,
            subject: r.3,
            description: r.4,
            page: r.5,
            service: r.6,
            created_at: r.7,
            status: r.8,
            assignee: r.9,
            answer: r.10,
            updated_at: r.11,
            updated_by: r.12,
            version: r.13,
        }
    }
}

/// Rows into incidents.
fn incidents(rows: Vec<Row>) -> Vec<Incident> {
    rows.into_iter().map(Incident::from).collect()
}

/// A report as the form gave it, checked.
#[derive(Debug, Clone)]
pub(crate) struct Report<'a> {
    pub reporter: &'a str,
    pub reporter_name: &'a str,
    pub subject: &'a str,
    pub description: &'a str,
    pub page: &'a str,
    pub service: &'a str,
    pub at: i64,
}

/// File a report as a new incident, numbered after every other, unless its reporter
/// already has [`MAX_OPEN_PER_REPORTER`] open (`None`, nothing written): the number and
/// the limit are decided by the statement that inserts.
pub(crate) async fn file(db: &Database, r: &Report<'_>) -> Result<Option<i64>, PortletError> {
    let max = i64::try_from(MAX_OPEN_PER_REPORTER).unwrap_or(i64::MAX);
    let id: Option<i64> = retry_unique(FILE_ATTEMPTS, || {
        sqlx::query_scalar(
            "INSERT INTO aide_incident (id, reporter, reporter_name, subject, description, \
             page, service, created_at, status, assignee, answer, updated_at, updated_by, \
             version) \
             SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM aide_incident), $1, $2, $3, $4, $5, \
             $6, $7, 'nouveau', '', '', $7, $1, 1 \
             WHERE (SELECT COUNT(*) FROM aide_incident WHERE reporter = $1 \
                    AND status IN ('nouveau', 'en-cours')) < $8 \
             RETURNING id",
        )
        .bind(r.reporter)
        .bind(r.reporter_name)
        .bind(r.subject)
        .bind(r.description)
        .bind(r.page)
        .bind(r.service)
        .bind(r.at)
        .bind(max)
        .fetch_optional(db.pool())
    })
    .await?;
    Ok(id)
}

/// Every incident `reporter` filed, newest first.
pub(crate) async fn of_reporter(
    db: &Database,
    reporter: &str,
) -> Result<Vec<Incident>, PortletError> {
    let rows: Vec<Row> = sqlx::query_as(select!("WHERE reporter = $1 ORDER BY id DESC"))
        .bind(reporter)
        .fetch_all(db.pool())
        .await?;
    Ok(incidents(rows))
}

/// The same, inside a transaction (Mes données).
pub(crate) async fn of_reporter_in(
    tx: &mut AnyConnection,
    reporter: &str,
) -> Result<Vec<Incident>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(select!("WHERE reporter = $1 ORDER BY id DESC"))
        .bind(reporter)
        .fetch_all(tx)
        .await?;
    Ok(incidents(rows))
}

/// The queue: the newest [`QUEUE_LIMIT`] incidents, of one status or of any.
pub(crate) async fn queue(
    db: &Database,
    status: Option<&str>,
) -> Result<Vec<Incident>, PortletError> {
    let limit = i64::try_from(QUEUE_LIMIT).unwrap_or(i64::MAX);
    let rows: Vec<Row> = match status {
        Some(status) => {
            sqlx::query_as(select!("WHERE status = $1 ORDER BY id DESC LIMIT $2"))
                .bind(status)
                .bind(limit)
                .fetch_all(db.pool())
                .await?
        }
        None => {
            sqlx::query_as(select!("ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(db.pool())
                .await?
        }
    };
    Ok(incidents(rows))
}

/// How many incidents have each status (statuses without any are absent).
pub(crate) async fn counts(db: &Database) -> Result<Vec<(String, i64)>, PortletError> {
    Ok(
        sqlx::query_as("SELECT status, COUNT(*) FROM aide_incident GROUP BY status")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Incident `id`.
pub(crate) async fn get(db: &Database, id: i64) -> Result<Option<Incident>, PortletError> {
    let row: Option<Row> = sqlx::query_as(select!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(Incident::from))
}

/// What staff change on an incident.
#[derive(Debug, Clone)]
pub(crate) struct Handling<'a> {
    pub status: &'a str,
    pub assignee: &'a str,
    pub answer: &'a str,
    pub by: &'a str,
    pub at: i64,
}

/// Set an incident's status, assignee and answer, if it is still at version `expected`;
/// else [`PortletError::Conflict`] (someone changed it meanwhile: nothing is written).
pub(crate) async fn handle(
    db: &Database,
    id: i64,
    expected: i64,
    h: &Handling<'_>,
) -> Result<(), PortletError> {
    let done = sqlx::query(
        "UPDATE aide_incident SET status = $1, assignee = $2, answer = $3, updated_at = $4, \
         updated_by = $5, version = version + 1 WHERE id = $6 AND version = $7",
    )
    .bind(h.status)
    .bind(h.assignee)
    .bind(h.answer)
    .bind(h.at)
    .bind(h.by)
    .bind(id)
    .bind(expected)
    .execute(db.pool())
    .await?;
    expect_changed(done.rows_affected(), || format!("the incident {id}"))?;
    Ok(())
}
