//! WebDAV (RFC 4918), CalDAV (RFC 4791), CardDAV (RFC 6352) and sync-collection
//! (RFC 6578) over the portlet contract's [`DavService`]: the protocol only, no server.
//!
//! The portal authenticates the client (HTTP Basic with an application password), picks
//! the services the user may use ([`Mount`]), and hands each request to [`Dav::handle`],
//! which answers `OPTIONS`, `PROPFIND`, `PROPPATCH`, `REPORT`, `GET`, `HEAD`, `PUT` and
//! `DELETE`. URL layout, below the DAV root (`<base>/dav`):
//!
//! ```text
//! /                                       root (discovery: current-user-principal)
//! /principals/                            the principal collection
//! /principals/<uid>/                      the user; her home sets
//! /<portlet>/<uid>/                       her home set in one service (never itself a
//!                                         calendar or an address book)
//! /<portlet>/<uid>/<collection>/          a calendar or an address book
//! /<portlet>/<uid>/<collection>/<member>  an event or a card
//! ```
//!
//! A request outside the DAV root (the server's root `/`, the portal's base) is
//! answered as the root: Apple's clients start discovery there and give up on a `404`
//! or a `405`.

pub mod memory;
mod xml;

use bytes::Bytes;
use cartable_portlet::PortletError;
use cartable_portlet::dav::{
    DavCollection, DavError, DavKind, DavMember, DavPut, DavResource, DavService, Precondition,
    TimeRange,
};
use cartable_portlet::export::DataContext;
use chrono::{NaiveDateTime, TimeZone, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

pub use xml::{APPLE, CALDAV, CARDDAV, CS, DAV};
use xml::{Elem, Name, element, escape};

/// The `DAV:` header of every answer: class 1 and 3 WebDAV, CalDAV, CardDAV.
pub const DAV_HEADER: &str = "1, 3, calendar-access, addressbook";
/// The methods answered.
pub const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT";
/// The prefix of sync tokens as clients see them (a URI, RFC 6578 §6.2).
const SYNC_PREFIX: &str = "urn:cartable:sync:";

/// A service whose collections are served, under `<root>/<id>/`.
#[derive(Clone, Copy)]
pub struct Mount<'a> {
    /// The portlet's id (the URL segment).
    pub id: &'a str,
    /// Its DAV capability.
    pub service: &'a dyn DavService,
}

/// One request, as the portal received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its method (`PROPFIND`, `REPORT`…).
    pub method: Method,
    /// Its path, still percent-encoded.
    pub path: String,
    /// Its headers (`Depth`, `If-Match`, `If-None-Match`).
    pub headers: HeaderMap,
    /// Its body, whole (the portal bounds it).
    pub body: Bytes,
}

/// The answer.
pub type Response = http::Response<Bytes>;

/// The DAV server of one authenticated request.
pub struct Dav<'a> {
    /// The absolute path of the DAV root, without a trailing `/` (`/ent/dav`).
    pub root: &'a str,
    /// The user (`cx.user()`) and the socle services.
    pub cx: &'a DataContext,
    /// The services she may use that have collections, in the portal's order.
    pub mounts: &'a [Mount<'a>],
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Root,
    Principals,
    Principal,
    Home(usize),
    Collection(usize, String),
    Member(usize, String, String),
}

/// Characters kept as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'@');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A failure, as a status and an optional `DAV:error` body.
struct Fail {
    status: StatusCode,
    precondition: Option<&'static str>,
    message: String,
}

impl Fail {
    fn new(status: StatusCode, message: impl Into<String>) -> Fail {
        Fail {
            status,
            precondition: None,
            message: message.into(),
        }
    }

    fn not_found() -> Fail {
        Fail::new(StatusCode::NOT_FOUND, "no such resource")
    }

    fn with(mut self, precondition: &'static str) -> Fail {
        self.precondition = Some(precondition);
        self
    }

    /// A failed `PUT` into a collection of `kind`: a body the service refuses names the
    /// precondition of that kind only, `CALDAV:valid-calendar-data` (RFC 4791 §5.3.2.1)
    /// or `CARDDAV:valid-address-data` (RFC 6352 §6.3.2.1).
    fn of_put(e: DavError, kind: DavKind) -> Fail {
        match e {
            DavError::Unsupported(m) => Fail::new(StatusCode::FORBIDDEN, m).with(match kind {
                DavKind::Calendar => "<c:valid-calendar-data/>",
                DavKind::AddressBook => "<card:valid-address-data/>",
            }),
            other => Fail::from(other),
        }
    }

    fn response(self) -> Response {
        let body = match self.precondition {
            Some(p) => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error {}>{p}<d:responsedescription>{}</d:responsedescription></d:error>",
                xml::DECLARATIONS,
                escape(&self.message)
            ),
            None => format!("{}\n", self.message),
        };
        let ctype = if self.precondition.is_some() {
            "application/xml; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        };
        let mut r = http::Response::new(Bytes::from(body));
        *r.status_mut() = self.status;
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        r
    }
}

impl From<DavError> for Fail {
    fn from(e: DavError) -> Fail {
        match e {
            DavError::NotFound(m) => Fail::new(StatusCode::NOT_FOUND, m),
            DavError::Forbidden(m) => {
                Fail::new(StatusCode::FORBIDDEN, m).with("<d:need-privileges/>")
            }
            DavError::PreconditionFailed(m) => Fail::new(StatusCode::PRECONDITION_FAILED, m),
            // Which data was refused is the collection's kind: `Fail::of_put`.
            DavError::Unsupported(m) => Fail::new(StatusCode::FORBIDDEN, m),
            DavError::TooLarge(m) => Fail::new(StatusCode::INSUFFICIENT_STORAGE, m),
            DavError::InvalidSyncToken(m) => {
                Fail::new(StatusCode::FORBIDDEN, m).with("<d:valid-sync-token/>")
            }
            DavError::Portlet(e) => {
                let status = match &e {
                    PortletError::NotFound(_) => StatusCode::NOT_FOUND,
                    PortletError::Forbidden => StatusCode::FORBIDDEN,
                    PortletError::BadRequest(_) | PortletError::Invalid(_) => {
                        StatusCode::BAD_REQUEST
                    }
                    PortletError::Conflict(_) => StatusCode::CONFLICT,
                    PortletError::Socle(cartable_socle::SocleError::Unavailable { .. }) => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                if status.is_server_error() {
                    tracing::error!("DAV call failed: {e}");
                    Fail::new(status, "the service failed; try again later")
                } else {
                    Fail::new(status, e.to_string())
                }
            }
            other => Fail::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

type Answer = Result<Response, Fail>;

/// An answer with a body and a content type.
fn answer(status: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Response {
    let mut r = http::Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// An empty answer.
fn empty(status: StatusCode) -> Response {
    let mut r = http::Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// The `OPTIONS` answer, also fit for any path (discovery).
pub fn options() -> Response {
    let mut r = empty(StatusCode::OK);
    let h = r.headers_mut();
    h.insert("dav", HeaderValue::from_static(DAV_HEADER));
    h.insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    r
}

/// The `401` that asks a client for its login and application password.
pub fn unauthorized(realm: &str) -> Response {
    let mut r = answer(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        "Log in with your ENT login and an application password made on your account page \
         (never your ENT password).\n",
    );
    let value = format!(
        "Basic realm=\"{}\", charset=\"UTF-8\"",
        realm.replace('"', "")
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r.headers_mut()
        .insert("dav", HeaderValue::from_static(DAV_HEADER));
    r
}

/// What a `PROPFIND` asks.
enum Asked {
    All,
    Names,
    Props(Vec<Name>),
}

/// A resource found, with what its properties need.
enum Found {
    Root,
    Principals,
    Principal,
    Home(usize),
    Collection(usize, DavCollection),
    Member(usize, DavCollection, DavMember, Option<Bytes>),
}

impl<'a> Dav<'a> {
    /// Answer one request.
    pub async fn handle(&self, req: &Request) -> Response {
        let out = self.dispatch(req).await;
        let mut r = out.unwrap_or_else(Fail::response);
        r.headers_mut()
            .insert("dav", HeaderValue::from_static(DAV_HEADER));
        r
    }

    async fn dispatch(&self, req: &Request) -> Answer {
        let target = self.target(&req.path)?;
        match req.method.as_str() {
            "OPTIONS" => Ok(options()),
            "PROPFIND" => self.propfind(req, target).await,
            "PROPPATCH" => self.proppatch(req, target).await,
            "REPORT" => self.report(req, target).await,
            "GET" | "HEAD" => self.get(target).await,
            "PUT" => self.put(req, target).await,
            "DELETE" => self.delete(req, target).await,
            "MKCOL" | "MKCALENDAR" => Err(Fail::new(
                StatusCode::FORBIDDEN,
                "collections are made by the ENT's services, not by clients",
            )),
            _ => {
                let mut r = answer(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "text/plain; charset=utf-8",
                    "Method not allowed\n",
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
                Ok(r)
            }
        }
    }

    fn uid(&self) -> &str {
        &self.cx.user().id
    }

    fn principal_href(&self) -> String {
        format!("{}/principals/{}/", self.root, enc(self.uid()))
    }

    fn home_href(&self, m: usize) -> String {
        format!(
            "{}/{}/{}/",
            self.root,
            enc(self.mounts[m].id),
            enc(self.uid())
        )
    }

    fn collection_href(&self, m: usize, c: &str) -> String {
        format!("{}{}/", self.home_href(m), enc(c))
    }

    fn member_href(&self, m: usize, c: &str, name: &str) -> String {
        format!("{}{}/{}", self.home_href(m), enc(c), enc(name))
    }

    fn href(&self, found: &Found) -> String {
        match found {
            Found::Root => format!("{}/", self.root),
            Found::Principals => format!("{}/principals/", self.root),
            Found::Principal => self.principal_href(),
            Found::Home(m) => self.home_href(*m),
            Found::Collection(m, c) => self.collection_href(*m, &c.id),
            Found::Member(m, c, member, _) => self.member_href(*m, &c.id, &member.name),
        }
    }

    /// What a path names: outside the DAV root, the root; another user's URL is `404`.
    fn target(&self, path: &str) -> Result<Target, Fail> {
        let path = path.split('?').next().unwrap_or("");
        let Some(rest) = path.strip_prefix(self.root) else {
            return Ok(Target::Root);
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Ok(Target::Root);
        }
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let mine = |uid: &str| {
            if uid == self.uid() {
                Ok(())
            } else {
                Err(Fail::not_found())
            }
        };
        let mount = |id: &str| {
            self.mounts
                .iter()
                .position(|m| m.id == id)
                .ok_or_else(Fail::not_found)
        };
        match segments.as_slice() {
            [] => Ok(Target::Root),
            [p] if p == "principals" => Ok(Target::Principals),
            [p, uid] if p == "principals" => {
                mine(uid)?;
                Ok(Target::Principal)
            }
            [p, uid] => {
                let m = mount(p)?;
                mine(uid)?;
                Ok(Target::Home(m))
            }
            [p, uid, c] => {
                let m = mount(p)?;
                mine(uid)?;
                Ok(Target::Collection(m, c.clone()))
            }
            [p, uid, c, name] => {
                let m = mount(p)?;
                mine(uid)?;
                Ok(Target::Member(m, c.clone(), name.clone()))
            }
            _ => Err(Fail::not_found()),
        }
    }

    /// A collection she may read, by id.
    async fn collection(&self, m: usize, id: &str) -> Result<DavCollection, Fail> {
        self.mounts[m]
            .service
            .collections(self.cx)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(Fail::not_found)
    }

    async fn found(&self, target: &Target) -> Result<Found, Fail> {
        Ok(match target {
            Target::Root => Found::Root,
            Target::Principals => Found::Principals,
            Target::Principal => Found::Principal,
            Target::Home(m) => Found::Home(*m),
            Target::Collection(m, c) => Found::Collection(*m, self.collection(*m, c).await?),
            Target::Member(m, c, name) => {
                let coll = self.collection(*m, c).await?;
                let r = self.mounts[*m]
                    .service
                    .get(self.cx, c, name)
                    .await?
                    .ok_or_else(Fail::not_found)?;
                Found::Member(*m, coll, r.member, Some(r.body))
            }
        })
    }

    // -----------------------------------------------------------------------------
    // PROPFIND

    async fn propfind(&self, req: &Request, target: Target) -> Answer {
        let body = xml::parse(&req.body).map_err(|m| Fail::new(StatusCode::BAD_REQUEST, m))?;
        let asked = match &body {
            None => Asked::All,
            Some(root) if root.is(DAV, "propfind") => {
                if let Some(prop) = root.child(DAV, "prop") {
                    Asked::Props(
                        prop.children
                            .iter()
                            .filter_map(|c| c.name.clone())
                            .collect(),
                    )
                } else if root.child(DAV, "propname").is_some() {
                    Asked::Names
                } else {
                    Asked::All
                }
            }
            Some(_) => {
                return Err(Fail::new(
                    StatusCode::BAD_REQUEST,
                    "a PROPFIND body is a DAV:propfind element",
                ));
            }
        };
        // Depth: 0 or 1; "infinity" (or none) is answered as 1 (RFC 4918 §9.1 lets a
        // server refuse it; clients only ever need one level).
        let depth1 = header_text(&req.headers, "depth").is_none_or(|d| d.trim() != "0");
        let found = self.found(&target).await?;
        let mut out = Multistatus::new();
        let needs_body = false;
        self.write_props(&mut out, &found, &asked);
        if depth1 {
            for child in self.children(&found, needs_body).await? {
                self.write_props(&mut out, &child, &asked);
            }
        }
        Ok(out.finish())
    }

    async fn children(&self, found: &Found, _bodies: bool) -> Result<Vec<Found>, Fail> {
        Ok(match found {
            Found::Root => {
                let mut v = vec![Found::Principals, Found::Principal];
                v.extend((0..self.mounts.len()).map(Found::Home));
                v
            }
            Found::Principals => vec![Found::Principal],
            Found::Principal | Found::Member(..) => Vec::new(),
            Found::Home(m) => self.mounts[*m]
                .service
                .collections(self.cx)
                .await?
                .into_iter()
                .map(|c| Found::Collection(*m, c))
                .collect(),
            Found::Collection(m, c) => self.mounts[*m]
                .service
                .members(self.cx, &c.id, None)
                .await?
                .into_iter()
                .map(|member| Found::Member(*m, c.clone(), member, None))
                .collect(),
        })
    }

    /// The names of the properties a resource has (allprop, propname).
    fn prop_names(&self, found: &Found) -> Vec<Name> {
        let mut names = vec![
            Name::new(DAV, "resourcetype"),
            Name::new(DAV, "current-user-principal"),
            Name::new(DAV, "current-user-privilege-set"),
        ];
        match found {
            Found::Root | Found::Principals | Found::Home(_) => {
                names.push(Name::new(DAV, "displayname"));
            }
            Found::Principal => {
                names.push(Name::new(DAV, "displayname"));
                names.push(Name::new(DAV, "principal-URL"));
            }
            Found::Collection(m, c) => {
                names.push(Name::new(DAV, "displayname"));
                names.push(Name::new(DAV, "sync-token"));
                names.push(Name::new(CS, "getctag"));
                names.push(Name::new(DAV, "supported-report-set"));
                if self.mounts[*m].service.kind() == DavKind::Calendar {
                    names.push(Name::new(CALDAV, "supported-calendar-component-set"));
                }
                if c.color.is_some() {
                    names.push(Name::new(APPLE, "calendar-color"));
                }
            }
            Found::Member(..) => {
                names.push(Name::new(DAV, "getetag"));
                names.push(Name::new(DAV, "getcontenttype"));
            }
        }
        names
    }

    fn write_props(&self, out: &mut Multistatus, found: &Found, asked: &Asked) {
        let href = self.href(found);
        match asked {
            Asked::Names => {
                let names = self.prop_names(found);
                out.response(&href, names.iter().map(|n| (n, Some(String::new()))));
            }
            Asked::All => {
                let names = self.prop_names(found);
                let values: Vec<(Name, Option<String>)> = names
                    .into_iter()
                    .map(|n| {
                        let v = self.prop(found, &n);
                        (n, v)
                    })
                    .filter(|(_, v)| v.is_some())
                    .collect();
                out.response(&href, values.iter().map(|(n, v)| (n, v.clone())));
            }
            Asked::Props(names) => {
                let values: Vec<(&Name, Option<String>)> =
                    names.iter().map(|n| (n, self.prop(found, n))).collect();
                out.response(&href, values.into_iter());
            }
        }
    }

    /// A property's XML content, `None` when the resource has no such property.
    fn prop(&self, found: &Found, name: &Name) -> Option<String> {
        let kind = |m: &usize| self.mounts[*m].service.kind();
        let href = |h: String| format!("<d:href>{}</d:href>", escape(&h));
        let homes = |k: DavKind| -> Option<String> {
            let hrefs: String = (0..self.mounts.len())
                .filter(|m| kind(m) == k)
                .map(|m| href(self.home_href(m)))
                .collect();
            (!hrefs.is_empty()).then_some(hrefs)
        };
        let ns = name.ns.as_str();
        let local = name.local.as_str();
        match (ns, local, found) {
            (DAV, "resourcetype", f) => Some(match f {
                Found::Root | Found::Principals | Found::Home(_) => "<d:collection/>".into(),
                Found::Principal => "<d:collection/><d:principal/>".into(),
                Found::Collection(m, _) => match kind(m) {
                    DavKind::Calendar => "<d:collection/><c:calendar/>".into(),
                    DavKind::AddressBook => "<d:collection/><card:addressbook/>".into(),
                },
                Found::Member(..) => String::new(),
            }),
            (DAV, "displayname", Found::Root | Found::Principals) => Some("Cartable".into()),
            (DAV, "displayname", Found::Principal) => {
                Some(escape(&self.cx.user().display_name))
            }
            (DAV, "displayname", Found::Home(m)) => Some(escape(self.mounts[*m].id)),
            (DAV, "displayname", Found::Collection(_, c)) => Some(escape(&c.display_name)),
            (DAV, "current-user-principal", _) => Some(href(self.principal_href())),
            (DAV, "principal-URL", Found::Principal) => Some(href(self.principal_href())),
            (DAV, "principal-collection-set", _) => {
                Some(href(format!("{}/principals/", self.root)))
            }
            (DAV, "owner", Found::Principal | Found::Home(_) | Found::Collection(..)) => {
                Some(href(self.principal_href()))
            }
            (CALDAV, "calendar-home-set", Found::Principal) => homes(DavKind::Calendar),
            (CARDDAV, "addressbook-home-set", Found::Principal) => homes(DavKind::AddressBook),
            (CALDAV, "calendar-user-address-set", Found::Principal) => {
                let mut v = href(self.principal_href());
                if let Some(mail) = self.cx.user().attribute("mail") {
                    v.push_str(&href(format!("mailto:{mail}")));
                }
                Some(v)
            }
            (DAV, "current-user-privilege-set", f) => {
                let writable = match f {
                    Found::Collection(_, c) | Found::Member(_, c, _, _) => c.writable,
                    _ => false,
                };
                let mut v = String::from("<d:privilege><d:read/></d:privilege><d:privilege><d:read-current-user-privilege-set/></d:privilege>");
                if writable {
                    v.push_str("<d:privilege><d:write/></d:privilege><d:privilege><d:write-content/></d:privilege><d:privilege><d:bind/></d:privilege><d:privilege><d:unbind/></d:privilege>");
                }
                Some(v)
            }
            (DAV, "supported-report-set", Found::Collection(m, _)) => {
                let report = |r: &str| {
                    format!("<d:supported-report><d:report>{r}</d:report></d:supported-report>")
                };
                Some(match kind(m) {
                    DavKind::Calendar => [
                        report("<c:calendar-multiget/>"),
                        report("<c:calendar-query/>"),
                        report("<d:sync-collection/>"),
                    ]
                    .concat(),
                    DavKind::AddressBook => [
                        report("<card:addressbook-multiget/>"),
                        report("<card:addressbook-query/>"),
                        report("<d:sync-collection/>"),
                    ]
                    .concat(),
                })
            }
            (DAV, "supported-report-set", _) => Some(String::new()),
            (DAV, "sync-token", Found::Collection(_, c)) => {
                Some(escape(&format!("{SYNC_PREFIX}{}", c.sync_token)))
            }
            (CS, "getctag", Found::Collection(_, c)) => Some(escape(&c.ctag)),
            (CALDAV, "supported-calendar-component-set", Found::Collection(m, _))
                if kind(m) == DavKind::Calendar =>
            {
                Some("<c:comp name=\"VEVENT\"/>".into())
            }
            (CALDAV, "supported-calendar-data", Found::Collection(m, _))
                if kind(m) == DavKind::Calendar =>
            {
                Some("<c:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>".into())
            }
            (CARDDAV, "supported-address-data", Found::Collection(m, _))
                if kind(m) == DavKind::AddressBook =>
            {
                Some("<card:address-data-type content-type=\"text/vcard\" version=\"3.0\"/><card:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>".into())
            }
            (CALDAV, "calendar-description", Found::Collection(m, c))
                if kind(m) == DavKind::Calendar =>
            {
                c.description.as_deref().map(escape)
            }
            (CARDDAV, "addressbook-description", Found::Collection(m, c))
                if kind(m) == DavKind::AddressBook =>
            {
                c.description.as_deref().map(escape)
            }
            (APPLE, "calendar-color", Found::Collection(_, c)) => c.color.as_deref().map(escape),
            (DAV, "getetag", Found::Member(_, _, member, _)) => {
                Some(escape(&format!("\"{}\"", member.etag)))
            }
            (DAV, "getcontenttype", Found::Member(m, ..)) => Some(kind(m).media_type().into()),
            (DAV, "getcontentlength", Found::Member(_, _, _, Some(body))) => {
                Some(body.len().to_string())
            }
            (CALDAV, "calendar-data", Found::Member(m, _, _, Some(body)))
                if kind(m) == DavKind::Calendar =>
            {
                Some(escape(&String::from_utf8_lossy(body)))
            }
            (CARDDAV, "address-data", Found::Member(m, _, _, Some(body)))
                if kind(m) == DavKind::AddressBook =>
            {
                Some(escape(&String::from_utf8_lossy(body)))
            }
            _ => None,
        }
    }

    // -----------------------------------------------------------------------------
    // PROPPATCH: nothing is changeable by clients; each property is refused (403).

    async fn proppatch(&self, req: &Request, target: Target) -> Answer {
        let body = xml::parse(&req.body).map_err(|m| Fail::new(StatusCode::BAD_REQUEST, m))?;
        let found = self.found(&target).await?;
        let mut names = Vec::new();
        if let Some(root) = &body {
            let mut props = Vec::new();
            root.descendants(DAV, "prop", &mut props);
            for p in props {
                names.extend(p.children.iter().filter_map(|c| c.name.clone()));
            }
        }
        let mut out = Multistatus::new();
        out.refused(&self.href(&found), &names);
        Ok(out.finish())
    }

    // -----------------------------------------------------------------------------
    // REPORT

    async fn report(&self, req: &Request, target: Target) -> Answer {
        let body = xml::parse(&req.body)
            .map_err(|m| Fail::new(StatusCode::BAD_REQUEST, m))?
            .ok_or_else(|| Fail::new(StatusCode::BAD_REQUEST, "a REPORT needs a body"))?;
        let props: Vec<Name> = body
            .child(DAV, "prop")
            .map(|p| p.children.iter().filter_map(|c| c.name.clone()).collect())
            .unwrap_or_else(|| vec![Name::new(DAV, "getetag")]);
        let unsupported = || {
            Fail::new(StatusCode::FORBIDDEN, "this report is not supported here")
                .with("<d:supported-report/>")
        };
        let (m, coll) = match &target {
            Target::Collection(m, c) => (*m, self.collection(*m, c).await?),
            // A multiget may be sent to the member itself, or to the home (rare).
            Target::Member(m, c, _) => (*m, self.collection(*m, c).await?),
            _ => return Err(unsupported()),
        };
        let kind = self.mounts[m].service.kind();
        let is_calendar = kind == DavKind::Calendar;
        if (is_calendar && body.is(CALDAV, "calendar-multiget"))
            || (!is_calendar && body.is(CARDDAV, "addressbook-multiget"))
        {
            let mut hrefs = Vec::new();
            body.descendants(DAV, "href", &mut hrefs);
            return self.multiget(m, &coll, &hrefs, &props).await;
        }
        if is_calendar && body.is(CALDAV, "calendar-query") {
            let (range, other_component) = query_filter(&body)?;
            if other_component {
                return Ok(Multistatus::new().finish());
            }
            let members = self.mounts[m]
                .service
                .members(self.cx, &coll.id, range)
                .await?;
            return self.listed(m, &coll, members, &props).await;
        }
        if !is_calendar && body.is(CARDDAV, "addressbook-query") {
            let members = self.mounts[m]
                .service
                .members(self.cx, &coll.id, None)
                .await?;
            return self.listed(m, &coll, members, &props).await;
        }
        if body.is(DAV, "sync-collection") {
            return self.sync(m, &coll, &body, &props).await;
        }
        Err(unsupported())
    }

    /// Whether the properties need the members' bytes.
    fn needs_body(props: &[Name]) -> bool {
        props.iter().any(|p| {
            p.is(CALDAV, "calendar-data")
                || p.is(CARDDAV, "address-data")
                || p.is(DAV, "getcontentlength")
        })
    }

    async fn multiget(
        &self,
        m: usize,
        coll: &DavCollection,
        hrefs: &[&Elem],
        props: &[Name],
    ) -> Answer {
        let prefix = self.collection_href(m, &coll.id);
        let mut names = Vec::new();
        let mut out = Multistatus::new();
        for h in hrefs {
            let path = strip_origin(h.text.trim());
            match path
                .strip_prefix(&prefix)
                .or_else(|| decoded_prefix(path, &prefix))
            {
                Some(rest) if !rest.is_empty() && !rest.contains('/') => {
                    names.push(percent_decode_str(rest).decode_utf8_lossy().into_owned());
                }
                _ => out.missing(path),
            }
        }
        let got = self.mounts[m]
            .service
            .get_many(self.cx, &coll.id, &names)
            .await?;
        for name in &names {
            match got.iter().find(|r| &r.member.name == name) {
                Some(r) => self.write_member(&mut out, m, coll, r, props),
                None => out.missing(&self.member_href(m, &coll.id, name)),
            }
        }
        Ok(out.finish())
    }

    fn write_member(
        &self,
        out: &mut Multistatus,
        m: usize,
        coll: &DavCollection,
        r: &DavResource,
        props: &[Name],
    ) {
        let found = Found::Member(m, coll.clone(), r.member.clone(), Some(r.body.clone()));
        self.write_props(out, &found, &Asked::Props(props.to_vec()));
    }

    /// Members listed by a query: their properties, fetching bytes only when asked.
    async fn listed(
        &self,
        m: usize,
        coll: &DavCollection,
        members: Vec<DavMember>,
        props: &[Name],
    ) -> Answer {
        let mut out = Multistatus::new();
        if Self::needs_body(props) {
            let names: Vec<String> = members.iter().map(|x| x.name.clone()).collect();
            for r in self.mounts[m]
                .service
                .get_many(self.cx, &coll.id, &names)
                .await?
            {
                self.write_member(&mut out, m, coll, &r, props);
            }
        } else {
            for member in members {
                let found = Found::Member(m, coll.clone(), member, None);
                self.write_props(&mut out, &found, &Asked::Props(props.to_vec()));
            }
        }
        Ok(out.finish())
    }

    async fn sync(&self, m: usize, coll: &DavCollection, body: &Elem, props: &[Name]) -> Answer {
        let token = body
            .child(DAV, "sync-token")
            .map(|t| t.text.trim())
            .unwrap_or("");
        let since = if token.is_empty() {
            None
        } else {
            Some(token.strip_prefix(SYNC_PREFIX).ok_or_else(|| {
                Fail::new(StatusCode::FORBIDDEN, "this sync token was not issued here")
                    .with("<d:valid-sync-token/>")
            })?)
        };
        let changes = self.mounts[m]
            .service
            .changes(self.cx, &coll.id, since)
            .await?;
        let mut out = Multistatus::new();
        if Self::needs_body(props) {
            let names: Vec<String> = changes.changed.iter().map(|x| x.name.clone()).collect();
            let got = self.mounts[m]
                .service
                .get_many(self.cx, &coll.id, &names)
                .await?;
            for name in &names {
                match got.iter().find(|r| &r.member.name == name) {
                    Some(r) => self.write_member(&mut out, m, coll, r, props),
                    // Deleted between the two calls: the next sync says so.
                    None => out.missing(&self.member_href(m, &coll.id, name)),
                }
            }
        } else {
            for member in changes.changed {
                let found = Found::Member(m, coll.clone(), member, None);
                self.write_props(&mut out, &found, &Asked::Props(props.to_vec()));
            }
        }
        for name in &changes.removed {
            out.missing(&self.member_href(m, &coll.id, name));
        }
        out.sync_token(&format!("{SYNC_PREFIX}{}", changes.sync_token));
        Ok(out.finish())
    }

    // -----------------------------------------------------------------------------
    // GET, PUT, DELETE

    async fn get(&self, target: Target) -> Answer {
        let Target::Member(m, c, name) = target else {
            let mut r = answer(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "This is a WebDAV collection: a CalDAV or CardDAV client reads it with PROPFIND and REPORT.\n",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            return Ok(r);
        };
        self.collection(m, &c).await?;
        let r = self.mounts[m]
            .service
            .get(self.cx, &c, &name)
            .await?
            .ok_or_else(Fail::not_found)?;
        let mut out = answer(
            StatusCode::OK,
            self.mounts[m].service.kind().media_type(),
            r.body,
        );
        set_etag(&mut out, &r.member.etag);
        Ok(out)
    }

    async fn put(&self, req: &Request, target: Target) -> Answer {
        let Target::Member(m, c, name) = target else {
            return Err(Fail::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "PUT a member (<collection>/<name>.ics or .vcf), not a collection",
            ));
        };
        self.collection(m, &c).await?;
        let put = DavPut {
            name,
            precondition: precondition(&req.headers),
            body: req.body.clone(),
        };
        let service = self.mounts[m].service;
        let written = service
            .put(self.cx, &c, put)
            .await
            .map_err(|e| Fail::of_put(e, service.kind()))?;
        let status = if written.created {
            StatusCode::CREATED
        } else {
            StatusCode::NO_CONTENT
        };
        let mut out = empty(status);
        if written.verbatim {
            set_etag(&mut out, &written.etag);
        }
        Ok(out)
    }

    async fn delete(&self, req: &Request, target: Target) -> Answer {
        let Target::Member(m, c, name) = target else {
            return Err(Fail::new(
                StatusCode::FORBIDDEN,
                "collections are deleted in the ENT, not by clients",
            ));
        };
        self.collection(m, &c).await?;
        self.mounts[m]
            .service
            .delete(self.cx, &c, &name, precondition(&req.headers))
            .await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
}

fn set_etag(r: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An entity tag without its quotes and weakness mark.
fn bare_etag(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.trim_matches('"').to_string()
}

/// The write's precondition from `If-Match` / `If-None-Match`.
fn precondition(headers: &HeaderMap) -> Precondition {
    if let Some(m) = header_text(headers, "if-match") {
        let m = m.trim();
        if m == "*" {
            return Precondition::Exists;
        }
        // Several tags: the first (clients send one).
        let first = m.split(',').next().unwrap_or("");
        return Precondition::Matches(bare_etag(first));
    }
    if header_text(headers, "if-none-match").is_some_and(|v| v.trim() == "*") {
        return Precondition::Absent;
    }
    Precondition::None
}

/// A path from an href that may be an absolute URL.
fn strip_origin(href: &str) -> &str {
    match href.find("://") {
        Some(i) => {
            let after = &href[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => href,
    }
}

/// `path` below `prefix` when the client sent it decoded (or differently encoded).
fn decoded_prefix<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let decoded_prefix = percent_decode_str(prefix).decode_utf8_lossy();
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    if decoded.starts_with(decoded_prefix.as_ref()) {
        // The member name is the last segment of the path as sent.
        path.rsplit_once('/').map(|(_, name)| name)
    } else {
        None
    }
}

/// A calendar-query's time range, and whether it asks for another component than
/// VEVENT (the calendars here hold events only: such a query finds nothing).
fn query_filter(body: &Elem) -> Result<(Option<TimeRange>, bool), Fail> {
    let mut comps = Vec::new();
    body.descendants(CALDAV, "comp-filter", &mut comps);
    let other = comps
        .iter()
        .filter_map(|c| c.attr("name"))
        .any(|n| !n.eq_ignore_ascii_case("VCALENDAR") && !n.eq_ignore_ascii_case("VEVENT"));
    let mut ranges = Vec::new();
    body.descendants(CALDAV, "time-range", &mut ranges);
    let range = match ranges.first() {
        None => None,
        Some(r) => Some(TimeRange {
            start: r.attr("start").map(parse_utc).transpose()?,
            end: r.attr("end").map(parse_utc).transpose()?,
        }),
    };
    Ok((range, other))
}

/// `20260107T000000Z`.
fn parse_utc(s: &str) -> Result<chrono::DateTime<Utc>, Fail> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y%m%dT%H%M%SZ")
        .map(|n| Utc.from_utc_datetime(&n))
        .map_err(|_| {
            Fail::new(
                StatusCode::BAD_REQUEST,
                format!("time-range {s:?} is not a UTC date-time such as 20260107T000000Z"),
            )
            .with("<c:valid-filter/>")
        })
}

/// A `207 Multi-Status` being written.
struct Multistatus {
    body: String,
}

impl Multistatus {
    fn new() -> Multistatus {
        Multistatus {
            body: format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus {}>",
                xml::DECLARATIONS
            ),
        }
    }

    /// One resource: the properties it has (`Some`) in a `200` propstat, the others
    /// in a `404` one.
    fn response<'n>(
        &mut self,
        href: &str,
        props: impl Iterator<Item = (&'n Name, Option<String>)>,
    ) {
        let mut ok = String::new();
        let mut missing = String::new();
        for (name, value) in props {
            match value {
                Some(v) => ok.push_str(&element(name, Some(&v))),
                None => missing.push_str(&element(name, None)),
            }
        }
        self.body.push_str("<d:response><d:href>");
        self.body.push_str(&escape(href));
        self.body.push_str("</d:href>");
        if !ok.is_empty() || missing.is_empty() {
            self.body.push_str("<d:propstat><d:prop>");
            self.body.push_str(&ok);
            self.body
                .push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
        }
        if !missing.is_empty() {
            self.body.push_str("<d:propstat><d:prop>");
            self.body.push_str(&missing);
            self.body
                .push_str("</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>");
        }
        self.body.push_str("</d:response>");
    }

    /// Properties refused (`403`).
    fn refused(&mut self, href: &str, names: &[Name]) {
        self.body.push_str("<d:response><d:href>");
        self.body.push_str(&escape(href));
        self.body.push_str("</d:href><d:propstat><d:prop>");
        for n in names {
            self.body.push_str(&element(n, None));
        }
        self.body.push_str(
            "</d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat></d:response>",
        );
    }

    /// A resource that is not there (multiget, sync-collection's deletions).
    fn missing(&mut self, href: &str) {
        self.body.push_str("<d:response><d:href>");
        self.body.push_str(&escape(href));
        self.body
            .push_str("</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>");
    }

    fn sync_token(&mut self, token: &str) {
        self.body.push_str("<d:sync-token>");
        self.body.push_str(&escape(token));
        self.body.push_str("</d:sync-token>");
    }

    fn finish(mut self) -> Response {
        self.body.push_str("</d:multistatus>\n");
        answer(
            StatusCode::MULTI_STATUS,
            "application/xml; charset=utf-8",
            self.body,
        )
    }
}

#[cfg(test)]
mod tests;
