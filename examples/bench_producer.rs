//! The fragment servers of the load scenarios B and C (`benches/load/run.sh`): N remote
//! fragments `f0` … `f{N-1}`, each sending the same HTML fragment
//! (`benches/load/fragment.html`), optionally late or never.
//!
//! ```text
//! cargo run --release --example bench_producer -- --count 5 --delay f0=500 --hang f1
//! cargo run --release --example bench_producer -- --podium --count 20
//! ```
//!
//! - By default it is a Cartable [`Producer`] (`cartable-remote/2`: signed calls, JSON,
//!   `ETag` revalidation) serving N in-process portlets to the consumer key
//!   `--key-id`/`--key` (those of `examples/bench_portal.rs` by default).
//! - With `--podium` it is a bare hyper server speaking what `@podium/layout` expects of
//!   a podlet: `GET /fN/manifest.json` and `GET /fN/content` (with `podlet-version`).
//!   The run uses it instead of Node podlets when these, not the layout, would be the
//!   bottleneck.
//!
//! | option | default |
//! |---|---|
//! | `--listen ADDR` | `127.0.0.1:0` |
//! | `--count N` | 1 |
//! | `--fragment FILE` | `benches/load/fragment.html` |
//! | `--delay fK=MS` | none (repeatable): fragment `fK` answers after MS milliseconds |
//! | `--hang fK` | none (repeatable): fragment `fK` never answers |
//! | `--key-id ID`, `--key SECRET` | the bench key shared with `bench_portal` |
//! | `--podium` | off |
//!
//! The first line on stdout is the base URL (`http://127.0.0.1:PORT/`). It runs until
//! SIGTERM or Ctrl-C.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cartable::prelude::*;
use cartable::serve::{Request, ServerConfig, shutdown_signal};
use cartable_remote::Producer;
use http_body_util::Full;

/// The allocator of every Cartable server example (see the `mimalloc` note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key `bench_portal` signs with unless told otherwise (loopback benchmarks only).
const BENCH_KEY_ID: &str = "bench";
const BENCH_KEY: &str = "bench-key-for-loopback-only-0123456789abcdef";

/// How long a hanging fragment sleeps: far past any deadline of the run.
const HANG: Duration = Duration::from_secs(3600);

struct Options {
    listen: SocketAddr,
    count: usize,
    fragment: String,
    delays: HashMap<String, Duration>,
    hung: HashSet<String>,
    key_id: String,
    key: String,
    podium: bool,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut o = Options {
        listen: "127.0.0.1:0".parse()?,
        count: 1,
        fragment: String::new(),
        delays: HashMap::new(),
        hung: HashSet::new(),
        key_id: BENCH_KEY_ID.into(),
        key: BENCH_KEY.into(),
        podium: false,
    };
    let mut fragment_file =
        concat!(env!("CARGO_MANIFEST_DIR"), "/benches/load/fragment.html").to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--podium" {
            o.podium = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => o.listen = value.parse()?,
            "--count" => o.count = value.parse()?,
            "--fragment" => fragment_file = value,
            "--delay" => {
                let (id, ms) = value
                    .split_once('=')
                    .ok_or("--delay takes fK=MILLISECONDS")?;
                o.delays
                    .insert(id.to_string(), Duration::from_millis(ms.parse()?));
            }
            "--hang" => {
                o.hung.insert(value);
            }
            "--key-id" => o.key_id = value,
            "--key" => o.key = value,
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    o.fragment = std::fs::read_to_string(&fragment_file)
        .map_err(|e| format!("cannot read the fragment {fragment_file}: {e}"))?;
    Ok(o)
}

/// One remote fragment: the same HTML for everyone, maybe late, maybe never.
struct Fragment {
    descriptor: Descriptor,
    html: Arc<str>,
    delay: Option<Duration>,
}

#[async_trait]
impl Portlet for Fragment {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        Ok(Markup::trusted_html(self.html.to_string()).into())
    }
}

impl Options {
    fn delay_of(&self, id: &str) -> Option<Duration> {
        if self.hung.contains(id) {
            Some(HANG)
        } else {
            self.delays.get(id).copied()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let listener = tokio::net::TcpListener::bind(o.listen).await?;
    let addr = listener.local_addr()?;
    if o.podium {
        serve_podium(listener, Arc::new(o));
    } else {
        let html: Arc<str> = Arc::from(o.fragment.as_str());
        let mut builder = Producer::builder("Cartable bench producer")
            .consumer(&o.key_id, &o.key)?
            // Hanging fragments hold their call far past the consumer's deadline.
            .deadline(HANG * 2)
            // Row B asks up to about 50,000 calls/s, each nonce kept for its signature's
            // 60 s: room for that without answering 503.
            .replay_capacity(6_000_000);
        for i in 0..o.count {
            let id = format!("f{i}");
            builder = builder.portlet(Arc::new(Fragment {
                descriptor: Descriptor::new(&id, format!("Fragment {i}").as_str()),
                html: html.clone(),
                delay: o.delay_of(&id),
            }));
        }
        let running = builder.build().await?.serve(listener)?;
        std::mem::forget(running);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{addr}/")?;
    out.flush()?;
    drop(out);
    shutdown_signal().await;
    // No graceful drain: hanging calls would hold the exit.
    std::process::exit(0);
}

/// What `@podium/client` asks of a podlet, on bare hyper (and the serve function).
fn serve_podium(listener: tokio::net::TcpListener, o: Arc<Options>) {
    let fragment = Bytes::from(o.fragment.clone());
    let service = tower::service_fn(move |req: Request| {
        let o = o.clone();
        let fragment = fragment.clone();
        async move { Ok::<_, Infallible>(podium_answer(&o, req.uri().path(), fragment).await) }
    });
    tokio::spawn(cartable::serve::serve(
        listener,
        service,
        ServerConfig::default(),
        std::future::pending(),
    ));
}

async fn podium_answer(o: &Options, path: &str, fragment: Bytes) -> hyper::Response<Full<Bytes>> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (id, what) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let known = id
        .strip_prefix('f')
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n < o.count);
    let response = |ty: &str, body: Bytes| {
        hyper::Response::builder()
            .header("content-type", ty)
            .header("podlet-version", "1.0.0")
            .body(Full::new(body))
            .expect("valid response")
    };
    match (known, what) {
        (true, "manifest.json") => response(
            "application/json",
            Bytes::from(format!(
                r#"{{"name":"{id}","version":"1.0.0","content":"/content","fallback":"","css":[],"js":[],"proxy":{{}}}}"#
            )),
        ),
        (true, "content") => {
            if let Some(d) = o.delay_of(id) {
                tokio::time::sleep(d).await;
            }
            response("text/html; charset=utf-8", fragment)
        }
        _ => hyper::Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .expect("valid response"),
    }
}
