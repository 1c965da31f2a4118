//! The HTTP plumbing below the handlers: what is read from a request (cookies, Host,
//! forms, queries, path segments) and how the portal's plain responses are built.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use cartable_portlet::Params;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// The cookie that carries the session id. Only the cookie is read: a session id in a
/// URL is never looked at.
pub const SESSION_COOKIE: &str = "cartable_sid";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header carrying the CSRF token for non-form POSTs (resources posting JSON).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A body streamed from a channel: each message is sent as soon as it arrives; the body
/// ends when the sender is dropped.
pub fn channel(capacity: usize) -> (tokio::sync::mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    (tx, Body::new(ChannelBody(rx)))
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// The session cookie's value, if the request has one.
pub fn session_cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

/// The `Host` header, when it is a plausible host name (to build absolute URLs when no
/// public URL is configured, and to tell cross-site requests).
pub fn plausible_host(headers: &HeaderMap) -> Option<&str> {
    header_text(headers, header::HOST).filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    })
}

/// A header's value as text, if it is some.
pub fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the request body is an urlencoded form.
pub fn is_form(headers: &HeaderMap) -> bool {
    header_text(headers, header::CONTENT_TYPE)
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// One path segment, percent-decoded (bytes that are not UTF-8 become U+FFFD).
pub fn decode_segment(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Query or form fields (first value wins).
pub fn parse_params(query: &str) -> Params {
    parse_params_bytes(query.as_bytes())
}

/// Urlencoded fields (first value wins).
pub fn parse_params_bytes(bytes: &[u8]) -> Params {
    let mut out = Params::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Render parameters for a portlet: `p.name` query fields, without the prefix.
pub fn portlet_params(query: &Params) -> Params {
    query
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("p.").map(|k| (k.to_string(), v.clone())))
        .collect()
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Body over [`MAX_BODY`].
    TooLarge,
    /// It did not arrive within `body_read_timeout_ms`.
    TooSlow,
    /// The connection failed while reading.
    Broken,
    /// The path is outside the portal's base path.
    OutsideBase,
}

impl ReadError {
    /// Classify the error a body read failed with.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> ReadError {
        let mut next = Some(error);
        while let Some(e) = next {
            if e.is::<http_body_util::LengthLimitError>() {
                return ReadError::TooLarge;
            }
            if e.is::<cartable_serve::BodyTimeout>() {
                return ReadError::TooSlow;
            }
            next = e.source();
        }
        ReadError::Broken
    }

    /// The plain answer to a request that could not be read.
    pub fn response(&self) -> Response {
        match self {
            ReadError::TooLarge => text(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            ReadError::TooSlow => {
                let mut r = text(StatusCode::REQUEST_TIMEOUT, "Request body too slow");
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
            ReadError::Broken => text(StatusCode::BAD_REQUEST, "Request could not be read"),
            ReadError::OutsideBase => text(StatusCode::NOT_FOUND, "Not found"),
        }
    }
}

/// Read a whole request body, at most [`MAX_BODY`] bytes.
pub async fn read_body<B>(body: B) -> Result<Bytes, ReadError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(ReadError::of(&*e)),
    }
}

/// An HTML response (`body` is UTF-8: a `String`, or bytes written from one).
pub fn html(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A plain-text response.
pub fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A 303 See Other to a portal path (already checked by the caller).
pub fn redirect(location: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    // A location with bytes a header cannot hold falls back to the root.
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    r.headers_mut().insert(header::LOCATION, value);
    r
}

/// Build the `Set-Cookie` value for a session.
pub fn session_cookie(id: &str, base: &str, secure: bool, max_age_secs: u64) -> HeaderValue {
    let path = if base.is_empty() { "/" } else { base };
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={id}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("cartable_sid=; Max-Age=0"))
}

/// Build the `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(base: &str, secure: bool) -> HeaderValue {
    session_cookie("", base, secure, 0)
}

/// A file name safe for `Content-Disposition` (ASCII letters, digits, `.-_`).
pub fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "download".into()
    } else {
        cleaned
    }
}

/// A request read whole the way the portal reads one, for the fuzz targets: each field
/// comes from the function the handlers use.
#[derive(Debug)]
pub struct Request {
    /// GET, POST…
    pub method: http::Method,
    /// The path below the portal's base path, percent-decoded segment by segment.
    pub segments: Vec<String>,
    /// The raw path (for `next` redirects).
    pub raw_path: String,
    /// Query parameters (first value wins).
    pub query: Params,
    /// Form fields of an urlencoded POST (first value wins).
    pub form: Params,
    /// The raw body.
    pub body: Bytes,
    /// The session cookie's value, if any.
    pub session_cookie: Option<String>,
    /// The CSRF header's value, if any.
    pub csrf_header: Option<String>,
    /// The `Host` header, when it is a plausible host name.
    pub host: Option<String>,
}

impl Request {
    /// Read a request.
    pub async fn read<B>(
        req: http::Request<B>,
        base: &str,
        _peer: std::net::IpAddr,
    ) -> Result<Request, ReadError>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let rest = path.strip_prefix(base).ok_or(ReadError::OutsideBase)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(ReadError::OutsideBase);
        }
        let segments = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode_segment)
            .collect();
        let query = parts.uri.query().map(parse_params).unwrap_or_default();
        let body = if parts.method == http::Method::GET || parts.method == http::Method::HEAD {
            Bytes::new()
        } else {
            read_body(body).await?
        };
        let form = if is_form(&parts.headers) {
            parse_params_bytes(&body)
        } else {
            Params::new()
        };
        let owned = |s: Option<&str>| s.map(str::to_string);
        Ok(Request {
            segments,
            raw_path: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.to_string(), |p| p.as_str().to_string()),
            query,
            form,
            body,
            session_cookie: owned(session_cookie_value(&parts.headers)),
            csrf_header: owned(header_text(&parts.headers, CSRF_HEADER)),
            host: owned(plausible_host(&parts.headers)),
            method: parts.method,
        })
    }

    /// The path segments as `&str`s, for matching.
    pub fn route(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// The submitted CSRF token: the form field, else the header.
    pub fn csrf(&self) -> Option<&str> {
        self.form
            .get(CSRF_FIELD)
            .map(String::as_str)
            .or(self.csrf_header.as_deref())
    }

    /// Render parameters for a portlet: `p.name` query fields, without the prefix.
    pub fn portlet_params(&self) -> Params {
        portlet_params(&self.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(safe_filename("notes.json"), "notes.json");
        assert_eq!(safe_filename("../a\"b\r\n.txt"), "_a_b__.txt");
        assert_eq!(safe_filename(""), "download");
    }

    #[test]
    fn first_value_wins() {
        let p = parse_params("a=1&a=2&b=x+y");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x y");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; cartable_sid=xyz"),
        );
        assert_eq!(session_cookie_value(&h), Some("xyz"));
        h.insert(header::HOST, HeaderValue::from_static("ent.lycee.fr:8443"));
        assert_eq!(plausible_host(&h), Some("ent.lycee.fr:8443"));
        h.insert(header::HOST, HeaderValue::from_static("evil/host"));
        assert_eq!(plausible_host(&h), None);
    }
}
