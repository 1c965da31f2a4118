//! The portal reading a request (`cartable_portal::fuzzing::Request::read`) from raw
//! HTTP/1.1 bytes, headers and body as a client sends them: path segments, query, form
//! body, session cookie, CSRF header and Host, never a panic.
//!
//! What is read is consistent: the session cookie is one cookie's value, the form is
//! the urlencoded body (and nothing else), a GET has no body, the Host kept is a
//! plausible host name.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use cartable_portal::fuzzing::{MAX_BODY, ReadError, Request, parse_params_bytes};
use http::Method;
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
});

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fuzz_target!(|data: &[u8]| {
    for base in ["", "/ent"] {
        let Some(raw) = cartable_fuzz::raw_request(data) else {
            return;
        };
        let (parts, body) = raw.into_parts();
        let is_form = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let sent = body.clone();
        let req = http::Request::from_parts(parts, Full::new(body));
        let read = match RUNTIME.block_on(Request::read(req, base, PEER)) {
            Ok(read) => read,
            Err(ReadError::OutsideBase) => continue,
            Err(e) => panic!("a whole body in memory cannot fail with {e:?}"),
        };
        assert!(
            read.raw_path.starts_with(base),
            "{:?} outside {base:?}",
            read.raw_path
        );
        if read.method == Method::GET || read.method == Method::HEAD {
            assert!(read.body.is_empty());
            assert!(read.form.is_empty());
        } else {
            assert_eq!(read.body, sent);
            assert!(read.body.len() <= MAX_BODY);
            if is_form {
                assert_eq!(read.form, parse_params_bytes(&sent));
            } else {
                assert!(read.form.is_empty(), "a form read from a non-form body");
            }
        }
        if let Some(cookie) = &read.session_cookie {
            assert!(!cookie.contains(';'), "cookie value {cookie:?}");
        }
        if let Some(host) = &read.host {
            assert!(!host.is_empty() && host.len() <= 255);
            assert!(
                host.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)),
                "host {host:?}"
            );
        }
        let _ = read.route();
        let _ = read.csrf();
        let _ = read.portlet_params();
    }
});
