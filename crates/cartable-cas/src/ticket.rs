//! Service tickets: issued at `/cas/login`, validated once by the service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cartable_socle::Clock;
use url::Url;

/// A service ticket as issued (`ST-…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTicket(String);

impl ServiceTicket {
    /// The ticket text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a valid ticket grants: who, and for which portal session (for single logout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user id.
    pub user: String,
    /// The service registration id.
    pub service_id: String,
    /// The portal session the ticket was issued in.
    pub session: String,
}

/// Why a ticket was refused; the names are CAS 3.0 error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// `ticket` or `service` is missing.
    #[error("INVALID_REQUEST: the ticket and service parameters are required")]
    InvalidRequest,
    /// The ticket does not have the form of a service ticket (checked before any
    /// lookup).
    #[error("INVALID_TICKET_SPEC: not a service ticket")]
    InvalidTicketSpec,
    /// Unknown, already used or expired.
    #[error("INVALID_TICKET: ticket not recognized, already used or expired")]
    InvalidTicket,
    /// The ticket was issued for another service; it is burnt.
    #[error("INVALID_SERVICE: the ticket was issued for another service")]
    InvalidService,
}

impl ValidationError {
    /// The CAS error code.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::InvalidRequest => "INVALID_REQUEST",
            ValidationError::InvalidTicketSpec => "INVALID_TICKET_SPEC",
            ValidationError::InvalidTicket => "INVALID_TICKET",
            ValidationError::InvalidService => "INVALID_SERVICE",
        }
    }
}

struct Issued {
    service: Url,
    grant: Grant,
    expires: SystemTime,
}

#[derive(Default)]
struct Inner {
    tickets: HashMap<String, Issued>,
    /// Per portal session: the services whose tickets were validated, for single logout.
    visited: HashMap<String, Vec<(Url, String)>>,
    issued_since_sweep: usize,
}

/// Tickets in memory: single-use, expiring, one node.
///
/// Several portal nodes behind a load balancer need the service to validate on the node
/// that issued (sticky `/cas` routing) until tickets move to the shared store.
#[derive(Clone)]
pub struct TicketRegistry {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
}

/// The longest ticket text accepted; anything longer is malformed.
const MAX_TICKET_LEN: usize = 256;

impl TicketRegistry {
    /// Tickets valid for `lifetime` (CAS recommends seconds, not minutes).
    pub fn new(lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        TicketRegistry {
            inner: Arc::default(),
            clock,
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issue a ticket for a normalized service URL.
    pub fn issue(&self, service: Url, grant: Grant) -> ServiceTicket {
        let ticket = format!("ST-{}", cartable_socle::random_token());
        let now = self.clock.now();
        let mut inner = self.lock();
        inner.issued_since_sweep += 1;
        if inner.issued_since_sweep >= 256 {
            inner.issued_since_sweep = 0;
            inner.tickets.retain(|_, t| t.expires > now);
        }
        inner.tickets.insert(
            ticket.clone(),
            Issued {
                service,
                grant,
                expires: now + self.lifetime,
            },
        );
        ServiceTicket(ticket)
    }

    /// Whether text has the form of a ticket this registry issues.
    pub fn well_formed(ticket: &str) -> bool {
        ticket.len() > 3 + 16
            && ticket.len() <= MAX_TICKET_LEN
            && ticket.starts_with("ST-")
            && ticket[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// Validate a ticket for a service. Whatever the outcome, a well-formed ticket is
    /// used up: a ticket presented for the wrong service is burnt.
    pub fn validate(&self, ticket: &str, service: &str) -> Result<Grant, ValidationError> {
        if ticket.is_empty() || service.is_empty() {
            return Err(ValidationError::InvalidRequest);
        }
        if !Self::well_formed(ticket) {
            return Err(ValidationError::InvalidTicketSpec);
        }
        let now = self.clock.now();
        let mut inner = self.lock();
        let issued = inner
            .tickets
            .remove(ticket)
            .ok_or(ValidationError::InvalidTicket)?;
        if issued.expires <= now {
            return Err(ValidationError::InvalidTicket);
        }
        let same = Url::parse(service).is_ok_and(|s| s == issued.service);
        if !same {
            return Err(ValidationError::InvalidService);
        }
        inner
            .visited
            .entry(issued.grant.session.clone())
            .or_default()
            .push((issued.service, ticket.to_string()));
        Ok(issued.grant)
    }

    /// The services visited in a portal session (URL and the ticket they validated),
    /// forgotten here: call it when the session ends, to send single logout requests.
    pub fn end_session(&self, session: &str) -> Vec<(Url, String)> {
        let mut inner = self.lock();
        inner.tickets.retain(|_, t| t.grant.session != session);
        inner.visited.remove(session).unwrap_or_default()
    }

    /// Tickets issued and not yet validated or swept (for tests and metrics).
    pub fn outstanding(&self) -> usize {
        self.lock().tickets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartable_socle::ManualClock;

    fn setup() -> (TicketRegistry, ManualClock) {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        let reg = TicketRegistry::new(Duration::from_secs(10), Arc::new(clock.clone()));
        (reg, clock)
    }

    fn grant() -> Grant {
        Grant {
            user: "lea".into(),
            service_id: "cdi".into(),
            session: "s1".into(),
        }
    }

    const SERVICE: &str = "https://cdi.example/cb";

    #[test]
    fn a_ticket_validates_once() {
        let (reg, _) = setup();
        let t = reg.issue(Url::parse(SERVICE).expect("url"), grant());
        assert!(TicketRegistry::well_formed(t.as_str()));
        assert_eq!(reg.validate(t.as_str(), SERVICE), Ok(grant()));
        assert_eq!(
            reg.validate(t.as_str(), SERVICE),
            Err(ValidationError::InvalidTicket)
        );
    }

    #[test]
    fn an_expired_ticket_is_refused() {
        let (reg, clock) = setup();
        let t = reg.issue(Url::parse(SERVICE).expect("url"), grant());
        clock.advance(Duration::from_secs(10));
        assert_eq!(
            reg.validate(t.as_str(), SERVICE),
            Err(ValidationError::InvalidTicket)
        );
    }

    #[test]
    fn the_wrong_service_burns_the_ticket() {
        let (reg, _) = setup();
        let t = reg.issue(Url::parse(SERVICE).expect("url"), grant());
        assert_eq!(
            reg.validate(t.as_str(), "https://cdi.example/other"),
            Err(ValidationError::InvalidService)
        );
        assert_eq!(
            reg.validate(t.as_str(), SERVICE),
            Err(ValidationError::InvalidTicket)
        );
    }

    #[test]
    fn malformed_tickets_are_refused_before_lookup() {
        let (reg, _) = setup();
        for bad in [
            "x",
            "ST-",
            "ST-short",
            "TGT-aaaaaaaaaaaaaaaaaaaaaaaa",
            "ST-aaaaaaaaaaaaaaaaaaaa'; drop table",
            &format!("ST-{}", "a".repeat(300)),
        ] {
            assert_eq!(
                reg.validate(bad, SERVICE),
                Err(ValidationError::InvalidTicketSpec),
                "{bad}"
            );
        }
        assert_eq!(
            reg.validate("", SERVICE),
            Err(ValidationError::InvalidRequest)
        );
    }

    #[test]
    fn sessions_remember_the_services_they_validated() {
        let (reg, _) = setup();
        let t = reg.issue(Url::parse(SERVICE).expect("url"), grant());
        let unused = reg.issue(Url::parse(SERVICE).expect("url"), grant());
        reg.validate(t.as_str(), SERVICE).expect("valid");
        let visited = reg.end_session("s1");
        assert_eq!(visited.len(), 1);
        assert_eq!(visited[0].1, t.as_str());
        assert_eq!(
            reg.validate(unused.as_str(), SERVICE),
            Err(ValidationError::InvalidTicket),
            "tickets of an ended session die with it"
        );
        assert!(reg.end_session("s1").is_empty());
    }
}
