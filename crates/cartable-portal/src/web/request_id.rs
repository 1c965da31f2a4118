//! Every request gets an id, kept if a proxy in front gave one (`x-request-id`), seen by
//! the tracing span and returned on the response.
//!
//! One layer both sets and returns it, where tower-http's `SetRequestIdLayer` and
//! `PropagateRequestIdLayer` would each move the response once more (docs/performance.md,
//! "Issue 13 counted in instructions").

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue};

/// The header the id travels in.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids of this node: a random prefix (unique across nodes) and a counter.
#[derive(Clone)]
pub(crate) struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        let prefix: u32 = rand::random();
        RequestIds {
            prefix: Arc::from(format!("{prefix:08x}")),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    fn next_id(&self) -> Option<HeaderValue> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(self.prefix.len() + 21);
        id.push_str(&self.prefix);
        id.push('-');
        id.push_str(itoa::Buffer::new().format(n));
        HeaderValue::from_maybe_shared(bytes::Bytes::from(id)).ok()
    }
}

impl<S> tower::Layer<S> for RequestIds {
    type Service = WithRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithRequestId {
            ids: self.clone(),
            inner,
        }
    }
}

/// A service whose requests and responses carry an `x-request-id`.
#[derive(Clone)]
pub(crate) struct WithRequestId<S> {
    ids: RequestIds,
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for WithRequestId<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let id = match request.headers().get(&X_REQUEST_ID) {
            Some(given) => Some(given.clone()),
            None => {
                let made = self.ids.next_id();
                if let Some(id) = &made {
                    request
                        .headers_mut()
                        .insert(X_REQUEST_ID.clone(), id.clone());
                }
                made
            }
        };
        RequestIdFuture {
            inner: self.inner.call(request),
            id,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`WithRequestId`].
    pub(crate) struct RequestIdFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(id) = this.id.take()
            && !response.headers().contains_key(&X_REQUEST_ID)
        {
            response.headers_mut().insert(X_REQUEST_ID.clone(), id);
        }
        Poll::Ready(Ok(response))
    }
}
