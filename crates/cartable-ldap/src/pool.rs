//! A small pool of bound service-account connections.
//!
//! At most `pool_size` connections exist and are used at once (a semaphore); an idle one is
//! reused if its connection task is still alive, else dropped and a new one opened and
//! bound. A connection is put back only by [`Pooled::release`], after an operation that
//! went through; on an error, a timeout or a cancelled future it is dropped (closed), so a
//! broken connection never returns to the pool. Nothing is opened before it is needed,
//! so a directory that was down is reached again by the next call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use rustls::ClientConfig;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How to open a connection.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub url: String,
    pub starttls: bool,
    pub timeout: Duration,
    /// The TLS settings; `None` for ldap3's default (the system's CA store).
    pub tls: Option<Arc<ClientConfig>>,
}

impl Endpoint {
    /// Open a connection (TCP, then TLS for ldaps:// or StartTLS) and start its task.
    pub async fn connect(&self) -> Result<Ldap, LdapError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls);
        match &self.tls {
            Some(config) => settings = settings.set_config(config.clone()),
            None => crate::tls::ensure_crypto_provider(),
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.url).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }
}

/// The service-account connections.
pub(crate) struct Pool {
    endpoint: Endpoint,
    bind_dn: String,
    bind_password: String,
    idle: Mutex<Vec<Ldap>>,
    permits: Semaphore,
    opened: AtomicU64,
}

/// Why no connection could be had.
#[derive(Debug)]
pub(crate) enum PoolError {
    /// Connecting failed (refused, unreachable, TLS…).
    Connect(LdapError),
    /// The service account's bind failed: the server answered with this code.
    Bind { rc: u32, text: String },
    /// The bind could not be sent or answered.
    BindTransport(LdapError),
}

impl Pool {
    pub fn new(endpoint: Endpoint, bind_dn: String, bind_password: String, size: usize) -> Self {
        Pool {
            endpoint,
            bind_dn,
            bind_password,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
            opened: AtomicU64::new(0),
        }
    }

    /// How many service connections were opened since the pool was made.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// How many connections are idle in the pool.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    /// Wait for a free slot, then take an idle live connection or open a new one.
    pub async fn get(&self) -> Result<Pooled<'_>, PoolError> {
        // The semaphore is never closed, so acquiring only waits.
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PoolError::Connect(LdapError::EndOfStream))?;
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            match candidate {
                Some(mut ldap) => {
                    if ldap.is_closed() {
                        tracing::debug!("dropping a closed pooled LDAP connection");
                        continue;
                    }
                    return Ok(Pooled {
                        pool: self,
                        ldap,
                        reused: true,
                        _permit: permit,
                    });
                }
                None => break,
            }
        }
        let ldap = self.open().await?;
        Ok(Pooled {
            pool: self,
            ldap,
            reused: false,
            _permit: permit,
        })
    }

    async fn open(&self) -> Result<Ldap, PoolError> {
        let mut ldap = self.endpoint.connect().await.map_err(PoolError::Connect)?;
        if !self.bind_dn.is_empty() {
            let result = ldap
                .with_timeout(self.endpoint.timeout)
                .simple_bind(&self.bind_dn, &self.bind_password)
                .await
                .map_err(PoolError::BindTransport)?;
            if result.rc != 0 {
                return Err(PoolError::Bind {
                    rc: result.rc,
                    text: result.text,
                });
            }
        }
        self.opened.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %self.endpoint.url, "LDAP service connection opened");
        Ok(ldap)
    }
}

/// A connection taken from the pool. Dropped without [`Pooled::release`], it is closed.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    ldap: Ldap,
    /// Whether it had served before (a failure may then be a stale connection).
    pub reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Pooled<'_> {
    pub fn ldap(&mut self) -> &mut Ldap {
        &mut self.ldap
    }

    /// Put the connection back for the next operation.
    pub fn release(self) {
        let Pooled {
            pool,
            ldap,
            _permit: permit,
            ..
        } = self;
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(ldap);
        }
        // The slot is freed only now that the connection is back.
        drop(permit);
    }
}
