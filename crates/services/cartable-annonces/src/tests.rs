//! The window, the form, the period, the feed, the export, the migration: through the
//! test kit, on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cartable_portlet::export::{DataContext, ImportFile, MemorySink, Portable};
use cartable_portlet::secret::{SecretRequest, SecretResource};
use cartable_socle::{DbStore, GroupPolicy, Notifier, Storage, SystemClock, digest};
use cartable_testkit::{CallError, RenderOptions, TestKit};

use super::*;

/// Léa, pupil of 2nde-3; Tom, pupil of 2nde-1; Paul, teacher of 2nde-3 and 1re-1; Sophie,
/// parent; Nadia, staff.
fn lea() -> Person {
    person(
        "lea",
        "Léa Martin",
        Profile::Eleve,
        &[("ENTEleveClasses", "2nde-3")],
    )
}
fn tom() -> Person {
    person(
        "tom",
        "Tom Petit",
        Profile::Eleve,
        &[("ENTEleveClasses", "2nde-1")],
    )
}
fn paul() -> Person {
    person(
        "paul",
        "Paul Durand",
        Profile::Enseignant,
        &[
            ("ENTAuxEnsClasses", "2nde-3"),
            ("ENTAuxEnsClasses", "1re-1"),
        ],
    )
}
fn sophie() -> Person {
    person("sophie", "Sophie Martin", Profile::Parent, &[])
}
fn nadia() -> Person {
    person("nadia", "Nadia Benali", Profile::Personnel, &[])
}

fn person(id: &str, name: &str, profile: Profile, attributes: &[(&str, &str)]) -> Person {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in attributes {
        map.entry((*k).to_string())
            .or_default()
            .push((*v).to_string());
    }
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: vec![profile],
        attributes: map,
    }
}

/// A kit on 7 December 2026, 9:00 UTC, whose directory knows everyone.
fn kit() -> TestKit {
    let mut kit = TestKit::new(Arc::new(News::new())).at("2026-12-07T09:00:00Z");
    for p in [lea(), tom(), paul(), sophie(), nadia()] {
        kit = kit.person(p);
    }
    kit
}

fn publish_form<'a>(title: &'a str, audience: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("op", "publish"), ("title", title), ("audience", audience)]
}

async fn publish(kit: &TestKit, title: &str, audience: &str) {
    kit.action(publish_form(title, audience)).await.unwrap();
}

/// What a user's private feed holds, read by feed-rs (a parser this project did not
/// write): the titles, in order.
async fn feed_titles(kit: &TestKit, who: &Person) -> Vec<String> {
    let xml = feed_xml(kit, who).await;
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs reads the feed");
    feed.entries
        .into_iter()
        .map(|e| e.title.map(|t| t.content).unwrap_or_default())
        .collect()
}

/// A user's feed, as the portal serves it at her secret URL (a token made by the
/// window's action).
async fn feed_xml(kit: &TestKit, who: &Person) -> String {
    let as_her = kit.clone().user(who.clone());
    as_her.action([("op", "feed-new")]).await.unwrap();
    let db = kit.database().await.unwrap();
    let token = store::token_of(&db, &who.id).await.unwrap().unwrap();
    let body = serve(kit, &token).await.expect("a live token is served");
    String::from_utf8(body).unwrap()
}

/// Serve `rss.xml` for `token` as the portal does: whose token it is, then her feed.
async fn serve(kit: &TestKit, token: &str) -> Option<Vec<u8>> {
    let news = News::new();
    let base = kit.data_context("x").await.unwrap();
    let owner = news.owner(base.services(), token).await.unwrap()?;
    let who = [lea(), tom(), paul(), sophie(), nadia()]
        .into_iter()
        .find(|p| p.id == owner)
        .unwrap();
    let cx = DataContext::new(Arc::new(who), base.services().clone(), "fr");
    let res = news
        .serve(
            &cx,
            SecretRequest {
                token: token.into(),
                file: FEED_FILE.into(),
                params: Default::default(),
                portal_url: "https://ent.example.org/ent".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(res.content_type, "application/rss+xml; charset=utf-8");
    Some(res.body.to_vec())
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
async fn the_window_lists_news_and_current_announcements() {
    let kit = kit().user(lea());
    let at = UNIX_EPOCH + Duration::from_secs(1_796_634_000); // 2026-12-07 08:20 UTC
    kit.notifier()
        .publish(Notification {
            source: "cahier-de-textes".into(),
            title: "Devoir de <maths>".into(),
            link: Some("/page/accueil".into()),
            audience: Audience::Profiles(vec![Profile::Eleve]),
            at,
        })
        .await
        .unwrap();
    kit.notifier()
        .publish(Notification {
            source: "x".into(),
            title: "Lien piégé".into(),
            link: Some("javascript:alert(1)".into()),
            audience: Audience::Everyone,
            at,
        })
        .await
        .unwrap();
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert!(
        out.html()
            .contains(r#"<a href="/page/accueil">Devoir de &lt;maths&gt;</a>"#)
    );
    assert!(out.text().contains("Lien piégé") && !out.html().contains("javascript:"));
    assert!(
        out.html()
            .contains("/page/test/test-window?state=maximized")
    );
    assert!(!out.html().contains("<form"), "pupils do not publish");

    let teacher = kit.clone().user(paul());
    publish(&teacher, "Sortie au <musée>", "c:2nde-3").await;
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    assert!(out.html().contains("Sortie au &lt;musée&gt;"));
    assert!(out.text().contains("Annonce – 2026-12-07"));
    let html = out.html();
    assert!(
        html.find("musée").unwrap() < html.find("Devoir").unwrap(),
        "newest first"
    );
    let en = kit.clone().locale("en").render().await.unwrap();
    assert!(en.text().contains("Announcement – "));
    // The announcement's notification is for the digest, not shown twice.
    assert_eq!(out.html().matches("musée").count(), 1);
}

#[tokio::test]
async fn dates_are_utc() {
    let at = UNIX_EPOCH + Duration::from_secs(1_709_249_405);
    assert_eq!(short_utc(at), "2024-02-29 23:30 UTC");
    assert_eq!(iso_utc(at), "2024-02-29T23:30:05Z");
    assert_eq!(portal_path(Some("/a?b=c")), Some("/a?b=c".into()));
    for bad in [
        "javascript:alert(1)",
        "//evil.example",
        "https://x",
        "/\\evil",
        "",
    ] {
        assert_eq!(portal_path(Some(bad)), None, "{bad}");
    }
}

#[tokio::test]
async fn a_pupil_sees_her_class_not_another_nor_the_teachers() {
    let kit = kit();
    let teacher = kit.clone().user(paul());
    publish(&teacher, "Pour la 2nde-3", "c:2nde-3").await;
    publish(&teacher, "Pour les enseignants", "p:enseignant").await;
    publish(&teacher, "Pour tous", "all").await;
    publish(&teacher, "Pour les parents", "p:parent").await;
    let staff = kit.clone().user(nadia());
    staff
        .action([
            ("op", "publish"),
            ("title", "Pour la 2nde-1"),
            ("audience", "c:*"),
            ("class", "2nde-1"),
        ])
        .await
        .unwrap();

    let seen = |who: Person| {
        let kit = kit.clone();
        async move {
            let as_her = kit.clone().user(who.clone());
            let page = as_her.render().await.unwrap().text();
            let all = as_her
                .render_state(WindowState::Maximized)
                .await
                .unwrap()
                .text();
            let feed = feed_titles(&kit, &who).await;
            (page, all, feed)
        }
    };
    // Through the window, the whole list and the feed.
    let (page, all, feed) = seen(lea()).await;
    for text in [&page, &all] {
        assert!(text.contains("Pour la 2nde-3") && text.contains("Pour tous"));
        assert!(!text.contains("2nde-1") && !text.contains("enseignants"));
        assert!(!text.contains("Pour les parents"));
    }
    assert_eq!(feed, ["Pour tous", "Pour la 2nde-3"]);
    let (page, _, feed) = seen(tom()).await;
    assert!(page.contains("Pour la 2nde-1") && !page.contains("2nde-3"));
    assert_eq!(feed, ["Pour la 2nde-1", "Pour tous"]);
    let (_, _, feed) = seen(sophie()).await;
    assert_eq!(feed, ["Pour les parents", "Pour tous"]);
    // The author sees what she wrote, even for others.
    let (_, all, feed) = seen(paul()).await;
    assert!(all.contains("Pour les parents") && all.contains("Pour la 2nde-3"));
    assert_eq!(
        feed,
        ["Pour tous", "Pour les enseignants", "Pour la 2nde-3"]
    );
    // The notifications for the digest reach the same people.
    let published = kit.published();
    let class = published
        .iter()
        .find(|n| n.title == "Pour la 2nde-3")
        .unwrap();
    assert_eq!(
        class.audience,
        Audience::Users(vec!["lea".into(), "paul".into()])
    );
    assert_eq!(class.source, ID);
}

#[tokio::test]
async fn who_may_publish_is_checked_in_the_action() {
    for who in [lea(), sophie(), person("x", "Invité", Profile::Invite, &[])] {
        let kit = kit().user(who);
        let err = kit.action(publish_form("pirate", "all")).await.unwrap_err();
        assert!(
            matches!(err, CallError::Portlet(PortletError::Forbidden)),
            "{err:?}"
        );
        assert!(kit.published().is_empty());
        let max = kit.render_state(WindowState::Maximized).await.unwrap();
        max.assert_accessible();
        assert!(!max.text().contains("pirate"));
        assert!(
            !max.html().contains(r#"value="publish""#),
            "no form for them"
        );
    }
    // The établissement's rule: only staff.
    let kit = TestKit::new(Arc::new(News::new().publishers([Profile::Personnel]))).user(paul());
    assert!(matches!(
        kit.action(publish_form("x", "all")).await,
        Err(CallError::Portlet(PortletError::Forbidden))
    ));
}

#[tokio::test]
async fn bad_announcements_are_refused_with_nothing_stored() {
    let kit = kit().user(paul());
    let long = "a".repeat(MAX_TITLE_LEN + 1);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        publish_form("", "all"),
        publish_form(&long, "all"),
        publish_form("deux\nlignes", "all"),
        publish_form("ok", "p:admin"),
        publish_form("ok", "nobody"),
        publish_form("ok", "c:2nde-1"),
        publish_form("ok", "g:not-mine"),
        publish_form("ok", "u:lea"),
        publish_form("ok", "c:*"),
        vec![
            ("op", "publish"),
            ("title", "ok"),
            ("audience", "all"),
            ("from", "demain"),
        ],
        vec![
            ("op", "publish"),
            ("title", "ok"),
            ("audience", "all"),
            ("from", "2026-12-10"),
            ("until", "2026-12-09"),
        ],
        vec![
            ("op", "publish"),
            ("title", "ok"),
            ("audience", "all"),
            ("pinned", "2"),
        ],
    ];
    for form in cases {
        let err = kit.action(form.clone()).await.unwrap_err();
        assert!(
            err.portlet_error()
                .and_then(PortletError::invalid_form)
                .is_some(),
            "{form:?}: {err:?}"
        );
        // The list comes back with the messages and what was typed.
        let again = kit.render().await.unwrap();
        again.assert_accessible();
        assert!(
            again.html().contains(r#"class="field-error""#),
            "{form:?}: {}",
            again.html()
        );
    }
    let db = kit.database().await.unwrap();
    assert!(store::by_author(&db, "paul").await.unwrap().is_empty());
    assert!(kit.published().is_empty());
    assert!(matches!(
        kit.action([("op", "other")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    // A teacher may not address a class of the directory that is not hers; staff may,
    // not one nobody is in.
    let staff = kit.clone().user(nadia());
    let err = staff
        .action([
            ("op", "publish"),
            ("title", "x"),
            ("audience", "c:*"),
            ("class", "6e-9"),
        ])
        .await
        .unwrap_err();
    assert!(
        err.portlet_error()
            .and_then(PortletError::invalid_form)
            .is_some()
    );
}

#[tokio::test]
async fn the_period_hides_an_announcement_from_readers_not_from_its_author() {
    let kit = kit().user(paul());
    kit.action([
        ("op", "publish"),
        ("title", "Conseil de classe"),
        ("body", "Salle 12.\n\nApportez vos bulletins."),
        ("audience", "all"),
        ("from", "2026-12-09"),
        ("until", "2026-12-10"),
    ])
    .await
    .unwrap();
    assert!(
        kit.published().is_empty(),
        "not in the digest before it is shown"
    );
    let pupil = kit.clone().user(lea());
    assert!(!pupil.render().await.unwrap().text().contains("Conseil"));
    let own = kit.render_state(WindowState::Maximized).await.unwrap();
    own.assert_accessible();
    assert!(own.text().contains("Conseil de classe"));
    assert!(own.text().contains("pas encore affichée"));
    assert!(
        own.text()
            .contains("du mercredi 9 décembre 2026 au jeudi 10 décembre 2026")
    );
    assert!(
        own.html()
            .contains("<p>Salle 12.</p>\n<p>Apportez vos bulletins.</p>")
    );

    kit.advance(Duration::from_secs(2 * 86_400)); // 9 December, 9:00 UTC
    let max = pupil.render_state(WindowState::Maximized).await.unwrap();
    assert!(max.text().contains("Conseil de classe"));
    assert!(!max.text().contains("pas encore"), "readers get no status");
    assert_eq!(feed_titles(&kit, &lea()).await, ["Conseil de classe"]);

    kit.advance(Duration::from_secs(2 * 86_400)); // 11 December
    assert!(!pupil.render().await.unwrap().text().contains("Conseil"));
    assert!(feed_titles(&kit, &lea()).await.is_empty());
    let own = kit.render_state(WindowState::Maximized).await.unwrap();
    assert!(own.text().contains("plus affichée"));
}

#[tokio::test]
async fn pinned_announcements_come_first() {
    let kit = kit().user(paul());
    kit.action([
        ("op", "publish"),
        ("title", "Épinglée"),
        ("audience", "all"),
        ("pinned", "oui"),
    ])
    .await
    .unwrap();
    kit.advance(Duration::from_secs(60));
    publish(&kit, "Plus récente", "all").await;
    for out in [
        kit.render().await.unwrap(),
        kit.render_state(WindowState::Maximized).await.unwrap(),
    ] {
        let html = out.html();
        assert!(html.find("Épinglée").unwrap() < html.find("Plus récente").unwrap());
    }
    assert_eq!(
        feed_titles(&kit, &lea()).await,
        ["Épinglée", "Plus récente"]
    );
}

#[tokio::test]
async fn authors_edit_and_delete_their_own() {
    let kit = kit().user(paul());
    let act = kit
        .action(publish_form("Premier titre", "c:2nde-3"))
        .await
        .unwrap();
    let after = kit.render_after(&act).await.unwrap();
    assert!(after.text().contains("Annonce publiée."));
    after.assert_accessible();
    let db = kit.database().await.unwrap();
    let a = store::by_author(&db, "paul").await.unwrap().remove(0);

    // The edit form, filled in.
    let edit = kit
        .render_with(
            &RenderOptions::new()
                .state(WindowState::Maximized)
                .param("edit", a.id.to_string()),
        )
        .await
        .unwrap();
    edit.assert_accessible();
    assert!(edit.html().contains(r#"value="Premier titre""#));
    assert!(
        edit.html()
            .contains(r#"<option value="c:2nde-3" selected>"#)
    );
    assert!(edit.text().contains("Modifier l’annonce"));

    let id = a.id.to_string();
    let update = |title: &'static str, version: &'static str| {
        vec![
            ("op", "update"),
            ("id", id.as_str()),
            ("version", version),
            ("title", title),
            ("audience", "all"),
        ]
    };
    kit.action(update("Nouveau titre", "1")).await.unwrap();
    let b = store::get(&db, a.id).await.unwrap().unwrap();
    assert_eq!((b.title.as_str(), b.version), ("Nouveau titre", 2));
    assert_eq!(b.targets, [Target::Everyone]);
    // An edit made from what was read before another: refused, nothing lost.
    let err = kit.action(update("Écrasé", "1")).await.unwrap_err();
    assert_eq!(err.status(), http_status_conflict(), "{err:?}");
    assert_eq!(
        store::get(&db, a.id).await.unwrap().unwrap().title,
        "Nouveau titre"
    );

    // Another teacher cannot touch it.
    let other = kit
        .clone()
        .user(person("marc", "Marc", Profile::Enseignant, &[]));
    assert!(matches!(
        other.action(update("Pirate", "2")).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    assert!(matches!(
        other.action([("op", "delete"), ("id", id.as_str())]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    let max = other.render_state(WindowState::Maximized).await.unwrap();
    assert!(max.text().contains("Nouveau titre") && !max.text().contains("Supprimer"));

    let act = kit
        .action([("op", "delete"), ("id", id.as_str())])
        .await
        .unwrap();
    assert!(
        kit.render_after(&act)
            .await
            .unwrap()
            .text()
            .contains("Annonce supprimée.")
    );
    assert!(store::get(&db, a.id).await.unwrap().is_none());
    assert!(matches!(
        kit.action([("op", "delete"), ("id", "abc")]).await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
}

fn http_status_conflict() -> u16 {
    409
}

#[tokio::test]
async fn the_feed_url_is_made_replaced_and_revoked() {
    let kit = kit().user(lea());
    let none = kit.render_state(WindowState::Maximized).await.unwrap();
    assert!(none.text().contains("Créer mon adresse de flux"));
    let act = kit.action([("op", "feed-new")]).await.unwrap();
    let db = kit.database().await.unwrap();
    let first = store::token_of(&db, "lea").await.unwrap().unwrap();
    assert_eq!(first.len(), 43);
    let shown = kit.render_after(&act).await.unwrap();
    shown.assert_accessible();
    assert!(
        shown
            .html()
            .contains(&format!("/flux/nouveautes/{first}/rss.xml"))
    );
    let edit = kit.render_mode(Mode::Edit).await.unwrap();
    edit.assert_accessible();
    assert!(
        edit.html()
            .contains(&format!("/flux/nouveautes/{first}/rss.xml"))
    );
    assert!(serve(&kit, &first).await.is_some());

    kit.action([("op", "feed-new")]).await.unwrap();
    let second = store::token_of(&db, "lea").await.unwrap().unwrap();
    assert_ne!(first, second);
    assert!(serve(&kit, &first).await.is_none(), "the old URL is dead");
    assert!(serve(&kit, &second).await.is_some());
    kit.action([("op", "feed-revoke")]).await.unwrap();
    assert!(serve(&kit, &second).await.is_none());
    // A near miss is another token.
    let theirs = kit.clone().user(tom());
    theirs.action([("op", "feed-new")]).await.unwrap();
    let tom_token = store::token_of(&db, "tom").await.unwrap().unwrap();
    assert!(serve(&kit, &tom_token.to_uppercase()).await.is_none());
    assert!(serve(&kit, &tom_token[..42]).await.is_none());
    assert!(serve(&kit, "").await.is_none());
    // Another file of the feed is not served.
    let cx = DataContext::new(
        Arc::new(tom()),
        kit.data_context("x").await.unwrap().services().clone(),
        "fr",
    );
    let err = News::new()
        .serve(
            &cx,
            SecretRequest {
                token: tom_token,
                file: "atom.xml".into(),
                params: Default::default(),
                portal_url: String::new(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PortletError::NotFound(_)));
}

#[tokio::test]
async fn the_feed_is_rss_that_an_independent_parser_reads() {
    let kit = kit().user(paul());
    kit.action([
        ("op", "publish"),
        ("title", "Sortie <au> musée & co"),
        (
            "body",
            "Rendez-vous à 8 h.\nDevant le lycée.\n\nPrévoir un <pique-nique>.",
        ),
        ("audience", "all"),
    ])
    .await
    .unwrap();
    let xml = feed_xml(&kit, &lea()).await;
    assert!(xml.contains("<rss version=\"2.0\""), "{xml}");
    let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(feed.title.unwrap().content, "Annonces – Léa Martin");
    let entry = &feed.entries[0];
    assert_eq!(
        entry.title.as_ref().unwrap().content,
        "Sortie <au> musée & co"
    );
    let summary = &entry.summary.as_ref().unwrap().content;
    assert_eq!(
        summary,
        "<p>Rendez-vous à 8 h.<br>Devant le lycée.</p><p>Prévoir un &lt;pique-nique&gt;.</p>"
    );
    assert_eq!(entry.authors[0].name.as_deref(), Some("Paul Durand"));
    assert_eq!(
        entry.published.unwrap().to_rfc3339(),
        "2026-12-06T23:00:00+00:00",
        "shown from midnight in Paris"
    );
    assert_eq!(entry.links[0].href, "https://ent.example.org/ent/");
    // xmllint, where installed (scripts/test.sh installs it), finds it well-formed.
    if let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(xml.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn announcements_go_out_and_come_back() {
    let kit = kit().user(paul());
    kit.action([
        ("op", "publish"),
        ("title", "Sortie"),
        ("body", "Texte\n\nsuite"),
        ("audience", "c:2nde-3"),
        ("from", "2026-12-07"),
        ("until", "2026-12-20"),
        ("pinned", "oui"),
    ])
    .await
    .unwrap();
    publish(&kit, "Réunion", "p:parent").await;
    kit.clone()
        .user(paul())
        .action([("op", "feed-new")])
        .await
        .unwrap();
    let news = News::new();
    let cx = DataContext::new(
        Arc::new(paul()),
        kit.data_context("x").await.unwrap().services().clone(),
        "fr",
    );
    let mut sink = MemorySink::default();
    news.export(&cx, &mut sink).await.unwrap();
    assert_eq!(sink.files.len(), 1);
    let (file, bytes) = &sink.files[0];
    assert_eq!(
        (file.path.as_str(), file.format.as_str()),
        (portable::FILE, portable::FORMAT)
    );
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let db = kit.database().await.unwrap();
    let token = store::token_of(&db, "paul").await.unwrap().unwrap();
    assert!(!text.contains(&token), "the feed token is not exported");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["announcements"][0]["title"], "Sortie");
    assert_eq!(v["announcements"][0]["audience"][0], "c:2nde-3");
    assert_eq!(v["announcements"][0]["shown_until"], "2026-12-20T23:00:00Z");

    // Into another établissement: Paul again, with a few bad lines.
    let other = self::kit().user(paul());
    let mut doc = v.clone();
    let list = doc["announcements"].as_array_mut().unwrap();
    list.push(serde_json::json!({ "title": "", "audience": ["all"], "shown_from": "2026-12-01T00:00:00Z", "created": "2026-12-01T00:00:00Z" }));
    list.push(serde_json::json!({ "title": "Groupe d’ailleurs", "audience": ["g:xyz"], "shown_from": "2026-12-01T00:00:00Z", "created": "2026-12-01T00:00:00Z" }));
    list.push(serde_json::json!({ "title": "Autre classe", "audience": ["c:2nde-1"], "shown_from": "2026-12-01T00:00:00Z", "created": "2026-12-01T00:00:00Z" }));
    list.push(serde_json::json!({ "title": "Date", "audience": ["all"], "shown_from": "hier", "created": "2026-12-01T00:00:00Z" }));
    list.push(serde_json::json!({ "titre": "mauvais champ" }));
    let import = ImportFile::new(
        portable::FILE,
        "application/json",
        portable::FORMAT,
        serde_json::to_vec(&doc).unwrap(),
    );
    let ocx = DataContext::new(
        Arc::new(paul()),
        other.data_context("x").await.unwrap().services().clone(),
        "fr",
    );
    let odb = other.database().await.unwrap();
    let mut tx = odb.begin().await.unwrap();
    let report = news
        .import(&ocx, &mut tx, vec![import.clone()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(report.accepted(), 2, "{report:?}");
    assert_eq!(report.refused(), 5, "{report:?}");
    let strip = |list: Vec<Announcement>| {
        list.into_iter()
            .map(|a| {
                (
                    a.title,
                    a.body,
                    a.targets,
                    a.pinned,
                    a.shown_from,
                    a.shown_until,
                    a.created_at,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(store::by_author(&odb, "paul").await.unwrap()),
        strip(store::by_author(&db, "paul").await.unwrap())
    );
    assert!(store::token_of(&odb, "paul").await.unwrap().is_none());
    // Twice: nothing more.
    let mut tx = odb.begin().await.unwrap();
    let again = news
        .import(&ocx, &mut tx, vec![import.clone()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.accepted(), 0);
    // A pupil's archive cannot publish here.
    let pcx = DataContext::new(
        Arc::new(lea()),
        other.data_context("x").await.unwrap().services().clone(),
        "fr",
    );
    let mut tx = odb.begin().await.unwrap();
    let refused = news.import(&pcx, &mut tx, vec![import]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(refused.accepted(), 0);
    assert!(store::by_author(&odb, "lea").await.unwrap().is_empty());
    // The pupil's own export is empty, and says so in the same format.
    let mut sink = MemorySink::default();
    news.export(&pcx, &mut sink).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sink.files[0].1).unwrap();
    assert_eq!(v["announcements"], serde_json::json!([]));
}

#[tokio::test]
async fn group_announcements_reach_members_only() {
    let storage: Arc<dyn Storage> = Arc::new(DbStore::in_memory().await.unwrap());
    let groups = Arc::new(Groups::new(
        storage.clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    ));
    let club = groups
        .create(
            &paul(),
            "Club théâtre",
            vec!["lea".into()],
            std::time::SystemTime::now() + Duration::from_secs(86_400 * 30),
        )
        .await
        .unwrap();
    let kit = TestKit::new(Arc::new(News::new().with_groups(groups)))
        .with_storage(storage)
        .user(paul());
    let max = kit.render_state(WindowState::Maximized).await.unwrap();
    max.assert_accessible();
    assert!(max.html().contains(&format!(
        r#"<option value="g:{}">Club théâtre</option>"#,
        club.id
    )));
    publish(&kit, "Répétition mardi", &format!("g:{}", club.id)).await;
    assert!(
        kit.clone()
            .user(lea())
            .render()
            .await
            .unwrap()
            .text()
            .contains("Répétition")
    );
    assert!(
        !kit.clone()
            .user(tom())
            .render()
            .await
            .unwrap()
            .text()
            .contains("Répétition")
    );
    let max = kit
        .clone()
        .user(lea())
        .render_state(WindowState::Maximized)
        .await
        .unwrap();
    assert!(max.text().contains("pour Club théâtre"));
}

#[tokio::test]
async fn users_opt_in_and_out_of_the_digest() {
    let kit = kit()
        .user(lea())
        .attribute("mail", ["lea.martin@lycee.example.org"]);
    let edit = kit.render_mode(Mode::Edit).await.unwrap();
    edit.assert_accessible();
    assert!(edit.html().contains(r#"name="max_items""#));
    assert!(edit.text().contains("lea.martin@lycee.example.org"));
    let optins = digest::DigestOptIns::new(kit.storage().clone());
    let act = kit
        .action([("op", "digest"), ("digest", "oui")])
        .await
        .unwrap();
    assert!(optins.is_opted_in("lea").await.unwrap());
    let after = kit.render_after(&act).await.unwrap();
    after.assert_accessible();
    assert!(after.html().contains(r#"value="oui" checked"#));
    kit.action([("op", "digest")]).await.unwrap();
    assert!(!optins.is_opted_in("lea").await.unwrap());
    assert!(matches!(
        kit.action([("op", "digest"), ("digest", "peut-être")])
            .await,
        Err(CallError::Portlet(PortletError::BadRequest(_)))
    ));
    let en = kit
        .clone()
        .user(tom())
        .locale("en")
        .render_mode(Mode::Edit)
        .await
        .unwrap();
    assert!(en.text().contains("knows no e-mail address"));
    en.assert_accessible();
}

#[tokio::test]
async fn help_mode() {
    let help = kit().render_mode(Mode::Help).await.unwrap();
    help.assert_accessible();
    assert!(help.text().contains("UTC"));
    let en = kit().locale("en").render_mode(Mode::Help).await.unwrap();
    assert!(en.text().contains("feed reader"));
}

#[tokio::test]
async fn max_items_preference() {
    let kit = kit().user(paul());
    for i in 0..7 {
        publish(&kit, &format!("annonce {i}"), "all").await;
        kit.advance(Duration::from_secs(60));
    }
    kit.submit_preferences([("max_items", "5")]).await.unwrap();
    let out = kit.render().await.unwrap();
    assert!(out.html().contains("annonce 6") && out.html().contains("annonce 2"));
    assert!(!out.html().contains("annonce 1"));
    let max = kit.render_state(WindowState::Maximized).await.unwrap();
    assert!(max.html().contains("annonce 0"));
}

/// Announcements published by earlier releases as notifications move into the table,
/// with their audience, on both databases.
#[tokio::test]
async fn announcements_of_earlier_releases_are_kept() {
    for db in cartable_db::testing::both("annonces_migration").await {
        let store = Arc::new(DbStore::open(db.db.clone()).await.unwrap());
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(1_796_600_000 + s);
        for (title, audience, when) in [
            ("Ancienne pour tous", Audience::Everyone, at(0)),
            (
                "Ancienne pour les élèves",
                Audience::Profiles(vec![Profile::Eleve]),
                at(10),
            ),
            (
                "Ancienne pour les profs",
                Audience::Profiles(vec![Profile::Enseignant]),
                at(20),
            ),
        ] {
            store
                .publish(Notification {
                    source: ID.into(),
                    title: title.into(),
                    link: None,
                    audience,
                    at: when,
                })
                .await
                .unwrap();
        }
        store
            .publish(Notification {
                source: "cahier-de-textes".into(),
                title: "Un devoir".into(),
                link: None,
                audience: Audience::Everyone,
                at: at(30),
            })
            .await
            .unwrap();
        let kit = kit()
            .with_database(db.db.clone())
            .with_storage(store.clone())
            .with_notifier(store.clone())
            .user(lea());
        let out = kit.render().await.unwrap();
        let text = out.text();
        assert!(text.contains("Ancienne pour tous") && text.contains("Ancienne pour les élèves"));
        assert!(!text.contains("profs"), "{text}");
        assert!(text.contains("Un devoir"));
        assert_eq!(text.matches("Ancienne pour tous").count(), 1, "shown once");
        let max = kit.render_state(WindowState::Maximized).await.unwrap();
        max.assert_accessible();
        assert!(max.text().contains("Ancienne pour les élèves"));
        assert_eq!(feed_titles(&kit, &lea()).await.len(), 2);
        // Nobody edits them (their author was not recorded); the teacher sees hers.
        let teacher = kit.clone().user(paul());
        let max = teacher.render_state(WindowState::Maximized).await.unwrap();
        assert!(max.text().contains("Ancienne pour les profs"));
        assert!(!max.text().contains("Supprimer"));
        // New ones on the same database, on both.
        publish(&teacher, "Nouvelle", "c:2nde-3").await;
        assert!(kit.render().await.unwrap().text().contains("Nouvelle"));
        assert!(
            !kit.clone()
                .user(tom())
                .render()
                .await
                .unwrap()
                .text()
                .contains("Nouvelle")
        );
        let rows: i64 =
            cartable_portlet::sqlx::query_scalar("SELECT COUNT(*) FROM annonces_announcement")
                .fetch_one(db.db.pool())
                .await
                .unwrap();
        assert_eq!(rows, 4);
    }
}
