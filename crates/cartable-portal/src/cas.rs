//! The CAS state of one portal node: the services it issues tickets to, its tickets, the
//! back-channel logout, and the external server it delegates logins to. The URLs are
//! served by the `cas` area of the web layer (`web/cas.rs`).
//!
//! **Server**: the portal issues service tickets to the services the établissement
//! registers (`[cas]`), so a user who opens one from the ENT arrives authenticated.
//!
//! **Client** (`[auth] method = "cas"`): the portal's own login is delegated to an
//! académie's CAS server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cartable_cas::{ServiceRegistry, TicketRegistry, response};
use cartable_fetch::{Fetcher, HostPolicy, OutboundRequest};
use cartable_socle::{Clock, SessionId, SocleError};
use url::Url;

use crate::config::{AuthMethod, Config};

/// How long a back-channel call (validation, single logout) may take.
pub(crate) const BACK_CHANNEL: Duration = Duration::from_secs(5);

/// CAS state of one portal node.
pub(crate) struct Cas {
    /// The services tickets are issued to.
    pub(crate) registry: ServiceRegistry,
    /// The tickets issued and not yet validated, and the services each session visited.
    pub(crate) tickets: TicketRegistry,
    /// Reaches only the registered services, for single logout.
    slo: Fetcher,
    /// The external server logins are delegated to, if any.
    pub(crate) client: Option<Client>,
}

/// The portal as a client of an external CAS server.
pub(crate) struct Client {
    /// The server's prefix, ending with `/`.
    pub(crate) server: Url,
    /// Reaches only the server.
    pub(crate) fetcher: Fetcher,
    /// Ticket → portal session, so the server's logout request finds the session.
    pub(crate) sessions: Mutex<HashMap<String, SessionId>>,
}

impl Cas {
    /// Build from the configuration (already validated).
    pub(crate) fn new(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, SocleError> {
        let registry = ServiceRegistry::new(config.cas.services.clone())
            .map_err(|e| SocleError::Invalid(format!("[cas] {e}")))?;
        let policy = registry
            .services()
            .iter()
            .filter_map(|s| host_entry(&s.url))
            .fold(HostPolicy::new(), |p, e| p.allow(&e));
        let client = match (config.auth.method, &config.auth.cas_server) {
            (AuthMethod::Cas, Some(server)) => {
                let entry = host_entry(server).ok_or_else(|| {
                    SocleError::Invalid(format!("[auth] cas_server {server} has no host"))
                })?;
                let mut server = server.clone();
                if !server.path().ends_with('/') {
                    server.set_path(&format!("{}/", server.path()));
                }
                Some(Client {
                    server,
                    fetcher: Fetcher::new(HostPolicy::new().allow(&entry)),
                    sessions: Mutex::new(HashMap::new()),
                })
            }
            _ => None,
        };
        Ok(Cas {
            registry,
            tickets: TicketRegistry::new(Duration::from_secs(config.cas.ticket_seconds), clock),
            slo: Fetcher::new(policy),
            client,
        })
    }

    /// Whether logins go to an external CAS server.
    pub(crate) fn delegates_login(&self) -> bool {
        self.client.is_some()
    }

    /// The external server's login, to come back to `service` (`None` without one).
    pub(crate) fn client_login(&self, service: &Url) -> Option<Result<Url, url::ParseError>> {
        let client = self.client.as_ref()?;
        Some(client.server.join("login").map(|mut target| {
            target
                .query_pairs_mut()
                .append_pair("service", service.as_str());
            target
        }))
    }

    /// The external server's logout, to come back to `back` (`None` without a server).
    pub(crate) fn client_logout(&self, back: Option<&Url>) -> Option<String> {
        let client = self.client.as_ref()?;
        let mut target = client.server.join("logout").ok()?;
        if let Some(back) = back {
            target
                .query_pairs_mut()
                .append_pair("service", back.as_str());
        }
        Some(target.to_string())
    }

    /// Send a back-channel logout request to every service that validated a ticket in
    /// the session (in the background: a slow service does not hold the user's logout).
    pub(crate) fn single_logout(&self, session: &str, now: SystemTime) {
        let visited = self.tickets.end_session(session);
        let instant = cartable_socle::format_generalized_time(now);
        // 20261126080000Z → 2026-11-26T08:00:00Z (xsd:dateTime).
        let instant = if instant.len() == 15 {
            format!(
                "{}-{}-{}T{}:{}:{}Z",
                &instant[0..4],
                &instant[4..6],
                &instant[6..8],
                &instant[8..10],
                &instant[10..12],
                &instant[12..14]
            )
        } else {
            instant
        };
        for (url, ticket) in visited {
            let fetcher = self.slo.clone();
            let xml = response::logout_request(
                &ticket,
                &format!("LR-{}", cartable_socle::random_token()),
                &instant,
            );
            let body = format!("logoutRequest={}", encode(&xml));
            tokio::spawn(async move {
                let request =
                    OutboundRequest::post(url.clone(), "application/x-www-form-urlencoded", body)
                        .timeout(BACK_CHANNEL);
                match fetcher.send(request).await {
                    Ok(r) => {
                        tracing::info!(service = %url, status = %r.status, "single logout sent")
                    }
                    Err(e) => tracing::warn!(service = %url, "single logout failed: {e}"),
                }
            });
        }
    }
}

/// `host:port` of a URL, as an allowed-host entry.
fn host_entry(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// Percent-encode a query value.
pub(crate) fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
