//! The baseline of the load scenarios (`benches/load/run.sh`): a bare hyper server
//! answering `hello` to every request, on the same stack as the portal (tokio, hyper 1,
//! the serve function of `cartable-serve`). Its requests/s is the ceiling for one
//! request on this machine.
//!
//! ```text
//! cargo run --release --example bench_hello -- [--listen 127.0.0.1:0] [--body FILE]
//! ```
//!
//! With `--body FILE` it answers the file's bytes (as HTML) instead: the ceiling for a
//! page of that size, whatever made it.
//!
//! The first line on stdout is its URL; it runs until SIGTERM or Ctrl-C.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;

use bytes::Bytes;
use cartable::serve::{Request, ServerConfig, shutdown_signal};
use http_body_util::Full;

/// The allocator of every Cartable server example (see the `mimalloc` note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut body = Bytes::from_static(b"hello");
    let mut ctype = "text/plain; charset=utf-8";
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v.parse()?,
            ("--body", Some(v)) => {
                body = Bytes::from(std::fs::read(&v).map_err(|e| format!("--body {v}: {e}"))?);
                ctype = "text/html; charset=utf-8";
            }
            _ => {
                return Err(format!(
                    "usage: bench_hello [--listen ADDR] [--body FILE] (got {flag:?})"
                )
                .into());
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let service = tower::service_fn(move |_req: Request| {
        let body = body.clone();
        async move {
            Ok::<_, Infallible>(
                hyper::Response::builder()
                    .header("content-type", ctype)
                    .body(Full::new(body))
                    .expect("valid response"),
            )
        }
    });
    let _running = cartable::serve::spawn(listener, service, ServerConfig::default())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{addr}/")?;
    out.flush()?;
    drop(out);
    shutdown_signal().await;
    Ok(())
}
