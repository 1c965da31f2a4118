//! The agenda with clients the project did not write (tests/agenda/clients.py): Python's
//! `caldav` library syncs both ways with a portal on loopback, through `/dav` and an
//! application password; Python's `icalendar` parses the `.ics` export.
//!
//! scripts/test.sh installs both in a virtual environment and names its interpreter in
//! `CARTABLE_TEST_DAV_PYTHON`; without it the test says so, loudly, and passes.

mod common;

use std::process::Command;

use cartable::prelude::*;
use common::*;

const CONFIG: &str = r#"
[[layouts.default.tabs]]
id = "agenda"
title = "Agenda"
columns = [[{ portlet = "agenda" }]]
"#;

fn python() -> Option<String> {
    let given = std::env::var("CARTABLE_TEST_DAV_PYTHON").ok();
    let ok = given.as_deref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import caldav, icalendar"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok {
        eprintln!(
            "\n!!!!!!!! SKIPPED: no Python with caldav and icalendar \
             (CARTABLE_TEST_DAV_PYTHON={given:?}); run scripts/test.sh, or `python3 -m venv v && \
             v/bin/pip install caldav icalendar` and set CARTABLE_TEST_DAV_PYTHON. !!!!!!!!\n"
        );
        return None;
    }
    given
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_caldav_syncs_both_ways_and_icalendar_reads_the_export() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(
        CONFIG,
        dir.path(),
        vec![std::sync::Arc::new(cartable::agenda::Agenda::new()) as std::sync::Arc<dyn Portlet>],
    )
    .await;
    let mut lea = p.login("lea").await;
    // An event made in the ENT, on the week of 7 December 2026.
    let r = lea
        .post_csrf(
            "/action/agenda/agenda",
            &[
                ("op", "create"),
                ("title", "Depuis l'ENT"),
                ("calendar", "personnel"),
                ("day", "2026-12-08"),
                ("start", "10:00"),
                ("end", "11:00"),
                ("repeat", "weekly"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Her application password, made on /compte.
    let page = lea
        .post_csrf(
            "/compte/applications",
            &[("op", "create"), ("label", "caldav")],
        )
        .await;
    let marker = r#"id="apppw-new" type="text" readonly value=""#;
    let start = page.body.find(marker).expect("the password is shown") + marker.len();
    let secret = page.body[start..start + page.body[start..].find('"').unwrap()].to_string();
    // The export, for icalendar.
    let export = lea
        .get("/resource/agenda/agenda/export?calendar=personnel")
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    let export_path = dir.path().join("export.ics");
    std::fs::write(&export_path, export.body.as_bytes()).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/agenda/clients.py");
    let base = p.base.clone();
    let export_arg = export_path.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &base, "lea", &secret, &export_arg])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "caldav client failed:\n{stdout}\n{stderr}"
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in\n{stdout}"))
            .to_string()
    };
    assert_eq!(line("CALENDARS"), "Agenda de l'établissement|Mon agenda");
    assert_eq!(line("READ"), "Depuis l'ENT");
    assert_eq!(line("SEARCH"), "Créé par caldav|Modifié par caldav");
    assert_eq!(line("SYNC_FIRST"), "2");
    assert_eq!(
        line("SYNC_UNCHANGED"),
        "0",
        "an unchanged collection reports nothing"
    );
    assert_eq!(line("EXPORT"), "Depuis l'ENT");
    // What the client wrote is in the portal's week view.
    let week = lea.get("/page/agenda/agenda?p.date=2026-12-10").await;
    assert!(week.body.contains("Créé par caldav"), "{}", week.body);
    assert!(week.body.contains("Modifié par caldav"));
    assert!(!week.body.contains("Depuis l&#39;ENT"));
    p.stop().await;
}

const STAFF_ONLY: &str = r#"
[portlets.agenda.preferences]
etab_readers = { value = "personnel", locked = true }

[[layouts.default.tabs]]
id = "agenda"
title = "Agenda"
columns = [[{ portlet = "agenda" }]]
"#;

/// Basic authentication's base64 of `user:password`.
fn basic(user: &str, password: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cartable_toml_that_lets_only_staff_read_the_schools_agenda_hides_it_from_a_pupil() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(
        STAFF_ONLY,
        dir.path(),
        vec![std::sync::Arc::new(cartable::agenda::Agenda::new()) as std::sync::Arc<dyn Portlet>],
    )
    .await;
    let mut ines = p.login("ines").await;
    let r = ines
        .post_csrf(
            "/action/agenda/agenda",
            &[
                ("op", "create"),
                ("title", "Conseil de direction"),
                ("calendar", "etablissement"),
                ("day", "2026-12-08"),
                ("start", "17:00"),
                ("end", "18:00"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let week = "/page/agenda/agenda?p.date=2026-12-08";
    assert!(ines.get(week).await.body.contains("Conseil de direction"));
    // A pupil: not on her page…
    let mut lea = p.login("lea").await;
    let page = lea.get(week).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Conseil de direction"), "{}", page.body);
    assert!(!page.body.contains("Agenda de l&#39;établissement"));
    // … nor in what CalDAV lists for her.
    let made = lea
        .post_csrf(
            "/compte/applications",
            &[("op", "create"), ("label", "caldav")],
        )
        .await;
    let marker = r#"id="apppw-new" type="text" readonly value=""#;
    let start = made.body.find(marker).expect("the password is shown") + marker.len();
    let secret = &made.body[start..start + made.body[start..].find('"').unwrap()];
    let listing = p
        .client()
        .request_with(
            "PROPFIND",
            "/dav/agenda/lea/",
            None,
            &[("authorization", &basic("lea", secret)), ("depth", "1")],
        )
        .await;
    assert_eq!(listing.status, 207, "{}", listing.body);
    assert!(
        listing.body.contains("/dav/agenda/lea/personnel/"),
        "{}",
        listing.body
    );
    assert!(!listing.body.contains("etablissement"), "{}", listing.body);
    p.stop().await;
}
