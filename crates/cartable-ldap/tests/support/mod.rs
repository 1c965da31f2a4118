//! Test helpers: the test server's settings from the environment, and a loopback TCP proxy
//! that can cut or freeze the way to it.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cartable_ldap::{LdapConfig, SchemaPreset};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The test server, from `CARTABLE_TEST_LDAP_*` (set by scripts/test.sh, or
/// `eval "$(tests/ldap/slapd.sh env)"`).
#[derive(Clone, Debug)]
pub struct TestServer {
    pub url: String,
    pub bind_dn: String,
    pub bind_password: String,
    pub base: String,
}

impl TestServer {
    /// `None` (and a loud message) when `CARTABLE_TEST_LDAP_URL` is not set.
    pub fn from_env(test: &str) -> Option<TestServer> {
        let Ok(url) = std::env::var("CARTABLE_TEST_LDAP_URL") else {
            // libtest names each test's thread after the test.
            let thread = std::thread::current();
            let test = thread.name().unwrap_or(test);
            // Straight to stderr: libtest captures eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "*** SKIPPED {test}: CARTABLE_TEST_LDAP_URL is not set. Start the test \
                 directory with `tests/ldap/slapd.sh start && eval \"$(tests/ldap/slapd.sh env)\"` \
                 (scripts/test.sh does it). ***"
            );
            return None;
        };
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        Some(TestServer {
            url,
            bind_dn: var(
                "CARTABLE_TEST_LDAP_BIND_DN",
                "cn=cartable,ou=services,dc=lycee-hugo,dc=fr",
            ),
            bind_password: var("CARTABLE_TEST_LDAP_BIND_PASSWORD", "cartable-service-pw"),
            base: var("CARTABLE_TEST_LDAP_BASE", "ou=people,dc=lycee-hugo,dc=fr"),
        })
    }

    /// The `host:port` of the URL.
    pub fn addr(&self) -> SocketAddr {
        let rest = self
            .url
            .strip_prefix("ldap://")
            .expect("the test server URL is ldap://host:port");
        let hostport = rest.trim_end_matches('/');
        hostport.parse().unwrap_or_else(|_| {
            panic!(
                "the test server URL must be ldap://IP:PORT, not {}",
                self.url
            )
        })
    }

    /// A configuration for the ENT people, with a short timeout.
    pub fn config(&self) -> LdapConfig {
        self.config_for(&self.url)
    }

    /// The same, through another URL (a proxy).
    pub fn config_for(&self, url: &str) -> LdapConfig {
        let mut config = LdapConfig::new(url, self.base.clone());
        config.bind_dn = self.bind_dn.clone();
        config.bind_password = self.bind_password.clone();
        config.timeout_ms = 2000;
        config.schema = SchemaPreset::Ent;
        config
    }
}

/// What the proxy does with connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Up,
    /// Close every connection, new ones at once: a server that went away.
    Cut,
    /// Keep connections open and forward nothing: a hung server or a dead network.
    Hang,
}

/// A loopback TCP proxy in front of the test server.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    forwarded: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Up);
        let forwarded = Arc::new(AtomicUsize::new(0));
        let task = {
            let mode = mode.clone();
            let forwarded = forwarded.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let rx = mode.subscribe();
                    let forwarded = forwarded.clone();
                    tokio::spawn(serve(client, target, rx, forwarded));
                }
            })
        };
        Proxy {
            addr,
            mode,
            forwarded,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Connections forwarded to the server so far.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(Mode::Cut);
    }
}

async fn serve(
    mut client: TcpStream,
    target: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    forwarded: Arc<AtomicUsize>,
) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Cut => return,
        Mode::Hang => {
            // Hold the connection, silent, until the mode changes; then close it.
            let _ = mode.changed().await;
            return;
        }
        Mode::Up => {}
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    forwarded.fetch_add(1, Ordering::SeqCst);
    let hang = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
        changed = mode.wait_for(|m| *m != Mode::Up) => {
            changed.map(|m| *m == Mode::Hang).unwrap_or(false)
        }
    };
    if hang {
        // Frozen: keep both sockets open, forward nothing, until the next change.
        let _ = mode.changed().await;
    }
}
