//! The change bus: how portal nodes tell each other what they may have cached stale.
//!
//! A node caches what every page reads (layouts, preferences, rendered fragments, the
//! maintenance list). When one node changes such a thing it publishes a [`Change`]; every
//! node, itself included, drops what the change makes stale. One node alone uses a
//! [`LocalBus`]; several nodes share one through their database (PostgreSQL
//! `LISTEN`/`NOTIFY` in `cartable-postgres`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::SocleError;

/// Something a node may have cached that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// A user's preferences of one window (of `portlet`).
    Preferences {
        /// The user.
        user: String,
        /// The window.
        window: String,
        /// Its portlet (rendered fragments of it are stale too).
        portlet: String,
    },
    /// A user's layout.
    Layout {
        /// The user.
        user: String,
    },
    /// A portlet's data for a user, or its shared data when `user` is empty: its
    /// rendered fragments are stale.
    Data {
        /// The portlet.
        portlet: String,
        /// The user; empty for shared data (every user's fragments).
        user: String,
    },
    /// Who a user is or what she may do (account, delegations, groups).
    User {
        /// The user.
        user: String,
    },
    /// A session was saved or ended (language chosen, logout, rotation).
    Session {
        /// The session's id.
        id: String,
    },
    /// Every session of a user ended (account deleted, password regenerated).
    SessionsOf {
        /// The user.
        user: String,
    },
    /// The portal's own settings kept in storage (maintenance).
    Settings,
    /// Changes may have been missed (the bus lost its connection): drop every cache.
    Everything,
}

/// Publishes changes to every node and delivers every node's changes.
#[async_trait]
pub trait ChangeBus: Send + Sync + 'static {
    /// Tell every node (this one included).
    async fn publish(&self, change: Change) -> Result<(), SocleError>;
    /// Changes from now on. A receiver that falls behind gets `Lagged` and should treat
    /// it as [`Change::Everything`].
    fn subscribe(&self) -> broadcast::Receiver<Change>;
}

/// The bus of a single node: changes go straight to its own subscribers.
#[derive(Debug, Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<Change>,
}

impl LocalBus {
    /// A bus buffering up to 1024 undelivered changes per subscriber.
    pub fn new() -> Self {
        LocalBus {
            sender: broadcast::channel(1024).0,
        }
    }

    /// The sending side, for backends that receive changes from elsewhere and deliver
    /// them to this node's subscribers.
    pub fn sender(&self) -> &broadcast::Sender<Change> {
        &self.sender
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ChangeBus for LocalBus {
    async fn publish(&self, change: Change) -> Result<(), SocleError> {
        // No subscriber is not an error: nothing is cached.
        let _ = self.sender.send(change);
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_what_is_published() {
        let bus = LocalBus::new();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.publish(Change::Layout { user: "lea".into() })
            .await
            .expect("publish");
        assert_eq!(
            a.recv().await.ok(),
            Some(Change::Layout { user: "lea".into() })
        );
        assert_eq!(
            b.recv().await.ok(),
            Some(Change::Layout { user: "lea".into() })
        );
    }

    #[test]
    fn changes_travel_as_json() {
        let c = Change::Data {
            portlet: "notes".into(),
            user: String::new(),
        };
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(json, r#"{"kind":"data","portlet":"notes","user":""}"#);
        assert_eq!(serde_json::from_str::<Change>(&json).expect("back"), c);
        assert_eq!(
            serde_json::from_str::<Change>(r#"{"kind":"everything"}"#).expect("unit"),
            Change::Everything
        );
    }
}
