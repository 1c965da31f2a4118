//! The agenda with clients the project did not write (tests/agenda/clients.py): Python's
//! `caldav` library syncs both ways with a portal on loopback, through `/dav` and an
//! application password; Python's `icalendar` parses the `.ics` export.
//!
//! scripts/test.sh installs both in a virtual environment and names its interpreter in
//! `CARTABLE_TEST_DAV_PYTHON`; without it the test says so, loudly, and passes.
//!
//! And the agenda's page through a real portal, a browser's requests without
//! JavaScript: a multipart form with an attachment, the file served back as a download
//! (`nosniff`) to her and to nobody else, the edit form, the filter of the view.

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

const BOUNDARY: &str = "cartable-agenda-boundary-Zx81";

/// A `multipart/form-data` body: the fields, then the files `(field, name, type, bytes)`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (field, name, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// POST a multipart body with this client's session; the status, headers and body.
async fn post_multipart(
    base: &str,
    client: &Client,
    path: &str,
    body: Vec<u8>,
) -> (u16, http::HeaderMap, String) {
    use http_body_util::{BodyExt, Full};
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{base}{path}"))
        .header(
            "cookie",
            format!("cartable_sid={}", client.cookie.clone().unwrap()),
        )
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = hyper.request(request).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// The first `href` of a page that contains `needle`, its entities decoded.
fn href_with(html: &str, needle: &str) -> String {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .find(|h| h.contains(needle))
        .unwrap_or_else(|| panic!("no link with {needle} in {html}"))
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_attaches_edits_and_filters_through_a_real_portal() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestPortal::start(
        CONFIG,
        dir.path(),
        vec![std::sync::Arc::new(cartable::agenda::Agenda::new()) as std::sync::Arc<dyn Portlet>],
    )
    .await;
    let mut lea = p.login("lea").await;
    let csrf = lea.csrf().await;
    // A new event with an attachment: the form is multipart.
    let form = lea.get("/page/agenda/agenda?state=maximized").await;
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let pdf = b"%PDF-1.7 sujet de l'expose".to_vec();
    let (status, _, body) = post_multipart(
        &p.base,
        &lea,
        "/action/agenda/agenda",
        multipart(
            &[
                ("_csrf", &csrf),
                ("op", "create"),
                ("title", "Exposé d'histoire"),
                ("calendar", "personnel"),
                ("day", "2026-12-08"),
                ("start", "10:00"),
                ("end", "11:00"),
                ("repeat", "none"),
            ],
            &[("attachment", "Sujet.pdf", "application/pdf", &pdf)],
        ),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let week = lea.get("/page/agenda/agenda?p.date=2026-12-08").await;
    assert!(week.body.contains("Exposé d&#39;histoire"), "{}", week.body);
    // The attachment: a download with its type, never sniffed; nobody else's.
    let url = href_with(&week.body, "/attachment?");
    let file = lea.get(&url).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body.as_bytes(), pdf.as_slice());
    assert_eq!(file.header("content-type"), Some("application/pdf"));
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;") && d.contains("Sujet.pdf")),
        "{:?}",
        file.headers
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    let mut paul = p.login("paul").await;
    assert_eq!(
        paul.get(&url).await.status,
        404,
        "someone who does not read her agenda"
    );
    // The edit form, pre-filled, then a change of title.
    let edit = href_with(&week.body, "p.edit=personnel");
    let page = lea.get(&edit).await;
    assert!(
        page.body.contains("value=\"Exposé d&#39;histoire\""),
        "{}",
        page.body
    );
    let etag = page
        .body
        .split("name=\"etag\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let name = page
        .body
        .split("name=\"name\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let (status, _, body) = post_multipart(
        &p.base,
        &lea,
        "/action/agenda/agenda",
        multipart(
            &[
                ("_csrf", &csrf),
                ("op", "update"),
                ("calendar", "personnel"),
                ("name", &name),
                ("etag", &etag),
                ("title", "Exposé d'histoire (salle 12)"),
                ("day", "2026-12-08"),
                ("start", "10:00"),
                ("end", "11:00"),
                ("repeat", "none"),
            ],
            &[],
        ),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let week = lea.get("/page/agenda/agenda?p.date=2026-12-08").await;
    assert!(week.body.contains("(salle 12)"), "{}", week.body);
    assert!(week.body.contains("Sujet.pdf"), "the attachment stays");
    // The filter: a GET of the view without her agenda.
    let hidden = lea
        .get(
            "/page/agenda/agenda?p.filter=1&p.view=week&p.date=2026-12-08&p.show.etablissement=oui",
        )
        .await;
    assert_eq!(hidden.status, 200);
    assert!(!hidden.body.contains("(salle 12)"), "{}", hidden.body);
    // Deleting the event deletes its file.
    let r = lea
        .post_csrf(
            "/action/agenda/agenda",
            &[("op", "delete"), ("calendar", "personnel"), ("name", &name)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(lea.get(&url).await.status, 404);
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
