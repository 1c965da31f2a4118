//! Single sign-on with CAS 3.0, both ways.
//!
//! **Server**: the portal issues service tickets to the services the établissement
//! registers (`[cas]`), so a user who opens one from the ENT arrives authenticated.
//!
//! | URL | what |
//! |---|---|
//! | `GET /cas/login?service=` | a ticket for a portal session, else the login form first |
//! | `GET /cas/serviceValidate`, `GET /cas/p3/serviceValidate` | validation, XML or `format=JSON`, with attributes |
//! | `GET /cas/logout` | ends the session and sends back-channel logout to the services visited |
//!
//! **Client** (`[auth] method = "cas"`): the portal's own login is delegated to an
//! académie's CAS server; `GET /login/cas` receives the ticket, `POST /login/cas` the
//! server's single logout requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartable_cas::{Grant, ServiceRegistry, TicketRegistry, ValidationError, response};
use cartable_fetch::{Fetcher, HostPolicy, OutboundRequest};
use cartable_socle::{AccountStatus, Clock, Session, SessionId, SocleError};
use http::{HeaderValue, Response, StatusCode, header};
use url::Url;

use crate::config::{AuthMethod, Config};
use crate::http::{Request, redirect};
use crate::routes::{Caller, Fail, Handled};
use crate::state::State;

/// How long a back-channel call (validation, single logout) may take.
const BACK_CHANNEL: Duration = Duration::from_secs(5);

/// CAS state of one portal node.
pub(crate) struct Cas {
    registry: ServiceRegistry,
    tickets: TicketRegistry,
    /// Reaches only the registered services, for single logout.
    slo: Fetcher,
    client: Option<Client>,
}

/// The portal as a client of an external CAS server.
struct Client {
    server: Url,
    fetcher: Fetcher,
    /// Ticket → portal session, so the server's logout request finds the session.
    sessions: Mutex<HashMap<String, SessionId>>,
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
}

/// `host:port` of a URL, as an allowed-host entry.
fn host_entry(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query<'a>(req: &'a Request, name: &str) -> &'a str {
    req.query.get(name).map_or("", String::as_str)
}

// ---------------------------------------------------------------------------------------
// Server.

/// `GET /cas/login?service=…[&gateway=true]`.
pub(crate) async fn login(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    let service = query(req, "service");
    let Some((registered, url)) = state.cas.registry.matching(service) else {
        tracing::info!(service, "CAS login refused: the service is not registered");
        return Err(Fail::BadRequest(
            caller.lang.t("cas_unknown_service").to_string(),
        ));
    };
    let (Some(user), Some(session)) = (&caller.user, &caller.session) else {
        if matches!(query(req, "gateway"), "true" | "1") {
            return Ok(redirect(url.as_str()));
        }
        let back = format!("{}/cas/login?service={}", state.base, encode(url.as_str()));
        return Ok(redirect(&format!(
            "{}/login?next={}",
            state.base,
            encode(&back)
        )));
    };
    if !registered.allows(user) {
        tracing::info!(user = %user.id, service = %registered.id, "CAS login refused: profile not allowed");
        return Err(Fail::Forbidden);
    }
    let ticket = state.cas.tickets.issue(
        url.clone(),
        Grant {
            user: user.id.clone(),
            service_id: registered.id.clone(),
            session: session.id.as_str().to_string(),
        },
    );
    let mut target = url;
    target
        .query_pairs_mut()
        .append_pair("ticket", ticket.as_str());
    tracing::info!(user = %user.id, service = %registered.id, "CAS service ticket issued");
    Ok(redirect(target.as_str()))
}

/// `GET /cas/serviceValidate` and `GET /cas/p3/serviceValidate`: both release the
/// service's attributes (CAS 3.0); `format=JSON` answers JSON.
pub(crate) async fn validate(state: &Arc<State>, req: &Request) -> Handled {
    let json = query(req, "format").eq_ignore_ascii_case("json");
    let answer = |status: StatusCode, body: String| {
        let mut r = Response::new(crate::http::full(body));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if json {
                "application/json; charset=utf-8"
            } else {
                "application/xml; charset=utf-8"
            }),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    };
    let failure = |e: &ValidationError| {
        tracing::info!(code = e.code(), "CAS validation refused");
        if json {
            response::failure_json(e)
        } else {
            response::failure_xml(e)
        }
    };
    // Proxy tickets and renew are not offered: say so rather than pretend.
    if !query(req, "pgtUrl").is_empty() || matches!(query(req, "renew"), "true" | "1") {
        return Ok(answer(
            StatusCode::OK,
            failure(&ValidationError::InvalidRequest),
        ));
    }
    let grant = match state
        .cas
        .tickets
        .validate(query(req, "ticket"), query(req, "service"))
    {
        Ok(grant) => grant,
        Err(e) => return Ok(answer(StatusCode::OK, failure(&e))),
    };
    let person = state.effective_person(&grant.user).await?;
    let (Some(person), Some(registered)) = (person, state.cas.registry.get(&grant.service_id))
    else {
        return Ok(answer(
            StatusCode::OK,
            failure(&ValidationError::InvalidTicket),
        ));
    };
    let attributes = registered.released(&person);
    tracing::info!(user = %person.id, service = %registered.id, "CAS ticket validated");
    Ok(answer(
        StatusCode::OK,
        if json {
            response::success_json(&person.id, &attributes)
        } else {
            response::success_xml(&person.id, &attributes)
        },
    ))
}

/// `GET /cas/logout[?service=]`: end the session, then the services' sessions.
pub(crate) async fn logout(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    if let Some(session) = caller.session.as_ref().filter(|_| !caller.visitor) {
        end_session(state, session).await?;
    }
    let target = match state.cas.registry.matching(query(req, "service")) {
        Some((_, url)) => url.to_string(),
        None => format!("{}/login", state.base),
    };
    Ok(crate::routes::without_session(state, redirect(&target)))
}

/// End a portal session: delete it, then send a back-channel logout request to every
/// service that validated a ticket in it (in the background: a slow service does not
/// hold the user's logout).
pub(crate) async fn end_session(state: &Arc<State>, session: &Session) -> Result<(), SocleError> {
    state.sessions.delete_session(&session.id).await?;
    let visited = state.cas.tickets.end_session(session.id.as_str());
    let instant = cartable_socle::format_generalized_time(state.clock.now());
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
        let fetcher = state.cas.slo.clone();
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
                Ok(r) => tracing::info!(service = %url, status = %r.status, "single logout sent"),
                Err(e) => tracing::warn!(service = %url, "single logout failed: {e}"),
            }
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Client.

/// The URL the external server sends the user back to (the "service" of the portal).
fn callback(state: &State, req: &Request, next: &str) -> Result<Url, Fail> {
    let mut url = match (&state.config.auth.public_url, &req.host) {
        (Some(public), _) => public.clone(),
        (None, Some(host)) => Url::parse(&format!("http://{host}/"))
            .map_err(|_| Fail::BadRequest("unreadable Host header".into()))?,
        (None, None) => {
            return Err(Fail::Internal(
                "no [auth] public_url and no Host header: cannot build the CAS service URL".into(),
            ));
        }
    };
    url.set_path(&format!("{}/login/cas", state.base));
    url.set_query(None);
    url.query_pairs_mut().append_pair("next", next);
    Ok(url)
}

/// `GET /login` when login is delegated: off to the CAS server.
pub(crate) fn client_redirect(state: &State, req: &Request, next: &str) -> Handled {
    let Some(client) = &state.cas.client else {
        return Err(Fail::NotFound);
    };
    let service = callback(state, req, next)?;
    let mut target = client
        .server
        .join("login")
        .map_err(|e| Fail::Internal(format!("CAS server URL: {e}")))?;
    target
        .query_pairs_mut()
        .append_pair("service", service.as_str());
    Ok(redirect(target.as_str()))
}

/// Where the portal's logout sends the browser when login is delegated: the CAS
/// server's logout, back to the portal afterwards.
pub(crate) fn client_logout_target(state: &State, req: &Request) -> Option<String> {
    let client = state.cas.client.as_ref()?;
    let mut target = client.server.join("logout").ok()?;
    if let Ok(mut back) = callback(state, req, "/") {
        back.set_path(&format!("{}/", state.base));
        back.set_query(None);
        target
            .query_pairs_mut()
            .append_pair("service", back.as_str());
    }
    Some(target.to_string())
}

/// `GET /login/cas?ticket=…&next=…`: validate the ticket with the server, then open a
/// portal session for the user the server names (who must be in the directory).
pub(crate) async fn client_callback(state: &Arc<State>, caller: &Caller, req: &Request) -> Handled {
    let Some(client) = &state.cas.client else {
        return Err(Fail::NotFound);
    };
    let lang = caller.lang;
    let ticket = query(req, "ticket");
    if !TicketRegistry::well_formed(ticket) {
        return Err(Fail::BadRequest(lang.t("cas_bad_ticket").to_string()));
    }
    let home = format!("{}/", state.base);
    let next = crate::routes::next_target(state, req.query.get("next").map(String::as_str), &home)
        .to_string();
    let service = callback(state, req, &next)?;
    let mut url = client
        .server
        .join("p3/serviceValidate")
        .map_err(|e| Fail::Internal(format!("CAS server URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("service", service.as_str())
        .append_pair("ticket", ticket);
    let answer = client
        .fetcher
        .send(
            OutboundRequest::get(url)
                .timeout(BACK_CHANNEL)
                .max_body(64 * 1024)
                .max_redirects(0),
        )
        .await
        .map_err(|e| {
            Fail::Unavailable(SocleError::Unavailable {
                backend: "CAS server",
                detail: e.to_string(),
            })
        })?;
    let text = String::from_utf8_lossy(&answer.body);
    let user = match cartable_cas::client::parse_validation(&text) {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("CAS ticket refused by the server: {e}");
            return Err(Fail::BadRequest(lang.t("cas_refused").to_string()));
        }
    };
    let Some(person) = state.services.directory.person(&user.user).await? else {
        tracing::warn!(user = %user.user, "CAS user unknown to the directory");
        return Err(Fail::BadRequest(lang.t("cas_unknown_user").to_string()));
    };
    if state.lifecycle.status(&person, state.clock.now()) != AccountStatus::Active {
        return Err(Fail::BadRequest(lang.t("account_disabled").to_string()));
    }
    let (response, session) = crate::routes::open_session(state, caller, person, &next).await?;
    client
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(ticket.to_string(), session);
    Ok(response)
}

/// `POST /login/cas` with `logoutRequest`: the server ends the session opened with a
/// ticket. It comes from the server, not a browser, so it carries no CSRF token; it can
/// only end a session whose ticket it names.
pub(crate) async fn client_single_logout(state: &Arc<State>, req: &Request) -> Handled {
    let Some(client) = &state.cas.client else {
        return Err(Fail::NotFound);
    };
    let ticket = req
        .form
        .get("logoutRequest")
        .and_then(|xml| cartable_cas::client::parse_logout_request(xml));
    let Some(ticket) = ticket else {
        return Err(Fail::BadRequest(
            "logoutRequest missing or unreadable".into(),
        ));
    };
    let session = client
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&ticket);
    if let Some(id) = session {
        state.sessions.delete_session(&id).await?;
        tracing::info!("session ended by the CAS server's single logout");
    }
    Ok(crate::http::text(StatusCode::OK, "ok"))
}

/// Whether a POST is the CAS server's back-channel logout (exempt from CSRF).
pub(crate) fn is_back_channel(state: &State, req: &Request) -> bool {
    state.cas.delegates_login() && req.route() == ["login", "cas"]
}
