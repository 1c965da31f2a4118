//! What every request passes between the portal's response layers and its routes: the
//! body limit, and the DAV discovery on the root.
//!
//! - Every body is held to [`MAX_BODY`], except a `multipart/form-data` one: the window
//!   it is posted to holds it to its portlet's upload limit instead (`crate::upload`), and
//!   any other handler refuses it unread. A declared length over the limit is refused
//!   before anything is read.
//! - `PROPFIND`, `REPORT` or `OPTIONS` on `/` or the base is what CalDAV and CardDAV
//!   clients start with (Apple's give up on a `404` or `405` there): it goes to the DAV
//!   area whatever the routes say.
//!
//! One layer of its own rather than two `axum::middleware::from_fn`: those box each
//! request's future and clone the routes' service per request (docs/performance.md,
//! "Issue 13 counted in instructions").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;

use super::dav;
use super::shared::St;
use crate::http::MAX_BODY;

/// The layer (see the [module](self)).
#[derive(Clone)]
pub(crate) struct Gate {
    st: St,
}

impl Gate {
    pub(crate) fn new(st: St) -> Self {
        Gate { st }
    }
}

impl<S> tower::Layer<S> for Gate {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            st: self.st.clone(),
            inner,
        }
    }
}

/// The routes behind the [`Gate`].
#[derive(Clone)]
pub(crate) struct Gated<S> {
    st: St,
    inner: S,
}

impl<S> tower::Service<Request> for Gated<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let request = if crate::upload::is_multipart(request.headers()) {
            request
        } else if crate::upload::content_length(request.headers())
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return GateFuture::Ready {
                response: Some(crate::http::ReadError::TooLarge.response()),
            };
        } else {
            let (parts, body) = request.into_parts();
            let limited = axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY));
            Request::from_parts(parts, limited)
        };
        if dav::is_root_discovery(&self.st, &request) {
            return GateFuture::Dav {
                future: Box::pin(dav::serve(axum::extract::State(self.st.clone()), request)),
            };
        }
        GateFuture::Routed {
            future: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Gated`].
    #[project = GateProjection]
    pub(crate) enum GateFuture<F> {
        /// The routes answer.
        Routed { #[pin] future: F },
        /// The DAV root answers a client's discovery.
        Dav { future: Pin<Box<dyn Future<Output = Response> + Send>> },
        /// Refused before routing (a body too large).
        Ready { response: Option<Response> },
    }
}

impl<F> Future for GateFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProjection::Routed { future } => future.poll(cx),
            GateProjection::Dav { future } => future.as_mut().poll(cx).map(Ok),
            GateProjection::Ready { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| crate::http::ReadError::Broken.response()))),
        }
    }
}
