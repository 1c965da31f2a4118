//! The connections: admission under the cap, the 503 past it, and the socket wrapper
//! that applies the head and idle deadlines (see the crate documentation).
//!
//! Cost on the request path: two atomic increments per request (one when it starts, one
//! when its response ends), a few atomic loads, and a clock read when the connection
//! goes idle. Each connection has one timer, allocated once; it is only re-armed in the
//! timer wheel when it fires (a deadline that moves later is just remembered), so a
//! request touches neither the allocator nor the timer wheel's lock. (hyper's own
//! `header_read_timeout` allocates a timer per request, and does not cover the version
//! sniffing of the auto builder: a client that sends nothing is never timed out by it.)

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::ServerConfig;

/// The answer past the connection cap. Minimal and fixed: it is written without
/// parsing anything the client sent.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 59\r\n\
Retry-After: 2\r\n\
Cache-Control: no-store\r\n\
Connection: close\r\n\
\r\n\
Le portail est surcharg\xc3\xa9, r\xc3\xa9essayez. Server busy, retry.\n";

/// At most this many refused connections are being answered at once; beyond, a refused
/// connection is closed without an answer (a flood must not cost more than the cap).
const MAX_REFUSING: usize = 256;
/// A refused connection gets this long to take its 503 and close.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);
/// What is read (and dropped) from a refused connection so that closing it does not
/// reset the connection before the client has read the 503.
const REFUSAL_DRAIN: usize = 64 * 1024;

/// The connection settings, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header: Duration,
    pub(crate) idle: Duration,
    pub(crate) body: Duration,
    pub(crate) max: usize,
}

/// What the accept loop and every connection share.
pub(crate) struct Server {
    limits: Limits,
    /// Open connections (accepted, not yet closed).
    open: AtomicUsize,
    /// Refused connections being answered.
    refusing: AtomicUsize,
}

impl Server {
    pub(crate) fn new(s: &ServerConfig) -> Arc<Server> {
        let limits = Limits {
            header: Duration::from_millis(s.header_read_timeout_ms),
            idle: Duration::from_millis(s.idle_timeout_ms),
            body: Duration::from_millis(s.body_read_timeout_ms),
            max: s.max_connections.max(1),
        };
        Arc::new(Server {
            limits,
            open: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
        })
    }

    /// Count a newly accepted connection in, or `None` past the cap. Only the accept
    /// loop calls it, so the check and the increment cannot race with another admit.
    pub(crate) fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Arc<Conn>> {
        if self.open.load(Ordering::Acquire) >= self.limits.max {
            return None;
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        Some(Arc::new(Conn {
            server: self.clone(),
            peer,
            started: AtomicU32::new(0),
            finished: AtomicU32::new(0),
        }))
    }

    /// Past three quarters of the cap.
    fn crowded(&self) -> bool {
        self.open.load(Ordering::Relaxed) > self.limits.max - self.limits.max / 4
    }

    /// Answer a connection past the cap with a 503 and close it, without holding up the
    /// accept loop.
    pub(crate) fn refuse(self: &Arc<Self>, stream: TcpStream) {
        if self.refusing.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::AcqRel);
            return; // dropped: closed at once
        }
        let server = self.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REFUSAL_DEADLINE, answer_overloaded(stream)).await;
            server.refusing.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// Wait for the request head (an HTTP client takes an answer that comes before its
/// request for a broken connection), write the 503, end our side, and read what the
/// client still sends until it closes, so that the close is a FIN after the answer
/// rather than a reset that may discard it.
async fn answer_overloaded(mut stream: TcpStream) -> io::Result<()> {
    let mut head = [0u8; 8192];
    let mut len = 0;
    while len < head.len() {
        stream.readable().await?;
        match stream.try_read(&mut head[len..]) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                let from = len.saturating_sub(3);
                len += n;
                if head[from..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    let mut sent = 0;
    while sent < OVERLOADED.len() {
        stream.writable().await?;
        match stream.try_write(&OVERLOADED[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await?;
    let mut sink = [0u8; 2048];
    let mut left = REFUSAL_DRAIN;
    while left > 0 {
        stream.readable().await?;
        match stream.try_read(&mut sink) {
            Ok(0) => break,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One accepted connection: its requests in progress, shared by its I/O (which applies
/// the deadlines) and the requests (which say when they start and end).
pub(crate) struct Conn {
    server: Arc<Server>,
    pub(crate) peer: SocketAddr,
    /// Requests handed to the portal so far.
    started: AtomicU32,
    /// Requests whose response has ended (written, or abandoned).
    finished: AtomicU32,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The last holder is gone: the socket, hyper's connection and every request.
        self.server.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Conn {
    /// The connection settings.
    pub(crate) fn limits(&self) -> &Limits {
        &self.server.limits
    }

    /// A request starts; it lasts until the returned value, or the body it becomes
    /// ([`Busy::respond`]), is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.started.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }
}

/// A request in progress on a connection.
pub(crate) struct Busy(Arc<Conn>);

impl Busy {
    pub(crate) fn conn(&self) -> &Conn {
        &self.0
    }

    /// The response, whose body keeps the request in progress until hyper has written
    /// it (or dropped it).
    pub(crate) fn respond<B>(
        self,
        response: hyper::Response<B>,
    ) -> hyper::Response<TrackedBody<B>> {
        response.map(|body| TrackedBody { body, _busy: self })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // Release: the connection's I/O must not see the request end before its effects.
        self.0.finished.fetch_add(1, Ordering::Release);
    }
}

/// A response body that keeps its request "in progress" while it is being written.
pub(crate) struct TrackedBody<B> {
    body: B,
    _busy: Busy,
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket, with its head and idle deadlines. hyper reads and writes
/// through it; when a deadline passes while no request is in progress, the next read or
/// flush fails with `TimedOut` and hyper closes the connection.
pub(crate) struct Guarded {
    stream: TcpStream,
    conn: Arc<Conn>,
    /// The one timer; it may be set earlier than `deadline` (then it is re-armed when it
    /// fires), never later.
    timer: Pin<Box<Sleep>>,
    /// When the connection is closed unless a request starts (meaningful when `idle`).
    deadline: Instant,
    /// No request in progress when last looked at.
    idle: bool,
    /// `finished` when last looked at: a change means a new idle period.
    seen: u32,
    /// The current idle period has received a byte (its head deadline is set).
    head_started: bool,
}

impl Guarded {
    pub(crate) fn new(stream: TcpStream, conn: Arc<Conn>) -> Guarded {
        // The first request's head is due `header` after the accept, however it arrives.
        let deadline = Instant::now() + conn.server.limits.header;
        Guarded {
            stream,
            conn,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            deadline,
            idle: true,
            seen: 0,
            head_started: true,
        }
    }

    /// Look at the requests in progress; returns whether the connection is idle (and
    /// starts a new idle period when one has just begun).
    #[inline]
    fn observe(&mut self) -> bool {
        let finished = self.conn.finished.load(Ordering::Acquire);
        let started = self.conn.started.load(Ordering::Relaxed);
        if started != finished {
            self.idle = false;
            return false;
        }
        if !self.idle || finished != self.seen {
            // The last response has just ended.
            self.idle = true;
            self.seen = finished;
            self.head_started = false;
            let limits = &self.conn.server.limits;
            let keep = if self.conn.server.crowded() {
                limits.idle.min(limits.header)
            } else {
                limits.idle
            };
            self.set_deadline(Instant::now() + keep);
        }
        true
    }

    /// Bytes arrived while idle: the first ones start a request head, which is then due
    /// `header` later (never earlier than the idle deadline already was).
    #[inline]
    fn received(&mut self) {
        if !self.head_started {
            self.head_started = true;
            let due = Instant::now() + self.conn.server.limits.header;
            if due > self.deadline {
                self.deadline = due;
            }
        }
    }

    fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if deadline < self.timer.deadline() {
            // Only earlier deadlines touch the timer wheel (a crowded node, or a head
            // deadline longer than the idle one).
            self.timer.as_mut().reset(deadline);
        }
    }

    /// While a request is in progress: keep the timer registered (`idle` ahead once it
    /// has fired), so that the connection's task wakes to notice it has gone idle even
    /// if it missed the end of the request (with HTTP/2 a request ends in its own task,
    /// possibly after the connection last looked). One atomic load otherwise.
    #[inline]
    fn keep_timer(&mut self, cx: &mut Context<'_>) {
        if self.timer.is_elapsed() {
            let next = Instant::now() + self.conn.server.limits.idle;
            self.timer.as_mut().reset(next);
            let _ = self.timer.as_mut().poll(cx);
        }
    }

    /// While idle: make sure the task wakes at the deadline; fail once it has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        while self.timer.as_mut().poll(cx).is_ready() {
            if self.timer.deadline() >= self.deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection deadline passed with no request in progress",
                ));
            }
            // The deadline moved later since the timer was set: re-arm it there.
            let deadline = self.deadline;
            self.timer.as_mut().reset(deadline);
        }
        Ok(())
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.observe() {
            let read = Pin::new(&mut this.stream).poll_read(cx, buf);
            if read.is_pending() {
                this.keep_timer(cx);
            }
            return read;
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.poll_deadline(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            other => other,
        }
    }
}

impl AsyncWrite for Guarded {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper flushes after every response: this is where a connection going idle is
        // noticed even when hyper does not read again until the client sends something,
        // so the timer must be armed here.
        if this.observe()
            && let Err(e) = this.poll_deadline(cx)
        {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overloaded_answer_is_well_formed() {
        let text = std::str::from_utf8(OVERLOADED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        assert!(head.contains("\r\nRetry-After: ") && head.contains("\r\nConnection: close"));
    }
}
