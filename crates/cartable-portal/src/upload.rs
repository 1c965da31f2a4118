//! `multipart/form-data` bodies of actions and resources, read as they arrive (`multer`).
//!
//! The CSRF layer does not read such a body (it may be a large file): it refuses a
//! cross-site request and leaves the body whole, marked [`Pending`]. The window handler
//! then knows the portlet and its upload limit ([`Descriptor::upload_limit`]):
//!
//! 1. a declared `Content-Length` over the limit is refused with `413` at once;
//! 2. [`read_fields`] reads the text fields up to the first file part (at most
//!    [`MAX_BODY`] of them), and the CSRF token must be among them (or in the
//!    `X-CSRF-Token` header) before any file is read: otherwise `403`;
//! 3. the portlet takes the file parts from [`Uploads`], each streamed from the
//!    connection; the whole body may not pass the limit (`multer`'s stream limit), and
//!    when it does the call is answered `413` whatever the portlet said ([`Limit`]);
//! 4. every chunk ticks the call's [`Progress`], so a long upload whose bytes keep
//!    arriving is not cut by the portlet's deadline.
//!
//! [`Descriptor::upload_limit`]: cartable_portlet::Descriptor::upload_limit

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use cartable_container::Progress;
use cartable_portlet::upload::{FilePart, UploadSource, Uploads};
use cartable_portlet::{Params, PortletError};
use futures::StreamExt;
use http::{HeaderMap, header};

use crate::http::{MAX_BODY, header_text};

/// The mark the CSRF layer leaves on a `multipart/form-data` POST it let through unread:
/// the handler must find the token in the body before it reads any file, and any
/// handler that does not take files refuses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending;

/// Whether the request body is `multipart/form-data`.
pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    header_text(headers, header::CONTENT_TYPE).is_some_and(|v| {
        v.trim_start()
            .get(..19)
            .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// The declared length of the body, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    header_text(headers, header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// At most this many bytes reach the parser between two of its waits.
const BUDGET: usize = 512 * 1024;

/// The body as the parser reads it, in helpings of about [`BUDGET`] bytes: `multer` reads
/// everything that is ready before it hands a file's bytes on, so on a fast connection it
/// would gather megabytes in memory while the file store writes; after `BUDGET` bytes this
/// stream answers "not yet" (and wakes its task at once), so the bytes go on to the store
/// first and what one upload holds stays bounded.
struct Budgeted<S> {
    inner: S,
    since_pending: usize,
}

impl<S, E> futures::Stream for Budgeted<S>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if self.since_pending >= BUDGET {
            self.since_pending = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(bytes))) => self.since_pending += bytes.len(),
            Poll::Pending => self.since_pending = 0,
            _ => {}
        }
        polled
    }
}

/// Why a multipart body could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MultipartError {
    /// Over the portlet's limit.
    #[error("the request is larger than the {limit} bytes this window accepts")]
    TooLarge { limit: u64 },
    /// Not a multipart body the parser understands.
    #[error("the form could not be read: {0}")]
    Malformed(String),
    /// The body did not arrive in time.
    #[error("the request body did not arrive in time")]
    TooSlow,
}

/// Whether the whole body went past its limit: set by the parts' streams, read by the
/// handler once the portlet answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limit(Arc<AtomicBool>);

impl Limit {
    /// Whether the body went past its limit.
    pub(crate) fn exceeded(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A multipart body being read: what [`read_fields`] leaves for the portlet's files.
pub(crate) struct Reader {
    multipart: multer::Multipart<'static>,
    /// The first file part, met while reading the fields.
    first: Option<multer::Field<'static>>,
    /// Each file's largest size: the limit, or the declared length when shorter.
    max_size: u64,
    limit: Limit,
    limit_bytes: u64,
}

/// Start reading `body` (`multipart/form-data`, per `headers`) of at most `limit` bytes,
/// ticking `progress` as bytes arrive; then its text fields up to the first file part.
pub(crate) async fn read_fields(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    progress: Progress,
) -> Result<(Params, Reader), MultipartError> {
    let declared = content_length(headers);
    if declared.is_some_and(|n| n > limit) {
        return Err(MultipartError::TooLarge { limit });
    }
    let content_type = header_text(headers, header::CONTENT_TYPE).unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| MultipartError::Malformed(e.to_string()))?;
    let stream = Budgeted {
        inner: body.into_data_stream().map(move |chunk| {
            if let Ok(bytes) = &chunk {
                progress.tick(bytes.len() as u64);
            }
            chunk
        }),
        since_pending: 0,
    };
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut reader = Reader {
        multipart,
        first: None,
        max_size: declared.map_or(limit, |n| n.min(limit)),
        limit: Limit::default(),
        limit_bytes: limit,
    };
    let mut fields = Params::new();
    let mut text_bytes = 0usize;
    loop {
        let field = match reader.multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(reader.error(e)),
        };
        if field.file_name().is_some() {
            reader.first = Some(field);
            break;
        }
        let name = field.name().unwrap_or("").to_string();
        let mut value = Vec::new();
        let mut field = field;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    text_bytes += chunk.len() + name.len();
                    if text_bytes > MAX_BODY {
                        return Err(MultipartError::TooLarge {
                            limit: MAX_BODY as u64,
                        });
                    }
                    value.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(reader.error(e)),
            }
        }
        fields
            .entry(name)
            .or_insert_with(|| String::from_utf8_lossy(&value).into_owned());
    }
    Ok((fields, reader))
}

impl Reader {
    /// Whether the body went past its limit (after the portlet read it).
    pub(crate) fn limit(&self) -> Limit {
        self.limit.clone()
    }

    /// The files left, for the portlet.
    pub(crate) fn into_uploads(self) -> Uploads {
        Uploads::new(self)
    }

    fn error(&self, e: multer::Error) -> MultipartError {
        classify(&e, &self.limit, self.limit_bytes)
    }

    /// A multer field as the portlet's file part.
    fn part(&self, field: multer::Field<'static>) -> FilePart {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().unwrap_or("").to_string();
        let content_type = field
            .content_type()
            .map_or_else(|| "application/octet-stream".to_string(), |m| m.to_string());
        let limit = self.limit.clone();
        let limit_bytes = self.limit_bytes;
        let body = field.map(move |chunk| {
            chunk.map_err(|e| {
                let classified = classify(&e, &limit, limit_bytes);
                std::io::Error::other(classified)
            })
        });
        FilePart::new(&name, &file_name, &content_type, self.max_size, body)
    }
}

/// What a multer error means for the answer; a body past its limit marks `limit`.
fn classify(e: &multer::Error, limit: &Limit, limit_bytes: u64) -> MultipartError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            limit.set();
            MultipartError::TooLarge { limit: limit_bytes }
        }
        multer::Error::StreamReadFailed(source)
            if cartable_serve::BodyTimeout::is_in(source.as_ref()) =>
        {
            MultipartError::TooSlow
        }
        e => MultipartError::Malformed(e.to_string()),
    }
}

#[async_trait]
impl UploadSource for Reader {
    async fn next_file(&mut self, late: &mut Params) -> Result<Option<FilePart>, PortletError> {
        if let Some(first) = self.first.take() {
            return Ok(Some(self.part(first)));
        }
        loop {
            let field = match self.multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return Ok(None),
                Err(e) => return Err(to_portlet_error(self.error(e))),
            };
            if field.file_name().is_some() {
                return Ok(Some(self.part(field)));
            }
            let name = field.name().unwrap_or("").to_string();
            // A late text field: kept, bounded like the others.
            let text = match field.bytes().await {
                Ok(bytes) if bytes.len() <= MAX_BODY => bytes,
                Ok(_) => Bytes::new(),
                Err(e) => return Err(to_portlet_error(self.error(e))),
            };
            late.entry(name)
                .or_insert_with(|| String::from_utf8_lossy(&text).into_owned());
        }
    }
}

/// A body error as the portlet sees it (the portal answers it itself when it is a limit).
fn to_portlet_error(e: MultipartError) -> PortletError {
    match e {
        MultipartError::TooLarge { limit } => {
            PortletError::File(cartable_socle::FileError::TooLarge { max: limit })
        }
        e => PortletError::BadRequest(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str, length: Option<u64>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        if let Some(n) = length {
            h.insert(header::CONTENT_LENGTH, n.into());
        }
        h
    }

    const BODY: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nDevoir\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"C:\\\\tmp\\\\a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\nbonjour\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nlate\r\n--XyZ--\r\n";

    #[tokio::test]
    async fn fields_come_first_then_files_stream_then_late_fields() {
        let h = headers("multipart/form-data; boundary=XyZ", Some(BODY.len() as u64));
        assert!(is_multipart(&h));
        let progress = Progress::new();
        let (fields, reader) = read_fields(&h, Body::from(BODY), 1 << 20, progress.clone())
            .await
            .unwrap();
        assert_eq!(fields["_csrf"], "tok");
        assert_eq!(fields["title"], "Devoir");
        let mut uploads = reader.into_uploads();
        let part = uploads.next().await.unwrap().unwrap();
        assert_eq!(
            (part.field.as_str(), part.file_name.as_str()),
            ("f", "a.txt")
        );
        assert_eq!(part.content_type, "text/plain");
        assert_eq!(part.max_size, BODY.len() as u64, "the declared length");
        assert_eq!(part.bytes(100).await.unwrap(), "bonjour");
        assert!(uploads.next().await.unwrap().is_none());
        assert_eq!(uploads.late_fields()["after"], "late");
        assert_eq!(progress.count(), BODY.len() as u64);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_declared_or_not() {
        let h = headers("multipart/form-data; boundary=XyZ", Some(BODY.len() as u64));
        let early = read_fields(&h, Body::from(BODY), 10, Progress::new()).await;
        assert!(matches!(early, Err(MultipartError::TooLarge { limit: 10 })));
        let h = headers("multipart/form-data; boundary=XyZ", None);
        // In small chunks, as from a slow connection: the fields pass, the file does not.
        let big = BODY.replace("bonjour", &"x".repeat(1000));
        let chunks: Vec<Result<Bytes, std::io::Error>> = big
            .as_bytes()
            .chunks(16)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        // Each chunk after a pause, as from a network: the parser reads what is there.
        let body = Body::from_stream(futures::stream::iter(chunks).then(|c| async {
            tokio::task::yield_now().await;
            c
        }));
        let within = big.find("xxx").unwrap() as u64 + 100;
        match read_fields(&h, body, within, Progress::new()).await {
            Err(e) => panic!("the fields are within the limit: {e}"),
            Ok((_, reader)) => {
                let limit = reader.limit();
                let mut uploads = reader.into_uploads();
                let result = match uploads.next().await {
                    Ok(Some(part)) => part.bytes(1 << 20).await.map(|_| ()),
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                assert!(result.is_err());
                assert!(limit.exceeded());
            }
        }
        assert!(!is_multipart(&headers(
            "application/x-www-form-urlencoded",
            None
        )));
    }
}
