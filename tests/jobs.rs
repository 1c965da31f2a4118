//! The background job queue through a real portal: the socle's periodic jobs run at
//! start; a job that keeps failing is listed on `/admin` with its error, an administrator
//! runs it again or discards it, and nobody else may.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable::ldif::LdifDirectory;
use cartable::prelude::*;
use cartable::socle::jobs::handler_fn;
use cartable::socle::{Clock, ManualClock};
use cartable::{EntBuilder, EntConfig};
use common::*;

const CONFIG: &str = r#"
etablissement = "Lycée de test"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }]]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_shown_to_administrators_who_retry_or_discard_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EntConfig::from_toml(CONFIG, dir.path()).unwrap();
    config.portal.data_dir = dir.path().to_path_buf();
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let directory = LdifDirectory::parse(&ldif())
        .unwrap()
        .with_password_file(&dir.path().join("passwords.json"))
        .unwrap();
    let portal = EntBuilder::new(config)
        .directory(Arc::new(directory))
        .clock(clock.clone())
        .portlet(Hello::shared("hello"))
        .with_portal(|p| {
            p.job(
                "test.bulletin",
                handler_fn(|_job| async { Err("le serveur SMTP a refusé le message".into()) }),
            )
        })
        .build()
        .await
        .unwrap();
    let jobs = portal.jobs().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let portal = TestPortal {
        base: format!("http://{}", running.local_addr()),
        running,
    };

    // The socle's own periodic jobs (expired sessions, old notifications) ran at start.
    let started = std::time::Instant::now();
    while jobs.counts().await.unwrap().done < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the purge jobs did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A job that always fails: retried with back-off on the portal's clock, then failed.
    let id = jobs
        .enqueue("test.bulletin", r#"{"classe":"2nde B"}"#)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while jobs.failed(10).await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job never failed"
        );
        clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut nadia = portal.login("nadia").await;
    let page = nadia.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<code>test.bulletin</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("le serveur SMTP a refusé le message"));

    // Nobody but an administrator acts on it.
    let mut lea = portal.login("lea").await;
    let refused = lea
        .post_csrf("/admin/jobs/retry", &[("id", id.as_str())])
        .await;
    assert_eq!(refused.status, 403);

    let retried = nadia
        .post_csrf("/admin/jobs/retry", &[("id", id.as_str())])
        .await;
    assert_eq!(retried.status, 303, "{}", retried.body);
    assert!(jobs.failed(10).await.unwrap().is_empty());
    let page = nadia.get("/admin").await;
    assert!(
        page.body.contains("Aucune tâche en échec."),
        "{}",
        page.body
    );
    // Failing again until its attempts run out, then discarded for good.
    let started = std::time::Instant::now();
    while jobs.failed(10).await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job never failed"
        );
        clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let discarded = nadia
        .post_csrf("/admin/jobs/discard", &[("id", id.as_str())])
        .await;
    assert_eq!(discarded.status, 303);
    assert!(jobs.get(&id).await.unwrap().is_none());
    let again = nadia
        .post_csrf("/admin/jobs/discard", &[("id", id.as_str())])
        .await;
    assert_eq!(again.status, 404);
    portal.stop().await;
}

/// A service whose periodic task records the portal's time at each run, with the
/// établissement's setting `audience` as it sees it, and fails while `failing` is set.
struct Tally {
    descriptor: Descriptor,
    runs: Arc<std::sync::Mutex<Vec<(SystemTime, String)>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Tally {
    fn descriptor() -> Descriptor {
        Descriptor::new("tally", "Décompte")
            .setting(PreferenceSpec::new("audience", "Pour qui", "*").profiles())
    }
}

const TALLY_CONFIG: &str = r#"
etablissement = "Lycée de test"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }]]

[portlets.tally.preferences]
audience = { value = "personnel, enseignant", locked = true }
"#;

#[async_trait]
impl Portlet for Tally {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    async fn render(&self, _ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("tally").into())
    }
    fn periodic(&self) -> Option<&dyn cartable::portlet::periodic::Periodic> {
        Some(self)
    }
}

#[async_trait]
impl cartable::portlet::periodic::Periodic for Tally {
    fn every(&self) -> Duration {
        Duration::from_secs(60)
    }
    async fn run(&self, services: &cartable::portlet::Services) -> Result<(), PortletError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortletError::Internal(
                "le décompte est indisponible".into(),
            ));
        }
        let audience = services
            .etablissement_preferences("tally")
            .get("audience")
            .unwrap_or_default()
            .to_string();
        self.runs
            .lock()
            .unwrap()
            .push((services.clock.now(), audience));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portlets_periodic_task_runs_once_per_period_without_wiring() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EntConfig::from_toml(TALLY_CONFIG, dir.path()).unwrap();
    config.portal.data_dir = dir.path().to_path_buf();
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tally = Arc::new(Tally {
        descriptor: Tally::descriptor(),
        runs: runs.clone(),
        failing: failing.clone(),
    });
    let directory = LdifDirectory::parse(&ldif()).unwrap();
    // Nothing but the portlet: no `job`, no `every`.
    let portal = EntBuilder::new(config)
        .directory(Arc::new(directory))
        .clock(clock.clone())
        .portlet(Hello::shared("hello"))
        .portlet(tally)
        .build()
        .await
        .unwrap();
    let jobs = portal.jobs().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let portal = TestPortal {
        base: format!("http://{}", running.local_addr()),
        running,
    };
    let ran = || runs.lock().unwrap().len();
    let wait_for = |n: usize| async move {
        let started = std::time::Instant::now();
        while ran() < n {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the periodic task ran {} times, not {n}",
                ran()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // At start, with the portal's clock and the établissement's settings of cartable.toml.
    wait_for(1).await;
    assert_eq!(
        runs.lock().unwrap()[0],
        (clock.now(), "personnel, enseignant".to_string())
    );
    // Not again within the same minute, whatever the number of passes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ran(), 1);
    // Once in the next minute.
    clock.advance(Duration::from_secs(60));
    wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ran(), 2);

    // A task that keeps failing is retried, then shown to the administrators under its
    // kind, `<id>.periodic`.
    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    while jobs.failed(10).await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the failing task never failed for good"
        );
        clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = jobs.failed(10).await.unwrap();
    assert_eq!(failed[0].kind, "tally.periodic");
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("internal error: le décompte est indisponible")
    );
    let mut nadia = portal.login("nadia").await;
    let page = nadia.get("/admin").await;
    assert!(
        page.body.contains("<code>tally.periodic</code>"),
        "{}",
        page.body
    );
    portal.stop().await;
}

#[tokio::test]
async fn a_setting_naming_an_unknown_profile_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let toml = TALLY_CONFIG.replace("personnel, enseignant", "personnel, enseignants");
    let mut config = EntConfig::from_toml(&toml, dir.path()).unwrap();
    config.portal.data_dir = dir.path().to_path_buf();
    let tally = Arc::new(Tally {
        descriptor: Tally::descriptor(),
        runs: Arc::default(),
        failing: Arc::default(),
    });
    let err = EntBuilder::new(config)
        .directory(Arc::new(LdifDirectory::parse(&ldif()).unwrap()))
        .portlet(Hello::shared("hello"))
        .portlet(tally)
        .build()
        .await
        .err()
        .expect("the portal refuses to start");
    assert_eq!(
        err.to_string(),
        "portlets.tally.preferences.audience: unknown profile \"enseignants\": the profiles \
         are eleve, enseignant, parent, personnel, invite, admin, or * for everyone"
    );
}
