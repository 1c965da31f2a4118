use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Profile, SocleError};

/// Who a notification is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Named users.
    Users(Vec<String>),
    /// Everyone holding one of these profiles.
    Profiles(Vec<Profile>),
    /// Everyone.
    Everyone,
}

impl Audience {
    /// Whether a user with these profiles is in the audience.
    pub fn includes(&self, user: &str, profiles: &[Profile]) -> bool {
        match self {
            Audience::Users(users) => users.iter().any(|u| u == user),
            Audience::Profiles(ps) => ps.iter().any(|p| profiles.contains(p)),
            Audience::Everyone => true,
        }
    }
}

/// One news item ("nouveauté") published by a portlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The portlet that published it.
    pub source: String,
    /// A one-line title.
    pub title: String,
    /// A portal path to open it, if any.
    pub link: Option<String>,
    /// Who may see it.
    pub audience: Audience,
    /// When it was published.
    pub at: SystemTime,
}

/// The notification service.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Publish an item.
    async fn publish(&self, item: Notification) -> Result<(), SocleError>;
    /// The newest items a user may see, newest first.
    async fn recent(
        &self,
        user: &str,
        profiles: &[Profile],
        limit: usize,
    ) -> Result<Vec<Notification>, SocleError>;
}

/// An in-process notifier keeping the newest items in memory (one portal node).
#[derive(Debug)]
pub struct MemoryNotifier {
    items: Mutex<Vec<Notification>>,
    capacity: usize,
}

impl MemoryNotifier {
    /// A notifier that keeps at most `capacity` items.
    pub fn new(capacity: usize) -> Self {
        MemoryNotifier {
            items: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for MemoryNotifier {
    fn default() -> Self {
        MemoryNotifier::new(1000)
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.push(item);
        if items.len() > self.capacity {
            let excess = items.len() - self.capacity;
            items.drain(..excess);
        }
        Ok(())
    }

    async fn recent(
        &self,
        user: &str,
        profiles: &[Profile],
        limit: usize,
    ) -> Result<Vec<Notification>, SocleError> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        Ok(items
            .iter()
            .rev()
            .filter(|n| n.audience.includes(user, profiles))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, audience: Audience) -> Notification {
        Notification {
            source: "test".into(),
            title: title.into(),
            link: None,
            audience,
            at: SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn users_see_only_their_items_newest_first() {
        let n = MemoryNotifier::new(10);
        n.publish(item("all", Audience::Everyone)).await.unwrap();
        n.publish(item("profs", Audience::Profiles(vec![Profile::Enseignant])))
            .await
            .unwrap();
        n.publish(item("lea", Audience::Users(vec!["lea".into()])))
            .await
            .unwrap();
        let lea: Vec<_> = n
            .recent("lea", &[Profile::Eleve], 10)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.title)
            .collect();
        assert_eq!(lea, ["lea", "all"]);
        let prof = n.recent("prof", &[Profile::Enseignant], 1).await.unwrap();
        assert_eq!(prof[0].title, "profs");
    }

    #[tokio::test]
    async fn capacity_drops_oldest() {
        let n = MemoryNotifier::new(2);
        for t in ["a", "b", "c"] {
            n.publish(item(t, Audience::Everyone)).await.unwrap();
        }
        let all = n.recent("x", &[], 10).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].title, "b");
    }
}
