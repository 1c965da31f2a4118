//! The fetcher against real HTTP servers on 127.0.0.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cartable_fetch::{FetchError, Fetcher, HostPolicy, OutboundRequest};
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// A loopback server answering by path; it stops with the test's runtime.
async fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let path = req.uri().path().to_string();
                    async move { Ok::<_, Infallible>(answer(&path, addr).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, hits)
}

async fn answer(path: &str, me: SocketAddr) -> hyper::Response<BoxBody> {
    use http_body_util::BodyExt;
    let full = |status: u16, body: &'static str| {
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)).boxed())
            .expect("response")
    };
    match path {
        "/hello" => full(200, "bonjour"),
        "/redirect-local" => hyper::Response::builder()
            .status(302)
            .header("location", "/hello")
            .body(Full::new(Bytes::new()).boxed())
            .expect("response"),
        "/redirect-metadata" => hyper::Response::builder()
            .status(302)
            .header("location", "http://169.254.169.254/latest/meta-data/")
            .body(Full::new(Bytes::new()).boxed())
            .expect("response"),
        "/redirect-other-port" => hyper::Response::builder()
            .status(307)
            .header(
                "location",
                format!("http://127.0.0.1:{}/hello", me.port() + 1),
            )
            .body(Full::new(Bytes::new()).boxed())
            .expect("response"),
        "/loop" => hyper::Response::builder()
            .status(302)
            .header("location", "/loop")
            .body(Full::new(Bytes::new()).boxed())
            .expect("response"),
        "/endless" => {
            // 64 KiB chunks forever, with no Content-Length.
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let stream = futures_stream(chunk);
            hyper::Response::new(StreamBody::new(stream).boxed())
        }
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            full(200, "late")
        }
        _ => full(404, "not found"),
    }
}

fn futures_stream(
    chunk: Bytes,
) -> impl futures_core::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + Sync + 'static {
    struct Endless(Bytes);
    impl futures_core::Stream for Endless {
        type Item = Result<Frame<Bytes>, Infallible>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(Some(Ok(Frame::data(self.0.clone()))))
        }
    }
    Endless(chunk)
}

fn url(addr: SocketAddr, path: &str) -> url::Url {
    format!("http://{addr}{path}").parse().expect("url")
}

fn fetcher(addr: SocketAddr) -> Fetcher {
    Fetcher::new(HostPolicy::new().allow(&addr.to_string()))
}

#[tokio::test]
async fn fetches_an_allowed_loopback_server_again_and_again() {
    let (addr, _) = server().await;
    let f = fetcher(addr);
    for _ in 0..3 {
        let r = f
            .send(OutboundRequest::get(url(addr, "/hello")))
            .await
            .expect("fetch");
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"bonjour");
    }
}

#[tokio::test]
async fn refuses_an_address_that_is_not_listed() {
    let (addr, hits) = server().await;
    let f = Fetcher::new(HostPolicy::new().allow("*"));
    let err = f
        .send(OutboundRequest::get(url(addr, "/hello")))
        .await
        .expect_err("loopback refused");
    assert!(matches!(err, FetchError::Refused { .. }), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no connection was made");
}

#[tokio::test]
async fn refuses_localhost_by_name() {
    let (addr, hits) = server().await;
    let f = Fetcher::new(HostPolicy::new().allow("*"));
    let target = format!("http://localhost:{}/hello", addr.port());
    let err = f
        .send(OutboundRequest::get(target.parse().expect("url")))
        .await
        .expect_err("refused");
    assert!(matches!(err, FetchError::Refused { .. }), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn follows_redirects_that_stay_allowed_and_refuses_the_others() {
    let (addr, _) = server().await;
    let f = fetcher(addr);
    let r = f
        .send(OutboundRequest::get(url(addr, "/redirect-local")))
        .await
        .expect("redirect followed");
    assert_eq!(&r.body[..], b"bonjour");
    assert_eq!(r.url.path(), "/hello");
    for path in ["/redirect-metadata", "/redirect-other-port"] {
        let err = f
            .send(OutboundRequest::get(url(addr, path)))
            .await
            .expect_err("redirect refused");
        assert!(matches!(err, FetchError::Refused { .. }), "{path}: {err}");
    }
    let err = f
        .send(OutboundRequest::get(url(addr, "/loop")))
        .await
        .expect_err("loop");
    assert!(matches!(err, FetchError::TooManyRedirects), "{err}");
    // Without redirects allowed, the 3xx itself comes back.
    let r = f
        .send(OutboundRequest::get(url(addr, "/redirect-metadata")).max_redirects(0))
        .await
        .expect("3xx returned");
    assert_eq!(r.status, 302);
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let (addr, _) = server().await;
    let f = fetcher(addr);
    let started = Instant::now();
    let err = f
        .send(OutboundRequest::get(url(addr, "/endless")).max_body(256 * 1024))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 262_144 }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let (addr, _) = server().await;
    let f = fetcher(addr);
    let err = f
        .send(OutboundRequest::get(url(addr, "/hang")).timeout(Duration::from_millis(200)))
        .await
        .expect_err("timeout");
    assert!(matches!(err, FetchError::Timeout(_)), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = fetcher(addr)
        .send(OutboundRequest::get(url(addr, "/")))
        .await
        .expect_err("closed");
    assert!(matches!(err, FetchError::Connect(_)), "{err}");
}
