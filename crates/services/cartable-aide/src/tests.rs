//! The aide service through the test kit: help texts, incidents, who sees what through
//! every door, notifications; the same on PostgreSQL.

use std::sync::Arc;

use cartable_portlet::export::{MemorySink, Portable};
use cartable_socle::Audience;
use cartable_testkit::{CallError, RenderOptions, TestKit};

use super::*;

fn person(id: &str, name: &str, profile: Profile) -> Person {
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: vec![profile],
        attributes: Default::default(),
    }
}

fn kit() -> TestKit {
    TestKit::new(Arc::new(Aide::new()))
        .person(person("mdupont", "Marc Dupont", Profile::Personnel))
        .person(person("admin", "Ada Admin", Profile::Admin))
        .person(person("prof", "Paul Prof", Profile::Enseignant))
        .user_with("lmartin", "Léa Martin", [Profile::Eleve])
}

fn as_user(kit: &TestKit, id: &str, name: &str, profile: Profile) -> TestKit {
    kit.clone().user_with(id, name, [profile])
}

fn staff(kit: &TestKit) -> TestKit {
    as_user(kit, "mdupont", "Marc Dupont", Profile::Personnel)
}

fn view(vue: &str) -> RenderOptions {
    RenderOptions::new()
        .state(WindowState::Maximized)
        .param("vue", vue)
}

async fn report(kit: &TestKit, subject: &str) -> i64 {
    let done = kit
        .action([
            ("op", "signaler"),
            ("subject", subject),
            ("description", "Quand je clique, rien.\nDeuxième ligne."),
            ("page", "/page/accueil/bloc-notes?mode=help"),
            ("service", "bloc-notes"),
        ])
        .await
        .unwrap();
    assert_eq!(done.params["vue"], "mes");
    done.params["depose"].parse().unwrap()
}

async fn handle(
    kit: &TestKit,
    id: i64,
    status: &str,
    assignee: &str,
    answer: &str,
) -> Result<ActionResponse, CallError> {
    let db = kit.database().await.unwrap();
    let version = incidents::get(&db, id).await.unwrap().unwrap().version;
    kit.action([
        ("op", "traiter"),
        ("id", id.to_string().as_str()),
        ("version", version.to_string().as_str()),
        ("status", status),
        ("assignee", assignee),
        ("answer", answer),
    ])
    .await
}

#[test]
fn every_message_is_in_english() {
    assert!(
        MESSAGES.untranslated("en").is_empty(),
        "{:?}",
        MESSAGES.untranslated("en")
    );
}

#[tokio::test]
async fn the_help_shows_the_builtin_text_and_the_readers_tutorial() {
    let out = kit().render().await.unwrap();
    out.assert_accessible();
    assert!(out.text().contains("L’aide de l’ENT"));
    assert!(
        out.text().contains("Premiers pas : Élève"),
        "{}",
        out.text()
    );
    assert!(!out.text().contains("Premiers pas : Parent"));
    assert!(out.html().contains("p.vue=signaler"));
    assert!(
        !out.html().contains("p.vue=file"),
        "pupils have no queue link"
    );
    let en = kit().locale("en").render().await.unwrap();
    assert!(
        en.text().contains("First steps: Pupil") || en.text().contains("First steps:"),
        "{}",
        en.text()
    );
    let help = kit().render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(help.text().contains("Signaler un problème"));
}

#[tokio::test]
async fn staff_edit_the_help_in_both_languages_and_readers_get_theirs_or_the_other() {
    let kit = kit();
    let marc = staff(&kit);
    let list = marc.render_with(&view("editer")).await.unwrap();
    list.assert_accessible();
    assert_eq!(list.text().matches("– aide fournie avec l’ENT").count(), 14);
    let form = marc
        .render_with(&view("editer").param("sujet", "eleve").param("langue", "fr"))
        .await
        .unwrap();
    form.assert_accessible();
    assert!(form.html().contains(r#"name="version" value="0""#));
    assert_eq!(
        form.title(),
        Some("Premiers pas : Élève (français) – Modifier l’aide"),
        "a title of its own"
    );
    assert_eq!(list.title(), Some("Modifier l’aide"));
    marc.action([
        ("op", "texte"),
        ("topic", "eleve"),
        ("lang", "fr"),
        ("version", "0"),
        (
            "body",
            "## Bienvenue\n\nLisez [le règlement](/page/reglement).\n\n<script>alert(1)</script>",
        ),
    ])
    .await
    .unwrap();
    // The pupil reads it in French, sanitized; in English too (no English text yet).
    let fr = kit.render().await.unwrap();
    fr.assert_accessible();
    assert!(fr.html().contains("<h4>Bienvenue</h4>"), "{}", fr.html());
    assert!(
        fr.html()
            .contains(r#"<a href="/page/reglement" rel="noopener noreferrer">"#)
    );
    assert!(!fr.html().contains("<script>"));
    assert!(fr.html().contains("&lt;script&gt;"));
    let en = kit.clone().locale("en").render().await.unwrap();
    en.assert_accessible();
    assert!(
        en.html().contains(r#"lang="fr""#),
        "the French text is marked as such"
    );
    assert!(en.text().contains("not translated into your language"));
    // An English text: English readers get it, French ones keep theirs.
    marc.action([
        ("op", "texte"),
        ("topic", "eleve"),
        ("lang", "en"),
        ("version", "0"),
        ("body", "Welcome, read the rules."),
    ])
    .await
    .unwrap();
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(en.text().contains("Welcome, read the rules."));
    assert!(!en.text().contains("not translated"));
    assert!(kit.render().await.unwrap().text().contains("Bienvenue"));
    // A stale form (version 0 again) is refused and changes nothing.
    let stale = marc
        .action([
            ("op", "texte"),
            ("topic", "eleve"),
            ("lang", "fr"),
            ("version", "0"),
            ("body", "écrasé"),
        ])
        .await
        .unwrap_err();
    assert_eq!(stale.status().as_u16(), 409, "{stale:?}");
    assert!(kit.render().await.unwrap().text().contains("Bienvenue"));
    // Emptied: the built-in text comes back.
    marc.action([
        ("op", "texte"),
        ("topic", "eleve"),
        ("lang", "fr"),
        ("version", "1"),
        ("body", "  "),
    ])
    .await
    .unwrap();
    let fallback = kit.render().await.unwrap();
    assert!(
        fallback.text().contains("Welcome, read the rules."),
        "the English one now"
    );
    assert!(fallback.text().contains("pas encore traduit"));
    marc.action([
        ("op", "texte"),
        ("topic", "eleve"),
        ("lang", "en"),
        ("version", "1"),
        ("body", ""),
    ])
    .await
    .unwrap();
    assert!(
        kit.render()
            .await
            .unwrap()
            .text()
            .contains("votre bloc-notes")
    );
    // Too long: the form comes back with the text, nothing stored.
    let long = "x".repeat(texts::MAX_TEXT_LEN + 1);
    let err = marc
        .action([
            ("op", "texte"),
            ("topic", texts::PORTAL),
            ("lang", "fr"),
            ("version", "0"),
            ("body", long.as_str()),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
    // Pupils and teachers may not edit, through the page or the action.
    for who in [
        kit.clone(),
        as_user(&kit, "prof", "Paul Prof", Profile::Enseignant),
    ] {
        assert!(matches!(
            who.render_with(&view("editer")).await,
            Err(CallError::Portlet(PortletError::Forbidden))
        ));
        assert!(matches!(
            who.action([
                ("op", "texte"),
                ("topic", "portail"),
                ("lang", "fr"),
                ("version", "0"),
                ("body", "pirate")
            ])
            .await,
            Err(CallError::Portlet(PortletError::Forbidden))
        ));
    }
    // Unknown topic or language.
    assert!(matches!(
        marc.action([
            ("op", "texte"),
            ("topic", "x"),
            ("lang", "fr"),
            ("version", "0"),
            ("body", "y")
        ])
        .await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    assert!(matches!(
        marc.action([
            ("op", "texte"),
            ("topic", "eleve"),
            ("lang", "de"),
            ("version", "0"),
            ("body", "y")
        ])
        .await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
}

#[tokio::test]
async fn a_report_is_filed_with_where_it_came_from_and_staff_are_told() {
    let kit = kit();
    let form = kit
        .render_with(
            &view("signaler")
                .param("page", "/page/accueil/bloc-notes?mode=help")
                .param("service", "bloc-notes"),
        )
        .await
        .unwrap();
    form.assert_accessible();
    assert!(
        form.html()
            .contains(r#"name="page" value="/page/accueil/bloc-notes?mode=help""#)
    );
    assert!(form.html().contains(r#"name="service" value="bloc-notes""#));
    assert_eq!(form.title(), Some("Signaler un problème"));
    // A page that is not the portal's is dropped.
    let odd = kit
        .render_with(
            &view("signaler")
                .param("page", "https://evil.example/")
                .param("service", "<b>"),
        )
        .await
        .unwrap();
    assert!(!odd.html().contains("evil.example"));
    assert!(!odd.html().contains("&lt;b&gt;"));

    kit.clear_published();
    let id = report(&kit, "Le bloc-notes ne s’ouvre pas").await;
    assert_eq!(id, 1);
    let db = kit.database().await.unwrap();
    let filed = incidents::get(&db, id).await.unwrap().unwrap();
    assert_eq!(filed.reporter, "lmartin");
    assert_eq!(filed.reporter_name, "Léa Martin");
    assert_eq!(filed.page, "/page/accueil/bloc-notes?mode=help");
    assert_eq!(filed.service, "bloc-notes");
    assert_eq!(filed.status, "nouveau");
    assert!(filed.created_at > 0);
    let published = kit.published();
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].audience,
        Audience::Profiles(vec![Profile::Personnel, Profile::Admin])
    );
    assert!(published[0].title.contains("Nouveau signalement n° 1"));
    assert!(published[0].title.contains("New report no. 1"));

    let mine = kit
        .render_with(&view("mes").param("depose", "1"))
        .await
        .unwrap();
    mine.assert_accessible();
    assert!(
        mine.text()
            .contains("Votre signalement n° 1 est enregistré.")
    );
    assert!(mine.text().contains("Le bloc-notes ne s’ouvre pas"));
    assert!(mine.text().contains("nouveau"));
}

#[tokio::test]
async fn bad_reports_come_back_with_what_was_typed_and_nothing_is_filed() {
    let kit = kit();
    let long = "é".repeat(MAX_DESCRIPTION_LEN + 1);
    for (subject, description) in [
        ("", "x"),
        ("ok", ""),
        ("deux\nlignes", "x"),
        ("ok", long.as_str()),
    ] {
        let err = kit
            .action([
                ("op", "signaler"),
                ("subject", subject),
                ("description", description),
            ])
            .await
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 422, "{err:?}");
        let again = kit.render_with(&view("signaler")).await.unwrap();
        assert!(again.html().contains(r#"aria-invalid="true""#));
        again.assert_accessible();
    }
    let db = kit.database().await.unwrap();
    assert!(
        incidents::of_reporter(&db, "lmartin")
            .await
            .unwrap()
            .is_empty()
    );
    // At most MAX_OPEN_PER_REPORTER open at once.
    for i in 0..MAX_OPEN_PER_REPORTER {
        report(&kit, &format!("problème {i}")).await;
    }
    let err = kit
        .action([
            ("op", "signaler"),
            ("subject", "un de trop"),
            ("description", "x"),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
    assert_eq!(
        incidents::of_reporter(&db, "lmartin").await.unwrap().len(),
        MAX_OPEN_PER_REPORTER
    );
}

#[tokio::test]
async fn staff_handle_the_queue_and_the_reporter_is_notified_of_each_change() {
    let kit = kit();
    let id = report(&kit, "Imprimante du CDI").await;
    let marc = staff(&kit);
    let queue = marc.render_with(&view("file")).await.unwrap();
    queue.assert_accessible();
    assert!(queue.text().contains("N° 1 : Imprimante du CDI"));
    assert!(queue.text().contains("Léa Martin"));
    assert!(queue.text().contains("nouveau (1)"), "{}", queue.text());
    let one = marc
        .render_with(&view("incident").param("id", "1"))
        .await
        .unwrap();
    one.assert_accessible();
    assert!(one.html().contains(r#"name="op" value="traiter""#));
    assert!(
        one.html()
            .contains(r#"<a href="/page/accueil/bloc-notes?mode=help">"#)
    );

    kit.clear_published();
    handle(&marc, id, "en-cours", "mdupont", "").await.unwrap();
    let published = kit.published();
    assert_eq!(
        published.len(),
        1,
        "the reporter; the assignee acted himself"
    );
    assert_eq!(
        published[0].audience,
        Audience::Users(vec!["lmartin".into()])
    );
    assert!(
        published[0].title.contains("en cours"),
        "{}",
        published[0].title
    );
    assert!(published[0].title.contains("in progress"));
    assert!(
        published[0]
            .link
            .as_deref()
            .unwrap()
            .contains("p.vue=incident")
    );

    kit.clear_published();
    let done = handle(&marc, id, "resolu", "mdupont", "C’est réparé.\nMerci.")
        .await
        .unwrap();
    assert_eq!(done.params["fait"], "1");
    let published = kit.published();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].title.contains("a une réponse (résolu)"),
        "{}",
        published[0].title
    );

    // Nothing changed: nobody is told.
    kit.clear_published();
    let same = handle(&marc, id, "resolu", "mdupont", "C’est réparé.\nMerci.")
        .await
        .unwrap();
    assert_eq!(same.params["fait"], "0");
    assert!(kit.published().is_empty());

    // The reporter sees the status, the assignee's name and the answer.
    let mine = kit.render_with(&view("mes")).await.unwrap();
    assert!(mine.text().contains("résolu"));
    assert!(mine.text().contains("Marc Dupont"));
    assert!(mine.html().contains("C’est réparé.<br>Merci."));
    let hers = kit
        .render_with(&view("incident").param("id", "1"))
        .await
        .unwrap();
    hers.assert_accessible();
    assert!(
        !hers.html().contains("traiter"),
        "the reporter does not handle"
    );

    // Assigning to someone else tells her too.
    let admin = as_user(&kit, "admin", "Ada Admin", Profile::Admin);
    kit.clear_published();
    handle(&admin, id, "ferme", "mdupont", "C’est réparé.\nMerci.")
        .await
        .unwrap();
    assert_eq!(kit.published().len(), 1);
    handle(&marc, id, "ferme", "", "C’est réparé.\nMerci.")
        .await
        .unwrap();

    // A stale version, an unknown status, an assignee who is not staff.
    let stale = marc
        .action([
            ("op", "traiter"),
            ("id", "1"),
            ("version", "1"),
            ("status", "nouveau"),
            ("assignee", ""),
            ("answer", ""),
        ])
        .await
        .unwrap_err();
    assert_eq!(stale.status().as_u16(), 409);
    let bad = handle(&marc, id, "perdu", "", "").await.unwrap_err();
    assert_eq!(bad.status().as_u16(), 422);
    let bad = handle(&marc, id, "ferme", "prof", "").await.unwrap_err();
    assert_eq!(bad.status().as_u16(), 422);
    let bad = handle(&marc, id, "ferme", "inconnu", "").await.unwrap_err();
    assert_eq!(bad.status().as_u16(), 422);
    let again = marc
        .render_with(&view("incident").param("id", "1"))
        .await
        .unwrap();
    again.assert_accessible();
    assert!(again.html().contains(r#"aria-invalid="true""#));
}

#[tokio::test]
async fn a_pupil_never_sees_another_ones_incident_through_any_door() {
    let kit = kit();
    let id = report(&kit, "Secret de Léa").await;
    let theo = as_user(&kit, "theo", "Théo", Profile::Eleve);
    let parent = as_user(&kit, "maman", "Mme Martin", Profile::Parent);
    let prof = as_user(&kit, "prof", "Paul Prof", Profile::Enseignant);
    for other in [&theo, &parent, &prof] {
        // Page: her list, the incident itself, the queue.
        let mine = other.render_with(&view("mes")).await.unwrap();
        assert!(!mine.text().contains("Secret"));
        assert!(mine.text().contains("aucun problème"));
        assert!(matches!(
            other.render_with(&view("incident").param("id", "1")).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
        assert!(matches!(
            other.render_with(&view("file")).await,
            Err(CallError::Portlet(PortletError::Forbidden))
        ));
        // Action: handling it.
        assert!(matches!(
            handle(other, id, "ferme", "", "").await,
            Err(CallError::Portlet(PortletError::Forbidden))
        ));
        // Export: the resource and Mes données.
        let export = other.resource("export", [("x", "y")]).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&export.body).unwrap();
        assert_eq!(v["incidents"].as_array().unwrap().len(), 0);
        let cx = kit.data_context(&other.current_user().id).await.unwrap();
        let mut sink = MemorySink::default();
        Aide::new().export(&cx, &mut sink).await.unwrap();
        assert!(!String::from_utf8_lossy(&sink.files[0].1).contains("Secret"));
    }
    let db = kit.database().await.unwrap();
    assert_eq!(
        incidents::get(&db, id).await.unwrap().unwrap().status,
        "nouveau"
    );
    // Léa's own export has it.
    let export = kit.resource("export", [("x", "y")]).await.unwrap();
    assert_eq!(export.attachment.as_deref(), Some("incidents.json"));
    assert!(String::from_utf8_lossy(&export.body).contains("Secret de Léa"));
}

#[tokio::test]
async fn unknown_views_and_ops_are_clear_errors() {
    let kit = kit();
    assert!(matches!(
        kit.render_with(&view("autre")).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    assert!(matches!(
        kit.render_with(&view("incident").param("id", "abc")).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    assert!(matches!(
        kit.action([("op", "autre")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    assert!(matches!(
        kit.resource("autre", [("x", "y")]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_reports_are_all_filed_with_distinct_numbers() {
    let kit = kit();
    parallel_reports(&kit).await;
}

async fn parallel_reports(kit: &TestKit) {
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let kit = as_user(kit, &format!("eleve{i}"), "Élève", Profile::Eleve);
            tokio::spawn(async move {
                kit.action([
                    ("op", "signaler"),
                    ("subject", format!("p{i}").as_str()),
                    ("description", "x"),
                ])
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let db = kit.database().await.unwrap();
    let mut ids: Vec<i64> = incidents::queue(&db, None)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    ids.sort_unstable();
    let before = ids.len() - 12;
    assert_eq!(
        ids[before..],
        (before as i64 + 1..=ids.len() as i64).collect::<Vec<_>>()[..]
    );
}

#[tokio::test]
async fn the_same_service_on_postgresql() {
    let Some(pg) = cartable_db::testing::TestDatabase::postgres("aide_pg").await else {
        return;
    };
    let kit = kit().with_database(pg.db.clone());
    let id = report(&kit, "Sur PostgreSQL").await;
    let marc = staff(&kit);
    handle(&marc, id, "resolu", "mdupont", "Réparé.")
        .await
        .unwrap();
    marc.action([
        ("op", "texte"),
        ("topic", "portail"),
        ("lang", "en"),
        ("version", "0"),
        ("body", "Hello"),
    ])
    .await
    .unwrap();
    assert!(
        kit.clone()
            .locale("en")
            .render()
            .await
            .unwrap()
            .text()
            .contains("Hello")
    );
    let theo = as_user(&kit, "theo", "Théo", Profile::Eleve);
    assert!(
        !theo
            .render_with(&view("mes"))
            .await
            .unwrap()
            .text()
            .contains("PostgreSQL")
    );
    assert!(
        kit.render_with(&view("mes"))
            .await
            .unwrap()
            .text()
            .contains("Réparé.")
    );
    parallel_reports(&kit).await;
    portable_round_trip(&kit).await;
}

#[tokio::test]
async fn incidents_go_out_and_come_back_with_what_was_refused() {
    portable_round_trip(&kit()).await;
}

async fn portable_round_trip(kit: &TestKit) {
    let lea = as_user(kit, "lea2", "Léa Deux", Profile::Eleve);
    let first = report(&lea, "Premier").await;
    report(&lea, "Second").await;
    handle(&staff(kit), first, "resolu", "", "Réparé.")
        .await
        .unwrap();
    let aide = Aide::new();
    let cx = kit.data_context("lea2").await.unwrap();
    let mut sink = MemorySink::default();
    aide.export(&cx, &mut sink).await.unwrap();
    assert_eq!(sink.files.len(), 1);
    let (file, bytes) = &sink.files[0];
    assert_eq!(
        (file.path.as_str(), file.format.as_str()),
        (FILE_NAME, EXPORT_FORMAT)
    );
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(v["incidents"][0]["subject"], "Premier", "oldest first");
    assert_eq!(v["incidents"][0]["answer"], "Réparé.");
    assert!(v["incidents"][0].get("assignee").is_none());

    // Into Zoé's, with bad lines added.
    let mut doc = v.clone();
    let list = doc["incidents"].as_array_mut().unwrap();
    list.push(serde_json::json!({ "subject": "", "description": "x", "created": "2026-01-01T00:00:00Z", "status": "nouveau" }));
    list.push(serde_json::json!({ "subject": "sans date", "description": "x", "created": "hier", "status": "nouveau" }));
    list.push(serde_json::json!({ "subject": "état", "description": "x", "created": "2026-01-01T00:00:00Z", "status": "perdu" }));
    list.push(serde_json::json!({ "sujet": "mauvais champ" }));
    list.push(list[0].clone());
    let file = cartable_portlet::export::ImportFile::new(
        FILE_NAME,
        "application/json",
        EXPORT_FORMAT,
        serde_json::to_vec(&doc).unwrap(),
    );
    let zoe = kit.data_context("zoe").await.unwrap();
    let db = zoe.db().unwrap().clone();
    let mut tx = db.begin().await.unwrap();
    let report = aide.import(&zoe, &mut tx, vec![file]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(report.accepted(), 2, "{report:?}");
    assert_eq!(report.refused(), 5, "{report:?}");
    let strip = |v: Vec<Incident>| {
        v.into_iter()
            .map(|i| {
                (
                    i.subject,
                    i.description,
                    i.page,
                    i.service,
                    i.created_at,
                    i.status,
                    i.answer,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(incidents::of_reporter(&db, "zoe").await.unwrap()),
        strip(incidents::of_reporter(&db, "lea2").await.unwrap())
    );
    // Twice: nothing more.
    let again = cartable_portlet::export::ImportFile::new(
        FILE_NAME,
        "application/json",
        EXPORT_FORMAT,
        bytes.clone(),
    );
    let mut tx = db.begin().await.unwrap();
    let report = aide.import(&zoe, &mut tx, vec![again]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((report.accepted(), report.refused()), (0, 2));
    // Another file, another format: refused whole.
    let mut tx = db.begin().await.unwrap();
    let report = aide
        .import(
            &zoe,
            &mut tx,
            vec![
                cartable_portlet::export::ImportFile::new(
                    FILE_NAME,
                    "application/json",
                    EXPORT_FORMAT,
                    &b"{\"format\":\"autre\",\"version\":1,\"incidents\":[]}"[..],
                ),
                cartable_portlet::export::ImportFile::new("x.csv", "text/csv", "csv", &b"a,b"[..]),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((report.accepted(), report.refused()), (0, 2));
}

const FILE_NAME: &str = EXPORT_FILE;
