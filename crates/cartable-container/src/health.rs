//! Per-portlet health: quarantine after repeated timeouts, and maintenance set by an admin.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Whether a portlet may be called right now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Availability {
    /// Call it.
    Available,
    /// Do not call it: it kept missing its deadline; calls resume after the delay.
    Quarantined,
    /// Do not call it: an admin put it in maintenance with this message.
    Maintenance(String),
}

#[derive(Debug, Default)]
struct Entry {
    consecutive_timeouts: u32,
    quarantined_until: Option<Instant>,
    maintenance: Option<String>,
}

/// Health of every portlet of the portal.
#[derive(Debug)]
pub struct Health {
    after_timeouts: u32,
    quarantine_for: Duration,
    entries: RwLock<HashMap<String, Entry>>,
}

impl Health {
    /// Quarantine a portlet for `quarantine_for` after `after_timeouts` timeouts in a row.
    pub fn new(after_timeouts: u32, quarantine_for: Duration) -> Self {
        Health {
            after_timeouts: after_timeouts.max(1),
            quarantine_for,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Whether the portlet may be called now.
    pub fn availability(&self, portlet: &str) -> Availability {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.get(portlet) else {
            return Availability::Available;
        };
        if let Some(message) = &entry.maintenance {
            return Availability::Maintenance(message.clone());
        }
        match entry.quarantined_until {
            Some(until) if Instant::now() < until => Availability::Quarantined,
            _ => Availability::Available,
        }
    }

    /// The portlet answered in time (whatever it answered).
    pub fn record_success(&self, portlet: &str) {
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            match entries.get(portlet) {
                None => return,
                Some(e) if e.consecutive_timeouts == 0 && e.quarantined_until.is_none() => return,
                Some(_) => {}
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(portlet) {
            e.consecutive_timeouts = 0;
            e.quarantined_until = None;
        }
    }

    /// The portlet missed its deadline; returns true if this put it in quarantine.
    pub fn record_timeout(&self, portlet: &str) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let e = entries.entry(portlet.to_string()).or_default();
        e.consecutive_timeouts += 1;
        if e.consecutive_timeouts >= self.after_timeouts {
            e.consecutive_timeouts = 0;
            e.quarantined_until = Some(Instant::now() + self.quarantine_for);
            tracing::warn!(portlet, "portlet quarantined after repeated timeouts");
            return true;
        }
        false
    }

    /// Put a portlet in maintenance (`Some(message)`) or take it out (`None`).
    pub fn set_maintenance(&self, portlet: &str, message: Option<String>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.entry(portlet.to_string()).or_default().maintenance = message;
    }

    /// Every portlet in maintenance, with its message.
    pub fn maintenance(&self) -> HashMap<String, String> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .filter_map(|(k, e)| e.maintenance.clone().map(|m| (k.clone(), m)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_after_repeated_timeouts_then_recovery() {
        let h = Health::new(2, Duration::from_millis(30));
        assert!(!h.record_timeout("slow"));
        h.record_success("slow");
        assert!(!h.record_timeout("slow"), "count was reset by the success");
        assert!(h.record_timeout("slow"));
        assert_eq!(h.availability("slow"), Availability::Quarantined);
        assert_eq!(h.availability("other"), Availability::Available);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(h.availability("slow"), Availability::Available);
    }

    #[test]
    fn maintenance_wins() {
        let h = Health::new(3, Duration::from_secs(1));
        h.set_maintenance("x", Some("back at 14h".into()));
        assert_eq!(
            h.availability("x"),
            Availability::Maintenance("back at 14h".into())
        );
        h.set_maintenance("x", None);
        assert_eq!(h.availability("x"), Availability::Available);
    }
}
