//! A small HTTP/1.1 load generator for the load scenarios (`benches/load/run.sh`), for
//! what wrk cannot do: a constant request rate (open loop, like wrk2 or `oha -q`, neither
//! of which Debian packages), a different session cookie per request, and time to first
//! byte.
//!
//! ```text
//! # open loop: 1,000 requests/s for 60 s, each with the next session of the file
//! cargo run --release --example bench_load -- --url http://127.0.0.1:P/page/accueil \
//!     --rate 1000 --duration 60 --warmup 10 --cookies sessions.txt --expect '<main'
//! # closed loop: 16 connections, each sending its next request when the last one ends
//! cargo run --release --example bench_load -- --url … --connections 16 --duration 30
//! ```
//!
//! **Open loop.** Request *i* is due at `start + i / rate`, whatever happened to the
//! requests before it: it is sent at that time on a free pooled connection (a new one if
//! none is free), and its latency is counted **from the time it was due**, not from when
//! it could be sent, so a stalled server cannot hide its stall by slowing the generator
//! down (no coordinated omission). Requests due while `--max-in-flight` are outstanding
//! are not sent and count as errors (`dropped`).
//!
//! **Closed loop.** `--connections C` clients each send a request, read the whole answer,
//! and send the next one.
//!
//! Latencies go into HDR histograms (µs, 3 significant digits); `--series FILE` also
//! writes, per second of the measured period, the count, p50, p99 and max. The result is one line of
//! `key=value` on stdout: `requests ok errors dropped timeouts bad_status bad_body rps
//! p50_ms p90_ms p99_ms p999_ms max_ms ttfb_p50_ms ttfb_p99_ms`. `ttfb` is until the first
//! byte of the body (or the headers when there is none).
//!
//! Only loopback targets are accepted: this is for benchmarking servers of this machine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

struct Options {
    url: hyper::Uri,
    rate: Option<f64>,
    connections: Option<usize>,
    duration: Duration,
    warmup: Duration,
    cookies: Vec<String>,
    cookie_name: String,
    expect: Option<String>,
    timeout: Duration,
    max_in_flight: u64,
    series: Option<std::path::PathBuf>,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut url = None;
    let mut o = Options {
        url: hyper::Uri::from_static("http://127.0.0.1/"),
        rate: None,
        connections: None,
        duration: Duration::from_secs(10),
        warmup: Duration::ZERO,
        cookies: Vec::new(),
        cookie_name: "cartable_sid".into(),
        expect: None,
        timeout: Duration::from_secs(10),
        max_in_flight: 20_000,
        series: None,
    };
    let secs = |v: &str| -> Result<Duration, Box<dyn std::error::Error>> {
        Ok(Duration::from_secs_f64(v.parse()?))
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = Some(value.parse::<hyper::Uri>()?),
            "--rate" => o.rate = Some(value.parse()?),
            "--connections" => o.connections = Some(value.parse()?),
            "--duration" => o.duration = secs(&value)?,
            "--warmup" => o.warmup = secs(&value)?,
            "--cookie" => o.cookies.push(value),
            "--cookies" => o.cookies.extend(
                std::fs::read_to_string(&value)?
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            ),
            "--cookie-name" => o.cookie_name = value,
            "--expect" => o.expect = Some(value),
            "--timeout-ms" => o.timeout = Duration::from_millis(value.parse()?),
            "--max-in-flight" => o.max_in_flight = value.parse()?,
            "--series" => o.series = Some(value.into()),
            other => return Err(format!("unknown option {other:?} (see the file's header)").into()),
        }
    }
    o.url = url.ok_or("--url is required")?;
    let host = o.url.host().unwrap_or("");
    if !(host == "localhost" || host.starts_with("127.") || host == "[::1]") {
        return Err(format!(
            "{host:?} is not a loopback address: bench_load only targets this machine"
        )
        .into());
    }
    if o.rate.is_some() == o.connections.is_some() {
        return Err(
            "give exactly one of --rate (open loop) and --connections (closed loop)".into(),
        );
    }
    Ok(o)
}

/// What the run saw.
struct Stats {
    /// Total latency by second of the measured period (by due time in open loop).
    by_second: Vec<Histogram<u64>>,
    total: Histogram<u64>,
    ttfb: Histogram<u64>,
    ok: u64,
    timeouts: u64,
    bad_status: u64,
    bad_body: u64,
    failed: u64,
}

impl Stats {
    fn new() -> Self {
        let h = || Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds");
        Stats {
            by_second: Vec::new(),
            total: h(),
            ttfb: h(),
            ok: 0,
            timeouts: 0,
            bad_status: 0,
            bad_body: 0,
            failed: 0,
        }
    }
}

enum Outcome {
    Ok,
    Timeout,
    BadStatus,
    BadBody,
    Failed,
}

struct Shared {
    client: Client<HttpConnector, Empty<Bytes>>,
    o: Options,
    stats: Mutex<Stats>,
    in_flight: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    /// Send request number `i`, counting from `from`; record it when `record`, in the
    /// per-second series at `second`.
    async fn one(&self, i: usize, from: Instant, record: bool, second: usize) {
        let mut req = hyper::Request::get(self.o.url.clone());
        if !self.o.cookies.is_empty() {
            let c = &self.o.cookies[i % self.o.cookies.len()];
            req = req.header("cookie", format!("{}={c}", self.o.cookie_name));
        }
        let req = req.body(Empty::new()).expect("valid request");
        let mut ttfb = None;
        let outcome = match tokio::time::timeout(self.o.timeout, async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|_| Outcome::Failed)?;
            let status = resp.status();
            let mut body = resp.into_body();
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| Outcome::Failed)?;
                if let Some(data) = frame.data_ref() {
                    if ttfb.is_none() && !data.is_empty() {
                        ttfb = Some(from.elapsed());
                    }
                    if self.o.expect.is_some() {
                        bytes.extend_from_slice(data);
                    }
                }
            }
            if ttfb.is_none() {
                ttfb = Some(from.elapsed());
            }
            if status != hyper::StatusCode::OK {
                return Err(Outcome::BadStatus);
            }
            if let Some(e) = &self.o.expect
                && !bytes.windows(e.len()).any(|w| w == e.as_bytes())
            {
                return Err(Outcome::BadBody);
            }
            Ok(())
        })
        .await
        {
            Ok(Ok(())) => Outcome::Ok,
            Ok(Err(o)) => o,
            Err(_) => Outcome::Timeout,
        };
        let total = from.elapsed();
        if !record {
            return;
        }
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Outcome::Ok => {
                s.ok += 1;
                let us = |d: Duration| (d.as_micros() as u64).max(1);
                let _ = s.total.record(us(total));
                let _ = s.ttfb.record(us(ttfb.unwrap_or(total)));
                if self.o.series.is_some() {
                    while s.by_second.len() <= second {
                        let h = Histogram::new_with_bounds(1, 120_000_000, 2).expect("bounds");
                        s.by_second.push(h);
                    }
                    let _ = s.by_second[second].record(us(total));
                }
            }
            Outcome::Timeout => s.timeouts += 1,
            Outcome::BadStatus => s.bad_status += 1,
            Outcome::BadBody => s.bad_body += 1,
            Outcome::Failed => s.failed += 1,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector);
    let shared = Arc::new(Shared {
        client,
        o,
        stats: Mutex::new(Stats::new()),
        in_flight: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    let measured = match (shared.o.rate, shared.o.connections) {
        (Some(rate), _) => open_loop(&shared, rate).await,
        (_, Some(c)) => closed_loop(&shared, c).await,
        _ => unreachable!("checked by options()"),
    };
    let s = shared.stats.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(file) = &shared.o.series {
        let mut out = String::from("second count p50_ms p99_ms max_ms\n");
        for (i, h) in s.by_second.iter().enumerate() {
            out.push_str(&format!(
                "{i} {} {:.2} {:.2} {:.2}\n",
                h.len(),
                h.value_at_quantile(0.5) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
                h.max() as f64 / 1000.0
            ));
        }
        std::fs::write(file, out)?;
    }
    let dropped = shared.dropped.load(Ordering::Relaxed);
    let errors = s.timeouts + s.bad_status + s.bad_body + s.failed + dropped;
    let ms = |h: &Histogram<u64>, q: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64 / 1000.0
        }
    };
    println!(
        "requests={} ok={} errors={errors} dropped={dropped} timeouts={} bad_status={} bad_body={} failed={} rps={:.1} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} p999_ms={:.2} max_ms={:.2} ttfb_p50_ms={:.2} ttfb_p99_ms={:.2}",
        s.ok + errors,
        s.ok,
        s.timeouts,
        s.bad_status,
        s.bad_body,
        s.failed,
        s.ok as f64 / measured.as_secs_f64(),
        ms(&s.total, 0.5),
        ms(&s.total, 0.9),
        ms(&s.total, 0.99),
        ms(&s.total, 0.999),
        s.total.max() as f64 / 1000.0,
        ms(&s.ttfb, 0.5),
        ms(&s.ttfb, 0.99),
    );
    Ok(())
}

/// Requests due at a constant rate; returns the measured period. The schedule runs on
/// its own OS thread with `nanosleep` (tens of µs late at most, where tokio's timer wheel
/// is up to 1 ms late), and hands each request to the runtime when it is due.
async fn open_loop(shared: &Arc<Shared>, rate: f64) -> Duration {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let warmup_n = (shared.o.warmup.as_secs_f64() * rate).round() as usize;
    let total_n = warmup_n + (shared.o.duration.as_secs_f64() * rate).round() as usize;
    let runtime = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let scheduler = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let start = Instant::now() + Duration::from_millis(10);
            let measured_from = start + shared.o.warmup;
            let done_tx = Arc::new(Mutex::new(Some(done_tx)));
            for i in 0..total_n {
                let due = start + interval.mul_f64(i as f64);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let record = i >= warmup_n;
                let second = due.saturating_duration_since(measured_from).as_secs() as usize;
                if shared.in_flight.load(Ordering::Relaxed) >= shared.o.max_in_flight {
                    if record {
                        shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                let done_tx = done_tx.clone();
                runtime.spawn(async move {
                    shared.one(i, due, record, second).await;
                    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    drop(done_tx);
                });
            }
            // The sender is dropped once the scheduler and every request are done.
            drop(done_tx);
        })
    };
    // Resolves (with an error: nothing is sent) when the last holder drops the sender.
    let _ = done_rx.await;
    let _ = scheduler.join();
    shared.o.duration
}

/// `c` clients back to back; returns the measured period.
async fn closed_loop(shared: &Arc<Shared>, c: usize) -> Duration {
    let start = Instant::now();
    let measure_from = start + shared.o.warmup;
    let end = measure_from + shared.o.duration;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let shared = shared.clone();
        let counter = counter.clone();
        tasks.spawn(async move {
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let i = counter.fetch_add(1, Ordering::Relaxed) as usize;
                let second = now.saturating_duration_since(measure_from).as_secs() as usize;
                shared.one(i, now, now >= measure_from, second).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    shared.o.duration
}
