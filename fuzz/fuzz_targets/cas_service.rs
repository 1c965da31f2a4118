//! CAS service and ticket parameters (`cartable_cas::ServiceRegistry::matching`,
//! `TicketRegistry::validate`) as a browser or a service sends them to `/cas/login` and
//! `/cas/serviceValidate`: any text, never a panic.
//!
//! - A `service` the registry matches is under a registered service: same scheme, host
//!   and port, a path under the registered one, no credentials.
//! - A ticket issued for a matched service validates once for that service and never
//!   again; an arbitrary ticket never validates.
//!
//! The input is `ticket\nservice` (without a newline, both are the whole input).

#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use cartable_cas::{Grant, RegisteredService, ServiceRegistry, TicketRegistry, ValidationError};
use cartable_socle::SystemClock;
use libfuzzer_sys::fuzz_target;

static REGISTRY: LazyLock<ServiceRegistry> = LazyLock::new(|| {
    ServiceRegistry::new(vec![
        RegisteredService::new("notes", "Notes", "https://notes.example/app"),
        RegisteredService::new("cdi", "CDI", "https://cdi.lycee.example/"),
        RegisteredService::new("vie", "Vie scolaire", "http://vie.example:8080/cas/"),
    ])
    .expect("valid services")
});

static TICKETS: LazyLock<TicketRegistry> =
    LazyLock::new(|| TicketRegistry::new(Duration::from_secs(60), Arc::new(SystemClock)));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (ticket, service) = text.split_once('\n').unwrap_or((text, text));

    let _ = TicketRegistry::well_formed(ticket);
    match TICKETS.validate(ticket, service) {
        Err(ValidationError::InvalidRequest) => {
            assert!(ticket.is_empty() || service.is_empty())
        }
        Err(_) => {}
        Ok(grant) => panic!("a made-up ticket {ticket:?} validated: {grant:?}"),
    }

    let Some((registered, url)) = REGISTRY.matching(service) else {
        return;
    };
    let base = &registered.url;
    assert_eq!(url.scheme(), base.scheme(), "{service:?}");
    assert_eq!(url.host(), base.host(), "{service:?}");
    assert_eq!(
        url.port_or_known_default(),
        base.port_or_known_default(),
        "{service:?}"
    );
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{service:?}"
    );
    let under = if base.path().ends_with('/') {
        url.path().starts_with(base.path())
    } else {
        url.path() == base.path() || url.path().starts_with(&format!("{}/", base.path()))
    };
    assert!(under, "{service:?} is outside {base}");

    let grant = Grant {
        user: "lea".into(),
        service_id: registered.id.clone(),
        session: "s1".into(),
    };
    let issued = TICKETS.issue(url.clone(), grant.clone());
    assert!(TicketRegistry::well_formed(issued.as_str()));
    assert_eq!(TICKETS.validate(issued.as_str(), service), Ok(grant));
    assert_eq!(
        TICKETS.validate(issued.as_str(), service),
        Err(ValidationError::InvalidTicket)
    );
    let _ = TICKETS.end_session("s1");
});
