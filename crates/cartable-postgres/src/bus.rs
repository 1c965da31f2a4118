//! The change bus over PostgreSQL `LISTEN`/`NOTIFY`: what one portal node changes, every
//! node hears, through the database they already share.

use std::time::Duration;

use async_trait::async_trait;
use cartable_db::Database;
use cartable_db::sqlx::{self, postgres::PgListener};
use cartable_socle::{Change, ChangeBus, LocalBus, SocleError, store::BACKEND};
use tokio::sync::{broadcast, mpsc};

use crate::PostgresConfig;

/// How long the listening connection may stay silent before it is checked (a network
/// that went silent is only found by talking).
const PING: Duration = Duration::from_secs(5);
/// How long to wait before listening again after the connection was lost.
const RETRY: Duration = Duration::from_secs(1);

/// A [`ChangeBus`] shared by every node using the same database and schema.
///
/// Publishing is a `pg_notify` on a pooled connection; one dedicated connection per node
/// listens. When that connection is lost and comes back, the node's subscribers get
/// [`Change::Everything`], since changes may have been missed meanwhile.
pub struct PostgresBus {
    database: Database,
    channel: String,
    local: LocalBus,
    listener: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PostgresBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresBus {
    /// Start listening for the changes of the section's database and schema, publishing
    /// through `database` (its pool). Returns once the first `LISTEN` is in place, so
    /// nothing published afterwards is missed; fails when the database cannot be reached.
    pub async fn start(database: &Database, config: &PostgresConfig) -> Result<Self, SocleError> {
        let schema = config.schema.as_deref().unwrap_or("public");
        // Notification channels are per database: the schema keeps deployments (and test
        // runs) sharing a server apart.
        let channel = format!("cartable_changes_{}", schema.to_ascii_lowercase());
        config
            .validate()
            .map_err(|e| SocleError::Invalid(e.to_string()))?;
        let url = config.url.clone();
        let limit = config.connect_timeout();
        let local = LocalBus::new();
        let (ready_tx, mut ready_rx) = mpsc::channel::<Result<(), String>>(1);
        let sender = local.sender().clone();
        let listen_channel = channel.clone();
        let listener = tokio::spawn(async move {
            let mut first = true;
            loop {
                let outcome =
                    listen(&url, limit, &listen_channel, &sender, !first, &ready_tx).await;
                if let Err(e) = outcome {
                    if first {
                        let _ = ready_tx.send(Err(e.clone())).await;
                        return;
                    }
                    tracing::warn!("change bus: {e}; listening again in {} s", RETRY.as_secs());
                }
                first = false;
                tokio::time::sleep(RETRY).await;
            }
        });
        match ready_rx.recv().await {
            Some(Ok(())) => Ok(PostgresBus {
                database: database.clone(),
                channel,
                local,
                listener,
            }),
            Some(Err(e)) => Err(SocleError::Unavailable {
                backend: BACKEND,
                detail: format!(
                    "cannot listen for changes on {}: {e}",
                    config.describe_server()
                ),
            }),
            None => Err(SocleError::Unavailable {
                backend: BACKEND,
                detail: "the change listener stopped before it was ready".into(),
            }),
        }
    }

    /// The notification channel (`cartable_changes_<schema>`).
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

/// One listening connection, until it is lost. Signals readiness once `LISTEN` is done.
async fn listen(
    url: &str,
    limit: Duration,
    channel: &str,
    sender: &broadcast::Sender<Change>,
    after_loss: bool,
    ready: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    let mut listener = match tokio::time::timeout(limit, PgListener::connect(url)).await {
        Ok(Ok(listener)) => listener,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no connection within {} ms", limit.as_millis())),
    };
    // A lost connection is ours to notice and report (sqlx would reconnect silently).
    listener.ignore_pool_close_event(true);
    match tokio::time::timeout(PING, listener.listen(channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("LISTEN got no answer".into()),
    }
    if after_loss {
        // Whatever was published while we were away is unknown: drop every cache.
        let _ = sender.send(Change::Everything);
        tracing::info!(channel, "change bus listening again");
    } else {
        let _ = ready.send(Ok(())).await;
    }
    loop {
        match tokio::time::timeout(PING, listener.try_recv()).await {
            Ok(Ok(Some(notification))) => {
                let payload = notification.payload();
                match serde_json::from_str::<Change>(payload) {
                    Ok(change) => {
                        let _ = sender.send(change);
                    }
                    Err(e) => tracing::warn!("change bus: unreadable change {payload:?}: {e}"),
                }
            }
            Ok(Ok(None)) => return Err("connection lost".into()),
            Ok(Err(e)) => return Err(e.to_string()),
            // Quiet for a while: is the server still there?
            Err(_) => {
                let ping = sqlx::query("SELECT 1").execute(&mut listener);
                match tokio::time::timeout(PING, ping).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.to_string()),
                    Err(_) => return Err("the database stopped answering".into()),
                }
            }
        }
    }
}

#[async_trait]
impl ChangeBus for PostgresBus {
    async fn publish(&self, change: Change) -> Result<(), SocleError> {
        let payload =
            serde_json::to_string(&change).map_err(|e| SocleError::Invalid(e.to_string()))?;
        self.database
            .within(
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(&self.channel)
                    .bind(payload)
                    .execute(self.database.pool()),
            )
            .await
            .map(drop)
            .map_err(|e| SocleError::Unavailable {
                backend: BACKEND,
                detail: format!("publishing a change: {e}"),
            })
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }
}
