//! A request body held to the body deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::BoxError;

/// Reading a request body took longer than its deadline (`body_read_timeout_ms`).
///
/// It is the error a [`Body`] yields then; a service that finds it in the source chain
/// of a body error should answer `408 Request Timeout` (the server does it otherwise).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive whole within {:?}",
            self.0
        )
    }
}

impl std::error::Error for BodyTimeout {}

impl BodyTimeout {
    /// Whether `error` or one of its sources is a [`BodyTimeout`].
    pub fn is_in(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(error);
        while let Some(e) = next {
            if e.is::<BodyTimeout>() {
                return true;
            }
            next = e.source();
        }
        false
    }
}

/// A request body that must arrive whole before a deadline; past it, the next read that
/// would wait fails with [`BodyTimeout`].
///
/// Costless until a read finds the body not there yet: only then is a timer registered.
pub struct Body<B = Incoming> {
    inner: B,
    deadline: Option<Deadline>,
}

struct Deadline {
    at: Instant,
    after: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// Set when the deadline passed, for the server to answer 408.
    passed: Option<Arc<AtomicBool>>,
}

impl<B> Body<B> {
    /// `inner`, to arrive whole within `deadline` from now (`None`: no deadline).
    pub fn new(inner: B, deadline: Option<Duration>) -> Self {
        Body {
            inner,
            deadline: deadline.map(|after| Deadline {
                at: Instant::now() + after,
                after,
                timer: None,
                passed: None,
            }),
        }
    }

    /// With a flag that tells the server the deadline passed.
    pub(crate) fn watched(inner: B, deadline: Duration) -> (Self, Option<Arc<AtomicBool>>) {
        let passed = Arc::new(AtomicBool::new(false));
        let mut body = Body::new(inner, Some(deadline));
        if let Some(d) = &mut body.deadline {
            d.passed = Some(passed.clone());
        }
        (body, Some(passed))
    }
}

impl<B> std::fmt::Debug for Body<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("deadline", &self.deadline.as_ref().map(|d| d.after))
            .finish_non_exhaustive()
    }
}

impl<B> hyper::body::Body for Body<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|r| r.map_err(Into::into))),
            Poll::Pending => {
                let Some(d) = &mut this.deadline else {
                    return Poll::Pending;
                };
                let at = d.at;
                let timer = d
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if let Some(passed) = &d.passed {
                    passed.store(true, Ordering::Release);
                }
                let error = BodyTimeout(d.after);
                this.deadline = None;
                Poll::Ready(Some(Err(Box::new(error))))
            }
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer once a request's body deadline passed: the service's own 408, or a plain
/// one instead of whatever it answered; either way the connection closes after it.
pub(crate) fn timed_out<B>(response: http::Response<B>) -> http::Response<Either<B, Full<Bytes>>> {
    let mut response = if response.status() == StatusCode::REQUEST_TIMEOUT {
        response.map(Either::Left)
    } else {
        let mut r = http::Response::new(Either::Right(Full::new(Bytes::from_static(
            b"Request body too slow",
        ))));
        *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
