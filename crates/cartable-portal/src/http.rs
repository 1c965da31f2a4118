//! The HTTP plumbing: reading a request, building responses, cookies.

use std::net::IpAddr;

use bytes::Bytes;
use cartable_portlet::Params;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};

/// The body of every response: whole, or streamed (pages, window by window).
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A body streamed from a channel: each message is sent as soon as it arrives; the body
/// ends when the sender is dropped.
pub fn channel(capacity: usize) -> (tokio::sync::mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    (tx, ChannelBody(rx).boxed())
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

/// The cookie that carries the session id. Only the cookie is read: a session id in a
/// URL is never looked at.
pub const SESSION_COOKIE: &str = "cartable_sid";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header carrying the CSRF token for non-form POSTs (resources posting JSON).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A request, read whole.
#[derive(Debug)]
pub struct Request {
    /// GET, POST…
    pub method: Method,
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
    /// The client's address.
    pub peer: IpAddr,
    /// The `Host` header, when it is a plausible host name (to build absolute URLs when
    /// no public URL is configured).
    pub host: Option<String>,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// The `Sec-Fetch-Site` header, if any (`cross-site`, `same-site`, `same-origin`,
    /// `none`).
    pub fetch_site: Option<String>,
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Body over [`MAX_BODY`].
    TooLarge,
    /// The connection failed while reading.
    Broken,
    /// The path is outside the portal's base path.
    OutsideBase,
}

impl Request {
    /// Read a hyper request.
    pub async fn read<B>(
        req: hyper::Request<B>,
        base: &str,
        peer: IpAddr,
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
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let query = parts.uri.query().map(parse_params).unwrap_or_default();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = if parts.method == Method::GET || parts.method == Method::HEAD {
            Bytes::new()
        } else {
            match Limited::new(body, MAX_BODY).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Err(ReadError::TooLarge);
                }
                Err(_) => return Err(ReadError::Broken),
            }
        };
        let form = if is_form {
            parse_params_bytes(&body)
        } else {
            Params::new()
        };
        let session_cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.to_string());
        let csrf_header = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map(str::to_string);
        let text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let origin = text(header::ORIGIN);
        let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
        Ok(Request {
            method: parts.method,
            segments,
            raw_path: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.to_string(), |p| p.as_str().to_string()),
            query,
            form,
            body,
            session_cookie,
            csrf_header,
            peer,
            host,
            origin,
            fetch_site,
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
        self.query
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("p.").map(|k| (k.to_string(), v.clone())))
            .collect()
    }
}

fn parse_params(query: &str) -> Params {
    parse_params_bytes(query.as_bytes())
}

pub fn parse_params_bytes(bytes: &[u8]) -> Params {
    let mut out = Params::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A plain-text response.
pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A 303 See Other to a portal path (already checked by the caller).
pub fn redirect(location: &str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
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
}
