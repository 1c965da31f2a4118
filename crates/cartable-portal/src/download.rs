//! A stored file sent to the browser: what a resource that answered
//! [`ResourceResponse::file`](cartable_portlet::ResourceResponse::file) becomes.
//!
//! - streamed from the file store, never read whole, with `Content-Length`;
//! - `Accept-Ranges: bytes`; one `Range` gives `206` with `Content-Range`, a range that
//!   starts past the end `416` with `Content-Range: bytes */<size>`; several ranges, an
//!   unknown unit or a malformed range are ignored (`200`, the whole file), as RFC 9110
//!   allows; `If-Range` with another ETag gives the whole file;
//! - `ETag` (the file's SHA-256, strong); `If-None-Match` that matches gives `304`;
//! - `Content-Disposition` with an ASCII `filename` and the UTF-8 `filename*` of RFC 6266
//!   and RFC 5987, nothing of the user's name able to end the header or name a path;
//! - `inline` only for a short list of types a browser shows without running anything
//!   (images other than SVG, PDF, plain text, audio, video); anything else (HTML, SVG,
//!   XML, unknown…) is an `attachment`;
//! - every file response carries `Content-Security-Policy: sandbox; default-src 'none'`
//!   ([`FILE_CSP`], kept by the security headers layer instead of the portal's) and
//!   `X-Content-Type-Options: nosniff`, and is never compressed.

use std::ops::Range;

use axum::body::Body;
use axum::response::Response;
use cartable_socle::{FileError, FileStore, StoredFile};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::http::header_text;

/// The Content-Security-Policy of a file response: a sandbox with nothing allowed, so
/// even a file shown inline runs no script and loads nothing on the portal's origin.
pub const FILE_CSP: &str = "sandbox; default-src 'none'";

/// The mark on a file response: the security headers layer gives it [`FILE_CSP`], and
/// the compression layer leaves it alone (its length and ranges are the file's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileResponse;

/// What the `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// The whole file (no range, or one the server ignores).
    Whole,
    /// These bytes.
    Part(Range<u64>),
    /// A range wholly outside the file.
    Unsatisfiable,
}

/// Read a `Range` header: one `bytes=` range is honoured, anything else is the whole file.
pub(crate) fn parse_range(value: &str, size: u64) -> Ranged {
    let Some(spec) = value
        .trim()
        .strip_prefix("bytes=")
        .or_else(|| value.trim().strip_prefix("BYTES="))
    else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match number(last) {
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if size == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part(size.saturating_sub(n)..size),
            None => Ranged::Whole,
        },
        // bytes=A-
        (false, true) => match number(first) {
            Some(a) if a >= size => Ranged::Unsatisfiable,
            Some(a) => Ranged::Part(a..size),
            None => Ranged::Whole,
        },
        // bytes=A-B
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a > b => Ranged::Whole,
            (Some(a), Some(_)) if a >= size => Ranged::Unsatisfiable,
            (Some(a), Some(b)) => Ranged::Part(a..b.saturating_add(1).min(size)),
            _ => Ranged::Whole,
        },
        (true, true) => Ranged::Whole,
    }
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, `*` matches any).
pub(crate) fn none_match(value: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    value.trim() == "*" || value.split(',').any(|t| bare(t) == bare(etag))
}

/// Whether a browser may show a file of this media type inline: images other than SVG,
/// PDF, plain text, audio and video. Everything else is downloaded.
pub fn inline_safe(content_type: &str) -> bool {
    let essence = essence(content_type);
    match essence.split_once('/') {
        Some(("image", sub)) => !sub.contains("svg") && !sub.contains("xml"),
        Some(("audio" | "video", sub)) => !sub.contains("xml"),
        _ => matches!(essence.as_str(), "application/pdf" | "text/plain"),
    }
}

/// The media type without parameters, lower-case.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `Content-Disposition` of a file named `name`: `inline` or `attachment`, an ASCII
/// `filename` (anything else, quotes, backslashes, slashes, `%` and control characters
/// become `_`) and the exact name, percent-encoded, as `filename*=UTF-8''…`.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let name = name.trim();
    let name = if name.is_empty() || name == "." || name == ".." {
        "fichier"
    } else {
        name
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let ascii = ascii.trim_start_matches('.');
    let ascii = if ascii.is_empty() { "fichier" } else { ascii };
    // RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is encoded.
    const NOT_ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(name, NOT_ATTR_CHAR);
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Answer a stored file, as the request's headers ask (`Range`, `If-Range`,
/// `If-None-Match`). `download_as`: the portlet asked for a download with this name.
pub(crate) async fn respond(
    files: &FileStore,
    file: StoredFile,
    download_as: Option<String>,
    request: &HeaderMap,
) -> Response {
    let etag = file.etag();
    if header_text(request, header::IF_NONE_MATCH).is_some_and(|v| none_match(v, &etag)) {
        let mut r = bare(StatusCode::NOT_MODIFIED);
        set(&mut r, header::ETAG, &etag);
        return r;
    }
    let honour_range = header_text(request, header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let ranged = match header_text(request, header::RANGE) {
        Some(v) if honour_range => parse_range(v, file.size),
        _ => Ranged::Whole,
    };
    let asked = match ranged {
        Ranged::Whole => None,
        Ranged::Part(r) => Some(r),
        Ranged::Unsatisfiable => return unsatisfiable(file.size),
    };
    let partial = asked.is_some();
    let (disposition, name) = match download_as {
        Some(name) => ("attachment", name),
        None if inline_safe(&file.content_type) => ("inline", file.name.clone()),
        None => ("attachment", file.name.clone()),
    };
    let download = match files.open(&file.id, asked).await {
        Ok(download) => download,
        Err(FileError::RangeNotSatisfiable { size }) => return unsatisfiable(size),
        Err(FileError::NotFound) => return bare(StatusCode::NOT_FOUND),
        Err(e) => {
            tracing::error!(file = %file.id, "cannot open a stored file: {e}");
            return bare(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let range = download.range.clone();
    let size = download.file.size;
    let mut r = Response::new(Body::from_stream(download.body));
    r.extensions_mut().insert(FileResponse);
    *r.status_mut() = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let content_type = if disposition == "inline" {
        essence(&file.content_type)
    } else {
        file.content_type.clone()
    };
    set(&mut r, header::CONTENT_TYPE, &content_type);
    set(
        &mut r,
        header::CONTENT_LENGTH,
        &(range.end - range.start).to_string(),
    );
    set(&mut r, header::ACCEPT_RANGES, "bytes");
    set(&mut r, header::ETAG, &etag);
    set(&mut r, header::CACHE_CONTROL, "private, no-cache");
    set(
        &mut r,
        header::CONTENT_DISPOSITION,
        &content_disposition(disposition, &name),
    );
    if partial {
        set(
            &mut r,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{size}", range.start, range.end - 1),
        );
    }
    r
}

/// A file response without a body.
fn bare(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r.extensions_mut().insert(FileResponse);
    set(&mut r, header::ACCEPT_RANGES, "bytes");
    set(&mut r, header::CACHE_CONTROL, "private, no-cache");
    r
}

/// `416` for a file of `size` bytes.
fn unsatisfiable(size: u64) -> Response {
    let mut r = bare(StatusCode::RANGE_NOT_SATISFIABLE);
    set(&mut r, header::CONTENT_RANGE, &format!("bytes */{size}"));
    r
}

/// Set a header whose value we built (a value a header cannot hold is left out).
fn set(r: &mut Response, name: header::HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            r.headers_mut().insert(name, v);
        }
        Err(_) => tracing::warn!(header = %name, "a file header could not be written"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ranged::Part(0..100));
        assert_eq!(parse_range("bytes=900-", 1000), Ranged::Part(900..1000));
        assert_eq!(parse_range("bytes=-10", 1000), Ranged::Part(990..1000));
        assert_eq!(parse_range("bytes=-5000", 1000), Ranged::Part(0..1000));
        assert_eq!(parse_range("bytes=500-5000", 1000), Ranged::Part(500..1000));
        assert_eq!(parse_range("bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=2000-3000", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ranged::Whole);
        assert_eq!(parse_range("bytes=9-2", 1000), Ranged::Whole);
        assert_eq!(parse_range("items=0-1", 1000), Ranged::Whole);
        assert_eq!(parse_range("bytes=a-b", 1000), Ranged::Whole);
        assert_eq!(parse_range("bytes=0-0", 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match("\"abc\"", "\"abc\""));
        assert!(none_match("W/\"abc\", \"x\"", "\"abc\""));
        assert!(none_match("*", "\"abc\""));
        assert!(!none_match("\"abd\"", "\"abc\""));
    }

    #[test]
    fn only_passive_types_are_shown_inline() {
        for t in [
            "image/png",
            "image/jpeg",
            "application/pdf",
            "text/plain; charset=utf-8",
            "video/mp4",
            "audio/ogg",
        ] {
            assert!(inline_safe(t), "{t}");
        }
        for t in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "application/javascript",
            "application/octet-stream",
            "TEXT/HTML",
            "",
        ] {
            assert!(!inline_safe(t), "{t}");
        }
    }

    #[test]
    fn a_hostile_file_name_cannot_break_the_header() {
        let cd = content_disposition("attachment", "a\"; x=\r\n../..\\évil%.html");
        assert_eq!(
            cd,
            "attachment; filename=\"a__ x=.._..__vil_.html\"; \
             filename*=UTF-8''a%22%3B%20x%3D.._.._%C3%A9vil%25.html"
        );
        assert!(HeaderValue::from_str(&cd).is_ok());
        assert_eq!(
            content_disposition("inline", "Emploi du temps.pdf"),
            "inline; filename=\"Emploi du temps.pdf\"; filename*=UTF-8''Emploi%20du%20temps.pdf"
        );
        assert_eq!(
            content_disposition("attachment", "\r\n"),
            "attachment; filename=\"fichier\"; filename*=UTF-8''fichier"
        );
    }
}
