//! Load test of `LdapDirectory` against the test slapd: logins per second at concurrency 8
//! (each one an argon2id check inside slapd), and search / lookup latency percentiles.
//!
//! ```text
//! tests/ldap/slapd.sh start && eval "$(tests/ldap/slapd.sh env)"
//! cargo bench -p cartable-ldap
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a short smoke run;
//! without `CARTABLE_TEST_LDAP_URL` it says so and exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cartable_ldap::{LdapConfig, LdapDirectory};
use cartable_socle::{Directory, PersonQuery, Profile};

/// How much work each part does.
struct Plan {
    logins: usize,
    searches: usize,
    lookups: usize,
}

const CONCURRENCY: usize = 8;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let Ok(url) = std::env::var("CARTABLE_TEST_LDAP_URL") else {
        eprintln!(
            "cartable-ldap bench skipped: CARTABLE_TEST_LDAP_URL is not set \
             (tests/ldap/slapd.sh start && eval \"$(tests/ldap/slapd.sh env)\")"
        );
        return;
    };
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let mut config = LdapConfig::new(
        url,
        var("CARTABLE_TEST_LDAP_BASE", "ou=people,dc=lycee-hugo,dc=fr"),
    );
    config.bind_dn = var(
        "CARTABLE_TEST_LDAP_BIND_DN",
        "cn=cartable,ou=services,dc=lycee-hugo,dc=fr",
    );
    config.bind_password = var("CARTABLE_TEST_LDAP_BIND_PASSWORD", "cartable-service-pw");
    let plan = if full {
        Plan {
            logins: 800,
            searches: 4000,
            lookups: 4000,
        }
    } else {
        Plan {
            logins: 16,
            searches: 40,
            lookups: 40,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(config, plan, full));
}

async fn run(config: LdapConfig, plan: Plan, full: bool) {
    let url = config.url.clone();
    let pool_size = config.pool_size;
    let dir = Arc::new(LdapDirectory::new(config).expect("configuration"));
    dir.check().await.expect("the test directory answers");
    let people = dir
        .search(&PersonQuery {
            limit: 500,
            ..PersonQuery::default()
        })
        .await
        .expect("everyone");
    let logins: Arc<Vec<String>> = Arc::new(
        people
            .iter()
            .map(|p| p.id.clone())
            .filter(|id| id != "parti")
            .collect(),
    );
    println!(
        "cartable-ldap against {url} ({} people, pool_size {pool_size}){}",
        people.len(),
        if full {
            ""
        } else {
            " [smoke run; pass --bench for figures]"
        }
    );

    // Logins at concurrency 8: service search + fresh connection + bind (argon2id in slapd).
    let (elapsed, latencies) = concurrent(plan.logins, CONCURRENCY, {
        let dir = dir.clone();
        let logins = logins.clone();
        move |i| {
            let dir = dir.clone();
            let login = logins[i % logins.len()].clone();
            async move {
                let password = format!("pw-{login}");
                dir.authenticate(&login, &password).await.expect("login");
            }
        }
    })
    .await;
    report("login", CONCURRENCY, plan.logins, elapsed, latencies);

    // Searches: a mix of name substrings, a class, a profile.
    let names = ["mar", "Léa", "durand", "an", "L'H", "zzz", "o", "Gau\\lois"];
    let search = {
        let dir = dir.clone();
        move |i: usize| {
            let dir = dir.clone();
            let query = match i % 4 {
                0 | 1 => PersonQuery {
                    name: Some(names[i % names.len()].to_string()),
                    limit: 20,
                    ..PersonQuery::default()
                },
                2 => PersonQuery {
                    attribute: Some(("ENTEleveClasses".into(), format!("2nde-{}", i % 4 + 1))),
                    ..PersonQuery::default()
                },
                _ => PersonQuery {
                    profile: Some(Profile::Enseignant),
                    ..PersonQuery::default()
                },
            };
            async move {
                dir.search(&query).await.expect("search");
            }
        }
    };
    for concurrency in [1, CONCURRENCY] {
        let (elapsed, latencies) = concurrent(plan.searches, concurrency, search.clone()).await;
        report("search", concurrency, plan.searches, elapsed, latencies);
    }

    let (elapsed, latencies) = concurrent(plan.lookups, 1, {
        let dir = dir.clone();
        let logins = logins.clone();
        move |i| {
            let dir = dir.clone();
            let id = logins[(i * 7) % logins.len()].clone();
            async move {
                dir.person(&id).await.expect("lookup").expect("found");
            }
        }
    })
    .await;
    report("person lookup", 1, plan.lookups, elapsed, latencies);
    println!(
        "service connections opened: {} (pool_size {pool_size})",
        dir.connections_opened()
    );
}

/// Run `total` calls of `call(i)` with `concurrency` workers; the wall time and each
/// call's latency.
async fn concurrent<F, Fut>(total: usize, concurrency: usize, call: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        break latencies;
                    }
                    let t = Instant::now();
                    call(i).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    (started.elapsed(), latencies)
}

fn report(
    what: &str,
    concurrency: usize,
    total: usize,
    elapsed: Duration,
    mut latencies: Vec<Duration>,
) {
    latencies.sort();
    let pct = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "{what:<14} concurrency {concurrency}: {total} in {:.2} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
}
