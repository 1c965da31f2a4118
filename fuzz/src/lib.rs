//! Helpers shared by the fuzz targets.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};

/// The most headers read from one fuzz input.
const MAX_HEADERS: usize = 32;

/// Read raw HTTP/1.1 request bytes (`METHOD /path HTTP/1.1\r\nName: value\r\n\r\nbody`)
/// into a request, as hyper would have handed it over: `None` when the head is not
/// HTTP or holds a method, URI or header that `http` refuses (hyper refuses those too).
pub fn raw_request(data: &[u8]) -> Option<Request<Bytes>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(data).ok()? else {
        return None;
    };
    let method = Method::from_bytes(parsed.method?.as_bytes()).ok()?;
    let mut builder = Request::builder().method(method).uri(parsed.path?);
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(Bytes::copy_from_slice(&data[head_len..])).ok()
}
