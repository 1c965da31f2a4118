//! Files through the portal (issue 14): a 1 GB upload and download streamed through a
//! real portal process with its RSS watched, and the throughput of 1 MB and 100 MB files
//! beside a bare hyper server that writes the body to the same disk (and reads it back).
//!
//! ```text
//! cargo run --release --example bench_files                 # the whole run, figures on stdout
//! cargo run --release --example bench_files -- --big-mb 1024 --small-reps 50 --medium-reps 5
//! ```
//!
//! The driver (this process) writes the test files into a temporary directory, starts two
//! child processes of this same binary on loopback, `--serve-portal DIR` (a portal with the
//! "Dépôt" portlet of `examples/depot`, its data and files under DIR) and `--serve-bare DIR`
//! (hyper alone: `POST /f/NAME` writes the body to DIR/NAME, `GET /f/NAME` streams it
//! back), then sends each file one request at a time and reads each answer whole.
//! "growth" is the highest RSS sampled during a transfer less the RSS just before it.
//! Uploads are `multipart/form-data` to the portlet's action for the portal (what a
//! browser sends) and the raw body for the bare server; downloads go through the
//! portlet's resource. The portal's RSS (`/proc/PID/status`) is sampled every 20 ms.
//! Everything is deleted at the end.

#[path = "depot/mod.rs"]
mod depot;

use std::convert::Infallible;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cartable::ldif::{LdifDirectory, hash_password};
use cartable::{EntBuilder, EntConfig};
use futures::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The allocator of every Cartable server example (see the `mimalloc` note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, std::io::Error>;

const PASSWORD: &str = "bench-pw";
const BOUNDARY: &str = "cartable-bench-boundary-x8Yq2";
const CHUNK: usize = 256 * 1024;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve-portal") => serve_portal(Path::new(arg(&args, 1)?)).await,
        Some("--serve-bare") => serve_bare(PathBuf::from(arg(&args, 1)?)).await,
        _ => drive(&args).await,
    }
}

fn arg(args: &[String], i: usize) -> Result<&str, Error> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| "a directory is needed".into())
}

// ---------------------------------------------------------------------------------------
// The portal.

async fn serve_portal(dir: &Path) -> Result<(), Error> {
    let toml = "[server]\nbody_read_timeout_ms = 600000\n\
        [[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\n\
        columns = [[{ portlet = \"depot\" }]]\n";
    let mut config = EntConfig::from_toml(toml, dir)?;
    config.portal.data_dir = dir.to_path_buf();
    let ldif = format!(
        "dn: uid=bench,ou=people,dc=bench\nuid: bench\ncn: Bench\ndisplayName: Bench\n\
         ENTPersonProfils: enseignant\nuserPassword: {{ARGON2}}{}\n\n",
        hash_password(PASSWORD)
    );
    let portal = EntBuilder::new(config)
        .directory(Arc::new(LdifDirectory::parse(&ldif)?))
        .portlets(vec![
            Arc::new(depot::Depot::new(2 << 30, 8 << 30)) as Arc<dyn cartable::prelude::Portlet>
        ])
        .build()
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = portal.serve(listener)?;
    println!("http://{}", running.local_addr());
    std::io::stdout().flush()?;
    cartable::portal::shutdown_signal().await;
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------
// The bare server: hyper, the body to a file, the file back.

async fn serve_bare(dir: PathBuf) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let dir = Arc::new(dir);
    loop {
        let (tcp, _) = listener.accept().await?;
        let dir = dir.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| bare(dir.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn bare(
    dir: Arc<PathBuf>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Body>, Infallible> {
    let name = req.uri().path().trim_start_matches("/f/").replace('/', "_");
    let path = dir.join(name);
    let answer = if req.method() == http::Method::POST {
        let mut file = match tokio::fs::File::create(&path).await {
            Ok(f) => f,
            Err(_) => return Ok(status(500)),
        };
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Ok(status(400));
            };
            if let Some(data) = frame.data_ref()
                && file.write_all(data).await.is_err()
            {
                return Ok(status(500));
            }
        }
        if file.flush().await.is_err() {
            return Ok(status(500));
        }
        status(201)
    } else {
        match tokio::fs::File::open(&path).await {
            Ok(file) => {
                let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
                let mut r = http::Response::new(file_body(file));
                r.headers_mut()
                    .insert(http::header::CONTENT_LENGTH, len.into());
                r
            }
            Err(_) => status(404),
        }
    };
    Ok(answer)
}

fn status(code: u16) -> http::Response<Body> {
    let mut r = http::Response::new(empty());
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    r
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A file's bytes as a body, in [`CHUNK`]s.
fn file_body(file: tokio::fs::File) -> Body {
    let stream = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Frame::data(Bytes::from(buf))), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}

// ---------------------------------------------------------------------------------------
// The driver.

struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mode: &str, dir: &Path) -> Result<Server, Error> {
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg(mode)
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let base = line.trim().to_string();
    if !base.starts_with("http://") {
        return Err(format!("{mode} did not start: {line:?}").into());
    }
    Ok(Server { child, base })
}

/// The RSS and its peak of a process, in bytes (`/proc/PID/status`).
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Samples a process's RSS every 20 ms; the highest seen.
struct Watch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Watch {
    fn start(pid: u32) -> Watch {
        let peak = Arc::new(AtomicU64::new(rss(pid).0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Watch { peak, stop }
    }

    fn peak(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed)
    }
}

struct Http {
    client: Client<HttpConnector, Body>,
}

impl Http {
    async fn send(
        &self,
        req: http::Request<Body>,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes), Error> {
        let resp = self.client.request(req).await?;
        let (parts, body) = resp.into_parts();
        Ok((
            parts.status,
            parts.headers,
            body.collect().await?.to_bytes(),
        ))
    }

    /// Send, read the answer's body as it comes: status, bytes, SHA-256.
    async fn drain(
        &self,
        req: http::Request<Body>,
    ) -> Result<(http::StatusCode, u64, String), Error> {
        let resp = self.client.request(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                hasher.update(data);
                n += data.len() as u64;
            }
        }
        Ok((status, n, hex(&hasher.finalize())))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A logged-in session on the portal: its cookie and CSRF token.
async fn login(http: &Http, base: &str) -> Result<(String, String), Error> {
    let (_, headers, page) = http
        .send(http::Request::get(format!("{base}/login")).body(empty())?)
        .await?;
    let cookie = cookie(&headers).unwrap_or_default();
    let token = csrf(&page).ok_or("no CSRF field on the login page")?;
    let form = format!("_csrf={token}&login=bench&password={PASSWORD}");
    let (status, headers, _) = http
        .send(
            http::Request::post(format!("{base}/login"))
                .header("cookie", format!("cartable_sid={cookie}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(full(form))?,
        )
        .await?;
    if status != http::StatusCode::SEE_OTHER {
        return Err(format!("login answered {status}").into());
    }
    let cookie = cookie_of(&headers).ok_or("no session cookie after login")?;
    let (_, _, page) = http
        .send(
            http::Request::get(format!("{base}/page/accueil"))
                .header("cookie", format!("cartable_sid={cookie}"))
                .body(empty())?,
        )
        .await?;
    let token = csrf(&page).ok_or("no CSRF field on the page")?;
    Ok((cookie, token))
}

fn cookie(headers: &http::HeaderMap) -> Option<String> {
    cookie_of(headers)
}

fn cookie_of(headers: &http::HeaderMap) -> Option<String> {
    headers.get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let rest = v.strip_prefix("cartable_sid=")?;
        let value = rest.split(';').next()?;
        (!value.is_empty()).then(|| value.to_string())
    })
}

fn csrf(page: &[u8]) -> Option<String> {
    let html = String::from_utf8_lossy(page);
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Write a test file of `mb` MiB (bytes that are not all alike).
fn write_file(path: &Path, mb: usize) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mb {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&block)?;
    }
    out.flush()?;
    Ok(())
}

/// A file's bytes from disk, as a body, optionally between a prefix and a suffix.
async fn streamed(path: &Path, prefix: Bytes, suffix: Bytes) -> Result<(Body, u64), Error> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len() + prefix.len() as u64 + suffix.len() as u64;
    let head = futures::stream::iter([Ok(Frame::data(prefix))]);
    let tail = futures::stream::iter([Ok(Frame::data(suffix))]);
    let middle = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Frame::data(Bytes::from(buf))), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok((
        BodyExt::boxed(StreamBody::new(head.chain(middle).chain(tail))),
        len,
    ))
}

fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

struct Portal<'a> {
    http: &'a Http,
    base: &'a str,
    cookie: String,
    token: String,
}

impl Portal<'_> {
    /// Upload through the portlet's action; the stored file's id.
    async fn upload(&self, path: &Path, name: &str) -> Result<String, Error> {
        let prefix = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            self.token
        );
        let suffix = format!("\r\n--{BOUNDARY}--\r\n");
        let (body, len) = streamed(path, Bytes::from(prefix), Bytes::from(suffix)).await?;
        let (status, headers, answer) = self
            .http
            .send(
                http::Request::post(format!("{}/action/accueil/depot", self.base))
                    .header("cookie", format!("cartable_sid={}", self.cookie))
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .header("content-length", len)
                    .body(body)?,
            )
            .await?;
        if status != http::StatusCode::SEE_OTHER {
            return Err(format!(
                "upload answered {status}: {}",
                String::from_utf8_lossy(&answer)
            )
            .into());
        }
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let id = location
            .split(['?', '&', '#'])
            .find_map(|kv| kv.strip_prefix("p.file="))
            .ok_or("no file id in the redirect")?;
        Ok(id.to_string())
    }

    /// Download through the portlet's resource: bytes and SHA-256.
    async fn download(&self, id: &str) -> Result<(u64, String), Error> {
        let (status, n, sha) = self
            .http
            .drain(
                http::Request::get(format!(
                    "{}/resource/accueil/depot/file?p.id={id}",
                    self.base
                ))
                .header("cookie", format!("cartable_sid={}", self.cookie))
                .body(empty())?,
            )
            .await?;
        if status != http::StatusCode::OK {
            return Err(format!("download answered {status}").into());
        }
        Ok((n, sha))
    }
}

async fn bare_upload(http: &Http, base: &str, path: &Path, name: &str) -> Result<(), Error> {
    let (body, len) = streamed(path, Bytes::new(), Bytes::new()).await?;
    let (status, _, _) = http
        .send(
            http::Request::post(format!("{base}/f/{name}"))
                .header("content-length", len)
                .body(body)?,
        )
        .await?;
    if status != http::StatusCode::CREATED {
        return Err(format!("bare upload answered {status}").into());
    }
    Ok(())
}

async fn bare_download(http: &Http, base: &str, name: &str) -> Result<(u64, String), Error> {
    let (status, n, sha) = http
        .drain(http::Request::get(format!("{base}/f/{name}")).body(empty())?)
        .await?;
    if status != http::StatusCode::OK {
        return Err(format!("bare download answered {status}").into());
    }
    Ok((n, sha))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

async fn drive(args: &[String]) -> Result<(), Error> {
    let mut big_mb = 1024usize;
    let mut small_reps = 50usize;
    let mut medium_reps = 5usize;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--big-mb" => big_mb = value.parse()?,
            "--small-reps" => small_reps = value.parse()?,
            "--medium-reps" => medium_reps = value.parse()?,
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let tmp = tempfile::tempdir()?;
    let (portal_dir, bare_dir, inputs) = (
        tmp.path().join("portal"),
        tmp.path().join("bare"),
        tmp.path().join("inputs"),
    );
    for d in [&portal_dir, &bare_dir, &inputs] {
        std::fs::create_dir_all(d)?;
    }
    let portal_server = start("--serve-portal", &portal_dir)?;
    let bare_server = start("--serve-bare", &bare_dir)?;
    let pid = portal_server.child.id();
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let (cookie, token) = login(&http, &portal_server.base).await?;
    let portal = Portal {
        http: &http,
        base: &portal_server.base,
        cookie,
        token,
    };

    let small = inputs.join("small.bin");
    let medium = inputs.join("medium.bin");
    write_file(&small, 1)?;
    write_file(&medium, 100)?;
    // Warm up both servers (first connection, first page, first file).
    let id = portal.upload(&small, "warm.bin").await?;
    portal.download(&id).await?;
    bare_upload(&http, &bare_server.base, &small, "warm.bin").await?;

    println!("Throughput, one request at a time on loopback (MiB/s):");
    println!(
        "| file | portal upload | bare upload | ratio | portal download | bare download | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, path, reps) in [
        ("1 MiB", &small, small_reps),
        ("100 MiB", &medium, medium_reps),
    ] {
        let size = std::fs::metadata(path)?.len();
        let want = sha256_file(path)?;
        let mut ids = Vec::new();
        let t = Instant::now();
        for i in 0..reps {
            ids.push(portal.upload(path, &format!("f{i}.bin")).await?);
        }
        let portal_up = t.elapsed();
        let t = Instant::now();
        for i in 0..reps {
            bare_upload(&http, &bare_server.base, path, &format!("f{i}.bin")).await?;
        }
        let bare_up = t.elapsed();
        let t = Instant::now();
        for id in &ids {
            let (n, sha) = portal.download(id).await?;
            if n != size || sha != want {
                return Err("the portal sent back other bytes".into());
            }
        }
        let portal_down = t.elapsed();
        let t = Instant::now();
        for i in 0..reps {
            let (n, sha) = bare_download(&http, &bare_server.base, &format!("f{i}.bin")).await?;
            if n != size || sha != want {
                return Err("the bare server sent back other bytes".into());
            }
        }
        let bare_down = t.elapsed();
        let rate = |d: Duration| mb(size * reps as u64) / d.as_secs_f64();
        println!(
            "| {label} × {reps} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            rate(portal_up),
            rate(bare_up),
            rate(portal_up) / rate(bare_up),
            rate(portal_down),
            rate(bare_down),
            rate(portal_down) / rate(bare_down),
        );
    }
    std::fs::remove_file(&medium)?;

    let big = inputs.join("big.bin");
    write_file(&big, big_mb)?;
    let want = sha256_file(&big)?;
    let (before, _) = rss(pid);
    let watch = Watch::start(pid);
    let t = Instant::now();
    let id = portal.upload(&big, "big.bin").await?;
    let up = t.elapsed();
    let up_peak = watch.peak();
    let (after_up, _) = rss(pid);
    let watch = Watch::start(pid);
    let t = Instant::now();
    let (n, sha) = portal.download(&id).await?;
    let down = t.elapsed();
    let down_peak = watch.peak();
    let (after, hwm) = rss(pid);
    std::fs::remove_file(&big)?;
    if sha != want || n != (big_mb as u64) << 20 {
        return Err("the 1 GB file came back different".into());
    }
    println!();
    println!("{big_mb} MiB through the portal (SHA-256 checked):");
    println!("| | time | MiB/s | portal RSS before | peak during | growth |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| upload | {:.1} s | {:.0} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |",
        up.as_secs_f64(),
        big_mb as f64 / up.as_secs_f64(),
        mb(before),
        mb(up_peak),
        mb(up_peak) - mb(before)
    );
    println!(
        "| download | {:.1} s | {:.0} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |",
        down.as_secs_f64(),
        big_mb as f64 / down.as_secs_f64(),
        mb(after_up),
        mb(down_peak),
        mb(down_peak) - mb(after_up)
    );
    println!(
        "(RSS after both: {:.1} MiB; the process's high-water mark since its start: {:.1} MiB)",
        mb(after),
        mb(hwm)
    );
    drop(portal_server);
    drop(bare_server);
    Ok(())
}
