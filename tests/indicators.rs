//! Usage indicators through a real portal on 127.0.0.1: a day of use by a pupil and a
//! teacher (pages, actions, resources), counted on the établissement's day
//! (Europe/Paris), exported as CSV and XML exactly, the XML valid against
//! docs/indicators.xsd by xmllint; only administrators reach them.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cartable::socle::ManualClock;
use common::*;

const CONFIG: &str = r#"
etablissement = "Lycée \"Hugo\", Paris"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }], [{ portlet = "counter" }]]
"#;

/// 2027-01-15 09:00 UTC, 10:00 in Paris.
const MORNING: u64 = 1_800_003_600;

const CSV: &str = "day,etablissement,service,profile,views,actions,resources,users\r\n\
2027-01-15,\"Lycée \"\"Hugo\"\", Paris\",counter,eleve,4,2,1,1\r\n\
2027-01-15,\"Lycée \"\"Hugo\"\", Paris\",counter,enseignant,3,0,0,1\r\n\
2027-01-15,\"Lycée \"\"Hugo\"\", Paris\",hello,eleve,4,0,0,1\r\n\
2027-01-15,\"Lycée \"\"Hugo\"\", Paris\",hello,enseignant,3,0,0,1\r\n\
2027-01-16,\"Lycée \"\"Hugo\"\", Paris\",counter,eleve,1,0,0,1\r\n\
2027-01-16,\"Lycée \"\"Hugo\"\", Paris\",hello,eleve,1,0,0,1\r\n";

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<indicators xmlns="urn:cartable:indicators:1" etablissement="Lycée &quot;Hugo&quot;, Paris" from="2027-01-15" to="2027-01-16" service="counter">
  <usage day="2027-01-15" service="counter" profile="eleve" views="4" actions="2" resources="1" users="1"/>
  <usage day="2027-01-15" service="counter" profile="enseignant" views="3" actions="0" resources="0" users="1"/>
  <usage day="2027-01-16" service="counter" profile="eleve" views="1" actions="0" resources="0" users="1"/>
</indicators>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_use_is_exported_as_csv_and_xml() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(MORNING)));
    let portal = TestPortal::start_with(
        CONFIG,
        dir.path(),
        vec![Hello::shared("hello"), Counter::shared("counter", None)],
        clock.clone(),
    )
    .await;

    // Léa (a pupil): the page twice, two actions (each form read from the page first: two
    // more views) and a resource of the counter.
    let mut lea = portal.login("lea").await;
    for _ in 0..2 {
        assert_eq!(lea.get("/page/accueil").await.status, 200);
    }
    for _ in 0..2 {
        let done = lea
            .post_csrf("/action/accueil/counter", &[("by", "1")])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
    }
    let count = lea.get("/resource/accueil/counter/count").await;
    assert_eq!(count.body, r#"{"count":2}"#);
    // Paul (a teacher): the page three times.
    let mut paul = portal.login("paul").await;
    for _ in 0..3 {
        assert_eq!(paul.get("/page/accueil").await.status, 200);
    }
    // 23:30 UTC is already the 16th in Paris: the établissement's day.
    clock.set(UNIX_EPOCH + Duration::from_secs(MORNING + 14 * 3600 + 1800));
    assert_eq!(lea.get("/page/accueil").await.status, 200);

    // Nobody but an administrator sees them.
    assert_eq!(lea.get("/admin/indicateurs").await.status, 403);
    assert_eq!(lea.get("/admin/indicateurs.csv").await.status, 403);
    assert_eq!(
        portal.client().get("/admin/indicateurs.xml").await.status,
        303
    );

    let mut nadia = portal.login("nadia").await;
    let csv = nadia
        .get("/admin/indicateurs.csv?from=2027-01-15&to=2027-01-16")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.header("content-type"),
        Some("text/csv; charset=utf-8; header=present")
    );
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"indicateurs-2027-01-15-2027-01-16.csv\"")
    );
    assert_eq!(csv.body, CSV);

    let xml = nadia
        .get("/admin/indicateurs.xml?from=2027-01-15&to=2027-01-16&service=counter")
        .await;
    assert_eq!(xml.status, 200, "{}", xml.body);
    assert_eq!(
        xml.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert_eq!(xml.body, XML);
    validate_against_xsd(&xml.body);

    // The page: charts with their text alternatives, the filter as a GET form.
    let page = nadia
        .get("/admin/indicateurs?from=2027-01-15&to=2027-01-16")
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for expected in [
        "<form method=\"get\" action=\"/admin/indicateurs\"",
        "<figure class=\"chart\" id=\"chart-services\">",
        "<figcaption><strong>Utilisations par jour (2027-01-15 – 2027-01-16)</strong>.",
        // Each bar's label and value are text beside its SVG drawing.
        "<li><span class=\"bar-label\">2027-01-15</span><svg class=\"bar\" viewBox=\"0 0 400 22\" preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"400\" height=\"22\"></rect></svg><span class=\"bar-value\">17</span></li>",
        "<span class=\"bar-label\">2027-01-16</span><svg class=\"bar\" viewBox=\"0 0 400 22\" preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"47\" height=\"22\"></rect></svg><span class=\"bar-value\">2</span>",
        "<th scope=\"row\">2027-01-15</th><td>14</td><td>2</td><td>1</td><td>4</td>",
        "href=\"/admin/indicateurs.csv?from=2027-01-15&amp;to=2027-01-16\"",
    ] {
        assert!(page.body.contains(expected), "{expected}\n{}", page.body);
    }
    // A date the form cannot mean is refused, not guessed.
    assert_eq!(
        nadia.get("/admin/indicateurs?from=15/01/2027").await.status,
        400
    );
    portal.stop().await;
}

/// What was counted since the last flush is written when the portal stops: a stop between
/// two flushes loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_that_stops_writes_what_it_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(MORNING)));
    let portal = TestPortal::start_with(
        CONFIG,
        dir.path(),
        vec![Hello::shared("hello"), Counter::shared("counter", None)],
        clock,
    )
    .await;
    let mut lea = portal.login("lea").await;
    assert_eq!(lea.get("/page/accueil").await.status, 200);
    portal.stop().await;

    let db = cartable::db::Database::sqlite(&dir.path().join("cartable.sqlite3"))
        .await
        .unwrap();
    let report = cartable::socle::indicators::Indicators::new(db)
        .report(&cartable::socle::indicators::ReportQuery {
            from: "2027-01-15".into(),
            to: "2027-01-15".into(),
            service: Some("hello".into()),
        })
        .await
        .unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].counts, [1, 0, 0], "{report:?}");
}

/// The XML against docs/indicators.xsd, by libxml2's validator (installed by
/// scripts/test.sh); skipped with a loud message where it is missing.
fn validate_against_xsd(xml: &str) {
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "\n!!!!!!!! xmllint NOT FOUND: the indicators' XML was NOT validated against \
             docs/indicators.xsd. Install libxml2-utils (scripts/test.sh does). !!!!!!!!\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("indicateurs.xml");
    std::fs::write(&file, xml).unwrap();
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/indicators.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmllint refused the export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And the validator does check: a negative count is refused.
    std::fs::write(&file, xml.replacen("views=\"4\"", "views=\"-4\"", 1)).unwrap();
    let refused = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "xmllint accepted views=\"-4\"");
}
