//! The portlet of the guide's example, "devoirs" (homework), as a service editor writes it
//! with what the framework gives: a refused form shown again in the window, a list that
//! 40 parallel additions fill without refusing or losing one, the établissement's today
//! and dates in the page language, shared data only administrators write.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use cartable_portlet::items::{Item, ItemList};
use cartable_portlet::prelude::*;
use cartable_portlet::time::NaiveDate;
use cartable_testkit::{CallError, TestKit};
use serde::{Deserialize, Serialize};

static MESSAGES: LazyLock<Messages> =
    LazyLock::new(|| Messages::new("devoirs", &[("fr", FR), ("en", EN)]));

const FR: &str = "\
title = Devoirs
today = Nous sommes le { $date }.
notice = Consigne de l’établissement : { $text }
title-missing = Donnez un titre.
due-invalid = Donnez la date au format AAAA-MM-JJ.
due-past = Cette date est passée : nous sommes le { $today }.
";
const EN: &str = "\
title = Homework
today = Today is { $date }.
notice = The school's instruction: { $text }
title-missing = Give a title.
due-invalid = Give the date as YYYY-MM-DD.
due-past = This date is past: today is { $today }.
";

const VIEW: &str = r#"<h3>{{ t("title") }}</h3>
<p class="today">{{ t("today", date=today) }}</p>
{% if notice %}<p class="notice">{{ t("notice", text=notice) }}</p>{% endif %}
<ul>{% for h in homework %}<li>{{ h.title }} ({{ h.due | date("long") }})</li>{% endfor %}</ul>
<form method="post" action="{{ action_url }}">{{ csrf_field }}
<label for="{{ ns }}-titre">Titre</label>
<input id="{{ ns }}-titre" name="titre" value="{{ form.values.titre }}"{% if form.errors.titre %} aria-invalid="true" aria-describedby="{{ ns }}-titre-err"{% endif %}>
{% for m in form.errors.titre %}<p id="{{ ns }}-titre-err" class="field-error">{{ m }}</p>{% endfor %}
<label for="{{ ns }}-due">Pour le</label>
<input id="{{ ns }}-due" type="date" name="due" value="{{ form.values.due }}"{% if form.errors.due %} aria-invalid="true" aria-describedby="{{ ns }}-due-err"{% endif %}>
{% for m in form.errors.due %}<p id="{{ ns }}-due-err" class="field-error">{{ m }}</p>{% endfor %}
<label for="{{ ns }}-details">Consignes</label>
<textarea id="{{ ns }}-details" name="details">{{ form.values.details }}</textarea>
<button type="submit">Ajouter</button></form>"#;

/// One piece of homework, one record per item.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Homework {
    id: u64,
    title: String,
    due: NaiveDate,
    details: String,
}

impl Item for Homework {
    fn id(&self) -> u64 {
        self.id
    }
}

const HOMEWORK: ItemList = ItemList::new("devoir/");

/// What the view template reads: a list of structs passes as it is.
#[derive(Serialize)]
struct View<'a> {
    today: String,
    notice: Option<String>,
    homework: &'a [Homework],
}

struct Devoirs {
    descriptor: Descriptor,
    templates: Templates,
}

impl Devoirs {
    fn new() -> Self {
        Devoirs {
            descriptor: Descriptor::new("devoirs", "Devoirs"),
            templates: Templates::new([("view", VIEW)])
                .expect("the view compiles")
                .with_messages(&MESSAGES),
        }
    }
}

#[async_trait]
impl Portlet for Devoirs {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let mut homework: Vec<Homework> = HOMEWORK.all(&ctx.data()).await?;
        homework.sort_by_key(|h| (h.due, h.id));
        let notice = ctx.data().shared().get_json::<String>("notice").await?;
        let view = View {
            today: ctx.dates().date(ctx.today(), DateStyle::Long),
            notice,
            homework: &homework,
        };
        Ok(self.templates.render_for(ctx, "view", view)?.into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        if let Some(text) = request.field("notice") {
            // The établissement's instruction: shared data, administrators only.
            ctx.data().shared().set_json("notice", text).await?;
            return Ok(ActionResponse::default());
        }
        let mut form = InvalidForm::new(&request);
        let title = request.field("titre").unwrap_or("").trim().to_string();
        if title.is_empty() {
            form.field("titre", ctx.t(&MESSAGES, "title-missing"));
        }
        let today = ctx.today();
        let due = NaiveDate::parse_from_str(request.field("due").unwrap_or(""), "%Y-%m-%d");
        match due {
            Err(_) => {
                form.field("due", ctx.t(&MESSAGES, "due-invalid"));
            }
            Ok(due) if due < today => {
                let today = ctx.dates().date(today, DateStyle::Long);
                form.field(
                    "due",
                    ctx.t_args(&MESSAGES, "due-past", &args! { "today" => today }),
                );
            }
            Ok(_) => {}
        }
        form.check()?;
        let Ok(due) = due else {
            unreachable!("checked above")
        };
        let details = request.field("details").unwrap_or("").to_string();
        HOMEWORK
            .push(&ctx.data(), |id| Homework {
                id,
                title: title.clone(),
                due,
                details: details.clone(),
            })
            .await?;
        Ok(ActionResponse::default())
    }
}

fn kit() -> TestKit {
    TestKit::new(Arc::new(Devoirs::new())).at("2026-12-07T10:00:00Z")
}

#[tokio::test]
async fn a_refused_form_comes_back_once_with_its_values_and_messages() {
    let kit = kit();
    let long = "Lire le chapitre 3 et répondre aux questions. ".repeat(60); // 2,880 chars
    let err = kit
        .action([
            ("titre", "  "),
            ("due", "2026-13-01"),
            ("details", long.as_str()),
        ])
        .await
        .expect_err("an empty title is refused");
    assert_eq!(err.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
    let form = err
        .portlet_error()
        .and_then(PortletError::invalid_form)
        .expect("a form");
    assert_eq!(
        form.errors_for("titre").collect::<Vec<_>>(),
        ["Donnez un titre."]
    );
    assert_eq!(
        form.errors_for("due").collect::<Vec<_>>(),
        ["Donnez la date au format AAAA-MM-JJ."]
    );

    let again = kit.render().await.expect("the window renders");
    let html = again.html();
    assert!(html.contains(long.as_str()), "the text typed is back");
    assert!(html.contains(r#"value="2026-13-01""#), "{html}");
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="w-test-window-titre-err""#));
    assert!(html.contains("Donnez un titre."));
    again.assert_accessible();
    // Nothing was stored, and the next render is the plain form.
    let plain = kit.render().await.expect("renders");
    assert!(!plain.html().contains("Donnez un titre."));
    assert!(!plain.html().contains("chapitre 3"));
    assert!(
        HOMEWORK
            .all::<Homework>(&kit.data())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn forty_parallel_additions_are_all_kept() {
    let kit = kit();
    let titles: Vec<String> = (0..40).map(|i| format!("Exercice {i}")).collect();
    let results = futures::future::join_all(titles.iter().map(|t| {
        kit.action([
            ("titre", t.as_str()),
            ("due", "2026-12-10"),
            ("details", ""),
        ])
    }))
    .await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    let stored: Vec<Homework> = HOMEWORK.all(&kit.data()).await.unwrap();
    let mut got: Vec<&str> = stored.iter().map(|h| h.title.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = titles.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want, "none lost, none twice");
}

#[tokio::test]
async fn today_is_the_etablissements_near_midnight() {
    // 23:30 UTC on 6 December: 00:30 on 7 December in Paris.
    let kit = TestKit::new(Arc::new(Devoirs::new())).at("2026-12-06T23:30:00Z");
    let html = kit.render().await.unwrap().html().to_string();
    assert!(
        html.contains("Nous sommes le lundi 7 décembre 2026."),
        "{html}"
    );
    // Homework due on the 6th is refused: in Paris the 6th is over.
    let err = kit
        .action([
            ("titre", "Rédaction"),
            ("due", "2026-12-06"),
            ("details", ""),
        ])
        .await
        .unwrap_err();
    let form = err
        .portlet_error()
        .and_then(PortletError::invalid_form)
        .unwrap();
    assert_eq!(
        form.errors_for("due").collect::<Vec<_>>(),
        ["Cette date est passée : nous sommes le lundi 7 décembre 2026."]
    );
    kit.action([
        ("titre", "Rédaction"),
        ("due", "2026-12-07"),
        ("details", ""),
    ])
    .await
    .expect("due today is accepted");
    // An hour earlier in UTC terms it would still be the 6th; in English, the same day.
    let en = TestKit::new(Arc::new(Devoirs::new()))
        .at("2026-12-06T22:59:00Z")
        .locale("en");
    let html = en.render().await.unwrap().html().to_string();
    assert!(html.contains("Today is Sunday 6 December 2026."), "{html}");
    en.advance(Duration::from_secs(60));
    let html = en.render().await.unwrap().html().to_string();
    assert!(html.contains("Today is Monday 7 December 2026."), "{html}");
    // The due date is written in the page language by the template's date filter.
    en.action([("titre", "Essay"), ("due", "2027-03-01"), ("details", "")])
        .await
        .unwrap();
    let html = en.render().await.unwrap().html().to_string();
    assert!(html.contains("Essay (Monday 1 March 2027)"), "{html}");
}

#[tokio::test]
async fn only_an_administrator_writes_the_shared_notice() {
    let pupil = kit();
    let err = pupil
        .action([("notice", "Cahiers lundi")])
        .await
        .expect_err("a pupil may not write the établissement's data");
    assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    assert_eq!(pupil.data().shared().get("notice").await.unwrap(), None);

    let admin =
        kit()
            .with_storage(pupil.storage().clone())
            .user_with("adm", "Admin", [Profile::Admin]);
    admin
        .action([("notice", "Cahiers lundi")])
        .await
        .expect("an administrator may");
    let html = pupil.render().await.unwrap().html().to_string();
    assert!(
        html.contains("Consigne de l’établissement : Cahiers lundi"),
        "{html}"
    );
}

#[tokio::test]
async fn a_user_writes_only_her_own_shared_keys() {
    let kit = kit();
    let ctx = kit.context(&Default::default()).await.unwrap();
    let shared = ctx.data().shared();
    assert!(shared.may_write("hidden/camille"));
    shared
        .set("hidden/camille", b"[]")
        .await
        .expect("her own key");
    let err = shared.set("hidden/theo", b"[]").await.unwrap_err();
    assert!(err.to_string().contains("administrators"), "{err}");
    assert!(shared.delete("hidden/theo").await.is_err());
    assert!(
        shared
            .update_json("hidden/theo", |v: Option<u32>| v.unwrap_or(0))
            .await
            .is_err()
    );
    // Her own data is hers whatever the key.
    ctx.data().set("anything", b"1").await.unwrap();
}

#[tokio::test]
async fn unused_clock_calls_fail_clearly() {
    let kit = TestKit::new(Arc::new(Devoirs::new()));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        kit.advance(Duration::from_secs(1))
    }))
    .unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
    assert!(
        message.is_some_and(|m| m.contains(".at(")),
        "the panic says what to do"
    );
    // The error type is re-exported for tests that match on it.
    let _: Option<CallError> = None;
}
