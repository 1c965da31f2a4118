//! Connection deadlines and the connection cap, over real TCP on loopback (issue 12): a
//! client that never sends, one that sends half a request head, one that trickles its
//! head or its body, and an idle kept-alive connection are each closed by the portal
//! within their deadline while other users are served; past `max_connections` a new
//! connection gets a clear 503, and service resumes once the others close.
//!
//! The raw connections use blocking `std::net` sockets on blocking threads, so what the
//! test measures is the portal's behaviour, not the test's own scheduling.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cartable::prelude::*;
use common::*;

/// The deadlines of the first test, short so that it takes seconds.
const HEADER_MS: u64 = 1000;
const IDLE_MS: u64 = 1500;
const BODY_MS: u64 = 1500;

/// How late a close may come on a loaded 2-core machine (builds run beside the tests).
const SLACK: Duration = Duration::from_millis(2500);
/// How long a connection is watched before the test says it was never closed.
const NEVER: Duration = Duration::from_secs(12);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Renders after a fixed time (a page slower than every connection deadline).
struct Slow(Descriptor, Duration);

#[async_trait]
impl Portlet for Slow {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        tokio::time::sleep(self.1).await;
        Ok(Markup::text("contenu lent").into())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to the portal");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(NEVER)).unwrap();
    s
}

/// Read until the portal closes the connection; returns when that happened (from
/// `since`) and what it sent first. Panics if it is still open after [`NEVER`].
fn wait_closed(s: &mut TcpStream, since: Instant, what: &str) -> (Duration, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (since.elapsed(), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "{what}: the connection is still open after {:?} (received {:?})",
                    since.elapsed(),
                    String::from_utf8_lossy(&got)
                )
            }
            // A reset is a close too (the portal may close with bytes unread).
            Err(_) => return (since.elapsed(), got),
        }
    }
}

/// One HTTP/1.1 response read from a raw connection: status, head, body.
struct RawResponse {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn read_response(s: &mut TcpStream) -> RawResponse {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).expect("response head");
        assert!(
            n > 0,
            "connection closed before a response head: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let mut rest = data[head_end..].to_vec();
    let body = if let Some(len) = header("content-length") {
        let len: usize = len.parse().unwrap();
        while rest.len() < len {
            let n = s.read(&mut buf).expect("response body");
            assert!(n > 0, "connection closed in the body");
            rest.extend_from_slice(&buf[..n]);
        }
        rest.truncate(len);
        rest
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        // Read until the last chunk; the body's exact bytes do not matter here.
        while !rest.windows(5).any(|w| w == b"0\r\n\r\n") {
            let n = s.read(&mut buf).expect("chunked body");
            assert!(n > 0, "connection closed in a chunked body");
            rest.extend_from_slice(&buf[..n]);
        }
        rest
    } else {
        rest
    };
    RawResponse { status, head, body }
}

fn get_login(s: &mut TcpStream) -> RawResponse {
    s.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_response(s)
}

/// `elapsed` is within `deadline` (not much earlier: it is the deadline that closed it,
/// and not later than the slack allows).
fn assert_near(what: &str, elapsed: Duration, deadline: Duration) {
    eprintln!("{what}: closed after {elapsed:?} (deadline {deadline:?})");
    assert!(
        elapsed >= deadline.mul_f32(0.75),
        "{what}: closed after {elapsed:?}, before its deadline of {deadline:?}"
    );
    assert!(
        elapsed <= deadline + SLACK,
        "{what}: closed after {elapsed:?}, long past its deadline of {deadline:?}"
    );
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("test thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
        deadline_ms = 5000
        [server]
        header_read_timeout_ms = {HEADER_MS}
        idle_timeout_ms = {IDLE_MS}
        body_read_timeout_ms = {BODY_MS}
        max_connections = 64
        [[layouts.default.tabs]]
        id = "accueil"
        title = "Accueil"
        columns = [[{{ portlet = "lent" }}]]
        "#
    );
    let slow: Arc<dyn Portlet> = Arc::new(Slow(Descriptor::new("lent", "Lent"), ms(2500)));
    let p = TestPortal::start(&toml, dir.path(), vec![slow]).await;
    let addr = p.running.local_addr();

    // 1. Connects and never sends a byte.
    let silent = blocking(move || {
        let mut s = connect(addr);
        let t = Instant::now();
        wait_closed(&mut s, t, "silent connection")
    });
    // 2. Sends half a request head, then nothing.
    let half = blocking(move || {
        let mut s = connect(addr);
        let t = Instant::now();
        s.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        wait_closed(&mut s, t, "half-sent head")
    });
    // 3. Trickles its head a byte every 200 ms: bytes keep coming, the head never ends.
    let trickle = blocking(move || {
        let mut s = connect(addr);
        let t = Instant::now();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let head = b"GET /login HTTP/1.1\r\nHost: localhost\r\nX-Lent: ";
            w.write_all(head).unwrap();
            for _ in 0..60 {
                std::thread::sleep(ms(200));
                if w.write_all(b"a").is_err() {
                    break;
                }
            }
        });
        let r = wait_closed(&mut s, t, "head trickled a byte every 200 ms");
        let _ = s.shutdown(std::net::Shutdown::Both);
        writer.join().unwrap();
        r
    });
    // 4. A kept-alive connection left idle after one request.
    let idle = blocking(move || {
        let mut s = connect(addr);
        let r = get_login(&mut s);
        assert_eq!(r.status, 200, "first request on the kept-alive connection");
        let t = Instant::now();
        wait_closed(&mut s, t, "idle kept-alive connection")
    });
    // 5. A whole head, then a body trickled a byte every 200 ms.
    let body = blocking(move || {
        let mut s = connect(addr);
        s.write_all(
            b"POST /login HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nlogin=",
        )
        .unwrap();
        let t = Instant::now();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            for _ in 0..60 {
                std::thread::sleep(ms(200));
                if w.write_all(b"a").is_err() {
                    break;
                }
            }
        });
        let r = wait_closed(&mut s, t, "body trickled a byte every 200 ms");
        let _ = s.shutdown(std::net::Shutdown::Both);
        writer.join().unwrap();
        r
    });

    // Meanwhile, everybody else is served.
    tokio::time::sleep(ms(300)).await;
    let mut other = p.client();
    assert_eq!(other.get("/login").await.status, 200);
    // A kept-alive connection may wait longer than the header deadline between two
    // requests: that is the idle deadline's business.
    let reused = blocking(move || {
        let mut s = connect(addr);
        assert_eq!(get_login(&mut s).status, 200);
        std::thread::sleep(ms(HEADER_MS + 200));
        let again = get_login(&mut s);
        (again.status, again.body.len())
    })
    .await;
    assert_eq!(
        reused.0, 200,
        "second request after a pause shorter than idle"
    );
    assert!(reused.1 > 0);
    // A page slower than every connection deadline still arrives whole (a request in
    // progress is not idle).
    let mut lea = p.login("lea").await;
    let started = Instant::now();
    let page = lea.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("contenu lent") && page.body.trim_end().ends_with("</html>"),
        "the slow streamed page arrives whole after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= ms(2400));

    let (t, got) = silent.await;
    assert_near("silent connection", t, ms(HEADER_MS));
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let (t, _) = half.await;
    assert_near("half-sent head", t, ms(HEADER_MS));
    let (t, _) = trickle.await;
    assert_near("trickled head", t, ms(HEADER_MS));
    let (t, got) = idle.await;
    assert_near("idle kept-alive connection", t, ms(IDLE_MS));
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let (t, got) = body.await;
    assert_near("trickled body", t, ms(BODY_MS));
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 408"),
        "a trickled body gets 408 Request Timeout: {got:?}"
    );

    // And still serving.
    assert_eq!(p.client().get("/login").await.status, 200);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_503_then_service_resumes() {
    const CAP: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[server]\nmax_connections = {CAP}\nheader_read_timeout_ms = 20000\nidle_timeout_ms = 20000\n"
    );
    let p = TestPortal::start(&toml, dir.path(), vec![]).await;
    let addr = p.running.local_addr();

    // Fill the cap with kept-alive connections (each served once, so each is accepted).
    let held = blocking(move || {
        (0..CAP)
            .map(|i| {
                let mut s = connect(addr);
                assert_eq!(
                    get_login(&mut s).status,
                    200,
                    "connection {i} under the cap"
                );
                s
            })
            .collect::<Vec<_>>()
    })
    .await;

    // The next one is answered 503 at once, told when to retry, and closed.
    let refused = blocking(move || {
        let mut s = connect(addr);
        let t = Instant::now();
        let r = get_login(&mut s);
        let (closed_after, rest) = wait_closed(&mut s, t, "connection past the cap");
        (r, closed_after, rest)
    })
    .await;
    let (r, closed_after, rest) = refused;
    assert_eq!(r.status, 503, "{}", r.head);
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("\r\nretry-after: "), "{}", r.head);
    assert!(head.contains("\r\nconnection: close\r\n"), "{}", r.head);
    assert!(!r.body.is_empty());
    assert!(rest.is_empty());
    assert!(closed_after < SLACK, "closed after {closed_after:?}");
    // The same through an ordinary HTTP client.
    assert_eq!(p.client().get("/login").await.status, 503);

    // The held connections still work, and once they close service resumes.
    let held = blocking(move || {
        let mut held = held;
        for s in &mut held {
            assert_eq!(get_login(s).status, 200);
        }
        held
    })
    .await;
    drop(held);
    let started = Instant::now();
    loop {
        let status = blocking(move || get_login(&mut connect(addr)).status).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still refused {:?} after the held connections closed",
            started.elapsed()
        );
        tokio::time::sleep(ms(50)).await;
    }
    p.stop().await;
}
