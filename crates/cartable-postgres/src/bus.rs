//! The change bus over PostgreSQL `LISTEN`/`NOTIFY`: what one portal node changes, every
//! node hears, through the database they already share.

use std::time::Duration;

use async_trait::async_trait;
use cartable_socle::{Change, ChangeBus, LocalBus, SocleError};
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::PostgresStorage;

/// How often the listening connection is checked (a network that went silent is only
/// found by talking).
const PING: Duration = Duration::from_secs(5);
/// How long to wait before listening again after the connection was lost.
const RETRY: Duration = Duration::from_secs(1);

/// A [`ChangeBus`] shared by every node using the same database and schema.
///
/// Publishing is a `pg_notify` on a pooled connection; one dedicated connection per node
/// listens. When that connection is lost and comes back, the node's subscribers get
/// [`Change::Everything`], since changes may have been missed meanwhile.
pub struct PostgresBus {
    storage: PostgresStorage,
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
    /// Start listening for the changes of this storage's database and schema. Returns
    /// once the first `LISTEN` is in place, so nothing published afterwards is missed;
    /// fails when the database cannot be reached.
    pub async fn start(storage: &PostgresStorage) -> Result<Self, SocleError> {
        let config = storage.config();
        let schema = config.schema.as_deref().unwrap_or("public");
        // Notification channels are per database: the schema keeps deployments (and test
        // runs) sharing a server apart.
        let channel = format!("cartable_changes_{}", schema.to_ascii_lowercase());
        let pg = config
            .pg_config()
            .map_err(|e| SocleError::Invalid(e.to_string()))?;
        let local = LocalBus::new();
        let (ready_tx, mut ready_rx) = mpsc::channel::<Result<(), String>>(1);
        let sender = local.sender().clone();
        let listen_channel = channel.clone();
        let listener = tokio::spawn(async move {
            let mut first = true;
            loop {
                let outcome = listen(&pg, &listen_channel, &sender, !first, &ready_tx).await;
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
                storage: storage.clone(),
                channel,
                local,
                listener,
            }),
            Some(Err(e)) => Err(SocleError::Unavailable {
                backend: crate::BACKEND,
                detail: format!("cannot listen for changes: {e}"),
            }),
            None => Err(SocleError::Unavailable {
                backend: crate::BACKEND,
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
    pg: &tokio_postgres::Config,
    channel: &str,
    sender: &broadcast::Sender<Change>,
    after_loss: bool,
    ready: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    let (client, mut connection) = pg.connect(NoTls).await.map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("change bus connection: {e}");
                    return;
                }
            }
        }
    });
    let listened =
        tokio::time::timeout(PING, client.batch_execute(&format!("LISTEN \"{channel}\""))).await;
    match listened {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            driver.abort();
            return Err(e.to_string());
        }
        Err(_) => {
            driver.abort();
            return Err("LISTEN got no answer".into());
        }
    }
    if after_loss {
        // Whatever was published while we were away is unknown: drop every cache.
        let _ = sender.send(Change::Everything);
        tracing::info!(channel, "change bus listening again");
    } else {
        let _ = ready.send(Ok(())).await;
    }
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    let result = loop {
        tokio::select! {
            payload = rx.recv() => match payload {
                Some(payload) => match serde_json::from_str::<Change>(&payload) {
                    Ok(change) => {
                        let _ = sender.send(change);
                    }
                    Err(e) => tracing::warn!("change bus: unreadable change {payload:?}: {e}"),
                },
                None => break Err("connection lost".to_string()),
            },
            _ = ping.tick() => {
                match tokio::time::timeout(PING, client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => break Err(e.to_string()),
                    Err(_) => break Err("the database stopped answering".to_string()),
                }
            }
        }
    };
    driver.abort();
    result
}

#[async_trait]
impl ChangeBus for PostgresBus {
    async fn publish(&self, change: Change) -> Result<(), SocleError> {
        let payload =
            serde_json::to_string(&change).map_err(|e| SocleError::Invalid(e.to_string()))?;
        self.storage
            .query("SELECT pg_notify($1, $2)", &[&self.channel, &payload])
            .await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }
}
