//! The SDET service « aide »: the ENT's help and a short tutorial per profile, written by
//! the établissement in French and English, and the incident desk: anyone reports a
//! problem from any page (« signaler un problème »), staff handle the queue (status,
//! assignee, answer) and the reporter is told of each change through the socle's
//! notifications.
//!
//! One portlet, [`Aide`] (`aide`), whose views are chosen by the render parameter `vue`:
//!
//! | `vue` | who | what |
//! |---|---|---|
//! | (none) | everyone | the help: the établissement's text (or the built-in one) and the tutorial of each of the reader's profiles |
//! | `signaler` | everyone | the incident form; `page` and `service` say where the reader came from (the portal's footer link fills them) |
//! | `mes` | everyone | her own incidents, their status and answers |
//! | `incident` | the reporter, staff | one incident (`id`); staff get the handling form |
//! | `file` | staff | the queue, filtered by `statut` |
//! | `editer` | staff | the help texts (`sujet`, `langue`) |
//!
//! Staff are the profiles `personnel` and `admin`. The texts and the incidents are rows of
//! the service's tables (`migrations/`); an incident is only ever read by its reporter or
//! by staff, through every door (page, action, the `export` resource, Mes données).
//!
//! The portal links every page to the incident form when a portlet with the id
//! [`PORTLET`] is installed (`/aide/signaler?page=…&service=…`, in the page footer).

mod incidents;
mod portable;
pub mod texts;

pub use portable::{FILE as EXPORT_FILE, FORMAT as EXPORT_FORMAT};

use std::sync::LazyLock;

use cartable_portlet::items::checked_text;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, ServiceSchema, is_valid_id, markup_value, migration};
use cartable_socle::{Audience, Notification};
use chrono::DateTime;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use crate::incidents::{Handling, Incident, Report};

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-aide`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The portlet's id, the service's name and the owner of its tables. The portal looks for
/// a portlet with this id to link every page to its incident form.
pub const PORTLET: &str = "aide";
/// The service's name in Mes données.
pub const SERVICE: &str = PORTLET;

pub use incidents::{
    MAX_DESCRIPTION_LEN, MAX_OPEN_PER_REPORTER, MAX_SUBJECT_LEN, OPEN as OPEN_STATUSES, STATUSES,
};

/// The built-in help, shown while the établissement has written none: the messages of
/// each topic, one paragraph each.
const DEFAULTS: &[(&str, &[&str])] = &[
    (
        texts::PORTAL,
        &[
            "default-portail-1",
            "default-portail-2",
            "default-portail-3",
        ],
    ),
    ("eleve", &["default-eleve-1", "default-eleve-2"]),
    ("parent", &["default-parent-1", "default-parent-2"]),
    (
        "enseignant",
        &["default-enseignant-1", "default-enseignant-2"],
    ),
    ("personnel", &["default-personnel-1", "default-personnel-2"]),
    ("invite", &["default-invite-1"]),
    ("admin", &["default-admin-1"]),
];

/// Whether a user handles incidents and edits the help.
pub fn is_staff(user: &Person) -> bool {
    user.has_profile(&Profile::Personnel) || user.has_profile(&Profile::Admin)
}

/// A page a report names, if it is a path on the portal (`/…`, never `//host`, a scheme,
/// a backslash or a control character) of at most `incidents::MAX_PAGE_LEN` bytes;
/// anything else is dropped.
pub fn portal_path(page: &str) -> Option<&str> {
    let page = page.trim();
    (page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains('\\')
        && !page.chars().any(char::is_control)
        && page.len() <= incidents::MAX_PAGE_LEN)
        .then_some(page)
}

/// A service a report names, if it is a portlet id; anything else is dropped.
fn service_id(service: &str) -> Option<&str> {
    let service = service.trim();
    (is_valid_id(service) && service.len() <= 64).then_some(service)
}

/// The help and incident portlet (`aide`); see the crate's documentation.
#[derive(Debug)]
pub struct Aide {
    descriptor: Descriptor,
    templates: Templates,
}

impl Aide {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are files of the crate checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(PORTLET, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("aide")
            .mode(Mode::Help);
        let templates = cartable_portlet::templates![
            "nav.html",
            "view.html",
            "report.html",
            "mine.html",
            "queue.html",
            "incident.html",
            "edit.html",
            "help.html"
        ]
        .expect("the aide templates compile")
        .with_messages(&MESSAGES);
        Aide {
            descriptor,
            templates,
        }
    }
}

impl Default for Aide {
    fn default() -> Self {
        Self::new()
    }
}

/// A link of the window's menu.
#[derive(Serialize)]
struct NavLink {
    url: String,
    label: String,
    current: bool,
}

/// A help text as shown: the établissement's HTML in its language, or the built-in
/// paragraphs.
#[derive(Serialize)]
struct ShownText {
    label: String,
    html: Option<minijinja::Value>,
    lang: String,
    defaults: Vec<&'static str>,
}

/// An incident as shown.
#[derive(Serialize)]
struct ShownIncident {
    id: i64,
    subject: String,
    description_lines: Vec<String>,
    reporter_name: String,
    created_at: i64,
    created_iso: String,
    updated_at: i64,
    updated_iso: String,
    page: String,
    page_link: Option<String>,
    service: String,
    status: String,
    status_label: String,
    assignee: String,
    assignee_name: String,
    answer: String,
    answer_lines: Vec<String>,
    version: i64,
    url: String,
}

/// `2024-02-29T23:30:05Z`, for `<time datetime>` and the export.
pub(crate) fn iso_utc(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A status's words in the reader's language.
fn status_label(ctx_locale: &str, status: &str) -> String {
    MESSAGES.get(ctx_locale, &format!("status-{status}"))
}

impl Aide {
    /// The window's menu, `current` marking the view shown.
    fn nav(&self, ctx: &PortletContext, current: &str) -> Vec<NavLink> {
        let urls = ctx.urls();
        let maximized = |vue: &str| {
            let url = urls.render().state(WindowState::Maximized);
            if vue.is_empty() {
                url
            } else {
                url.param("vue", vue)
            }
            .to_string()
        };
        let mut items = vec![
            ("", "nav-help"),
            ("signaler", "nav-report"),
            ("mes", "nav-mine"),
        ];
        if is_staff(ctx.user()) {
            items.push(("file", "nav-queue"));
            items.push(("editer", "nav-edit"));
        }
        items
            .into_iter()
            .map(|(vue, label)| NavLink {
                url: maximized(vue),
                label: ctx.t(&MESSAGES, label),
                current: vue == current,
            })
            .collect()
    }

    /// What one incident looks like to the reader.
    async fn shown(
        &self,
        ctx: &PortletContext,
        i: Incident,
    ) -> Result<ShownIncident, PortletError> {
        let assignee_name = if i.assignee.is_empty() {
            String::new()
        } else {
            ctx.directory()
                .person(&i.assignee)
                .await?
                .map_or_else(|| i.assignee.clone(), |p| p.display_name)
        };
        let url = ctx
            .urls()
            .render()
            .state(WindowState::Maximized)
            .param("vue", "incident")
            .param("id", i.id)
            .to_string();
        Ok(ShownIncident {
            id: i.id,
            description_lines: i.description.lines().map(str::to_string).collect(),
            answer_lines: i.answer.lines().map(str::to_string).collect(),
            created_iso: iso_utc(i.created_at),
            updated_iso: iso_utc(i.updated_at),
            page_link: portal_path(&i.page).map(str::to_string),
            status_label: status_label(ctx.locale(), &i.status),
            subject: i.subject,
            reporter_name: i.reporter_name,
            created_at: i.created_at,
            updated_at: i.updated_at,
            page: i.page,
            service: i.service,
            status: i.status,
            assignee: i.assignee,
            assignee_name,
            answer: i.answer,
            version: i.version,
            url,
        })
    }

    /// The help: the portal-wide text and the reader's tutorials.
    async fn render_help(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let portal = self.text(ctx, texts::PORTAL, String::new()).await?;
        let mut tutorials = Vec::new();
        for profile in &ctx.user().profiles {
            let topic = profile.as_str();
            if texts::TOPICS.contains(&topic) && topic != texts::PORTAL {
                tutorials.push(self.text(ctx, topic, ctx.profile_label(profile)).await?);
            }
        }
        let markup = self.templates.render_for(
            ctx,
            "view.html",
            context! {
                nav => Serde(self.nav(ctx, "")),
                portal => Serde(&portal),
                tutorials => Serde(&tutorials),
                report_url => ctx.urls().render().state(WindowState::Maximized).param("vue", "signaler").to_string(),
            },
        )?;
        Ok(markup.into())
    }

    /// One text for the reader: the établissement's, or the built-in one.
    async fn text(
        &self,
        ctx: &PortletContext,
        topic: &str,
        label: String,
    ) -> Result<ShownText, PortletError> {
        let stored = texts::for_reader(ctx.db()?, topic, ctx.locale()).await?;
        let defaults = DEFAULTS
            .iter()
            .find(|(t, _)| *t == topic)
            .map(|(_, ids)| ids.to_vec())
            .unwrap_or_default();
        Ok(match stored {
            Some(s) => ShownText {
                label,
                html: Some(markup_value(&Markup::trusted_html(texts::to_html(&s.body)))),
                lang: s.lang,
                defaults,
            },
            None => ShownText {
                label,
                html: None,
                lang: ctx.locale().to_string(),
                defaults,
            },
        })
    }

    /// The incident form.
    fn render_report(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        // From the portal's link, or from the form shown again.
        let page = ctx
            .form()
            .and_then(|f| f.value("page"))
            .or(ctx.param("page"))
            .and_then(portal_path)
            .unwrap_or("");
        let service = ctx
            .form()
            .and_then(|f| f.value("service"))
            .or(ctx.param("service"))
            .and_then(service_id)
            .unwrap_or("");
        let markup = self.templates.render_for(
            ctx,
            "report.html",
            context! {
                nav => Serde(self.nav(ctx, "signaler")),
                page,
                service,
                max_subject => MAX_SUBJECT_LEN,
                max_description => MAX_DESCRIPTION_LEN,
            },
        )?;
        Ok(RenderResponse::from(markup).title(ctx.t(&MESSAGES, "report-heading")))
    }

    /// The reader's own incidents.
    async fn render_mine(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let mut shown = Vec::new();
        for i in incidents::of_reporter(ctx.db()?, &ctx.user().id).await? {
            shown.push(self.shown(ctx, i).await?);
        }
        let filed: Option<i64> = ctx.param("depose").and_then(|id| id.parse().ok());
        let markup = self.templates.render_for(
            ctx,
            "mine.html",
            context! {
                nav => Serde(self.nav(ctx, "mes")),
                incidents => Serde(&shown),
                filed,
                export_url => ctx.urls().resource("export").to_string(),
            },
        )?;
        Ok(RenderResponse::from(markup).title(ctx.t(&MESSAGES, "mine-heading")))
    }

    /// The staff's queue.
    async fn render_queue(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if !is_staff(ctx.user()) {
            return Err(PortletError::Forbidden);
        }
        let db = ctx.db()?;
        let status = ctx.param("statut").filter(|s| STATUSES.contains(s));
        let counts = incidents::counts(db).await?;
        let count_of = |s: &str| {
            counts
                .iter()
                .find(|(status, _)| status == s)
                .map_or(0, |(_, n)| *n)
        };
        let urls = ctx.urls();
        let mut filters = vec![serde_json::json!({
            "url": urls.render().state(WindowState::Maximized).param("vue", "file").to_string(),
            "label": ctx.t(&MESSAGES, "queue-all"),
            "count": counts.iter().map(|(_, n)| n).sum::<i64>(),
            "current": status.is_none(),
        })];
        for s in STATUSES {
            filters.push(serde_json::json!({
                "url": urls.render().state(WindowState::Maximized).param("vue", "file").param("statut", s).to_string(),
                "label": status_label(ctx.locale(), s),
                "count": count_of(s),
                "current": status == Some(s),
            }));
        }
        let mut shown = Vec::new();
        for i in incidents::queue(db, status).await? {
            shown.push(self.shown(ctx, i).await?);
        }
        let markup = self.templates.render_for(
            ctx,
            "queue.html",
            context! {
                nav => Serde(self.nav(ctx, "file")),
                filters => Serde(&filters),
                incidents => Serde(&shown),
            },
        )?;
        Ok(RenderResponse::from(markup).title(ctx.t(&MESSAGES, "queue-heading")))
    }

    /// One incident, for its reporter or staff; anyone else is told it does not exist.
    async fn render_incident(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
        let id: i64 = ctx
            .param("id")
            .and_then(|id| id.trim().parse().ok())
            .ok_or_else(not_found)?;
        let staff = is_staff(ctx.user());
        let incident = incidents::get(ctx.db()?, id)
            .await?
            .filter(|i| staff || i.reporter == ctx.user().id)
            .ok_or_else(not_found)?;
        let title = ctx.t_args(
            &MESSAGES,
            "incident-title",
            &args! { "id" => incident.id, "subject" => incident.subject.clone() },
        );
        let shown = self.shown(ctx, incident).await?;
        let form_status = ctx.form_value("status", &shown.status).to_string();
        let form_assignee = ctx.form_value("assignee", &shown.assignee).to_string();
        let form_answer = ctx.form_value("answer", &shown.answer).to_string();
        let statuses: Vec<serde_json::Value> = STATUSES
            .iter()
            .map(|s| serde_json::json!({ "value": s, "label": status_label(ctx.locale(), s) }))
            .collect();
        let saved = match ctx.param("fait") {
            Some("1") => Some("handle-saved"),
            Some("0") => Some("handle-unchanged"),
            _ => None,
        };
        let markup = self.templates.render_for(
            ctx,
            "incident.html",
            context! {
                nav => Serde(self.nav(ctx, if staff { "file" } else { "mes" })),
                i => Serde(&shown),
                staff,
                statuses => Serde(&statuses),
                form_status,
                form_assignee,
                form_answer,
                saved,
                max_answer => MAX_DESCRIPTION_LEN,
            },
        )?;
        Ok(RenderResponse::from(markup).title(title))
    }

    /// The staff's editor of the help texts: the list, or one text.
    async fn render_edit(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if !is_staff(ctx.user()) {
            return Err(PortletError::Forbidden);
        }
        let db = ctx.db()?;
        let urls = ctx.urls();
        let edit_url = |topic: &str, lang: &str| {
            urls.render()
                .state(WindowState::Maximized)
                .param("vue", "editer")
                .param("sujet", topic)
                .param("langue", lang)
                .to_string()
        };
        let chosen = match (ctx.param("sujet"), ctx.param("langue")) {
            (Some(topic), Some(lang)) => {
                let topic = texts::TOPICS
                    .iter()
                    .find(|t| **t == topic)
                    .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-topic")))?;
                let lang = texts::LANGS
                    .iter()
                    .find(|l| **l == lang)
                    .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-lang")))?;
                let stored = texts::get(db, topic, lang).await?;
                let body = ctx
                    .form()
                    .and_then(|f| f.value("body"))
                    .map(str::to_string)
                    .or_else(|| stored.as_ref().map(|s| s.body.clone()))
                    .unwrap_or_default();
                Some(serde_json::json!({
                    "topic": topic,
                    "lang": lang,
                    "topic_label": topic_label(ctx, topic),
                    "lang_label": ctx.t(&MESSAGES, &format!("lang-{lang}")),
                    "version": stored.map_or(0, |s| s.version),
                    "body": body,
                }))
            }
            _ => None,
        };
        let mut list = Vec::new();
        if chosen.is_none() {
            for topic in texts::TOPICS {
                for lang in texts::LANGS {
                    list.push(serde_json::json!({
                        "url": edit_url(topic, lang),
                        "topic_label": topic_label(ctx, topic),
                        "lang_label": ctx.t(&MESSAGES, &format!("lang-{lang}")),
                        "custom": texts::get(db, topic, lang).await?.is_some(),
                    }));
                }
            }
        }
        let markup = self.templates.render_for(
            ctx,
            "edit.html",
            context! {
                nav => Serde(self.nav(ctx, "editer")),
                editing => Serde(&chosen),
                texts => Serde(&list),
                saved => ctx.param("enregistre") == Some("1"),
                max_text => texts::MAX_TEXT_LEN,
                list_url => urls.render().state(WindowState::Maximized).param("vue", "editer").to_string(),
            },
        )?;
        // The list and each text have titles of their own.
        let title = match &chosen {
            Some(c) => format!(
                "{} – {}",
                ctx.t_args(
                    &MESSAGES,
                    "edit-form-heading",
                    &args! {
                        "topic" => c["topic_label"].as_str().unwrap_or_default().to_string(),
                        "lang" => c["lang_label"].as_str().unwrap_or_default().to_string()
                    },
                ),
                ctx.t(&MESSAGES, "edit-heading")
            ),
            None => ctx.t(&MESSAGES, "edit-heading"),
        };
        Ok(RenderResponse::from(markup).title(title))
    }
}

/// A topic's name in the reader's language.
fn topic_label(ctx: &PortletContext, topic: &str) -> String {
    if topic == texts::PORTAL {
        return ctx.t(&MESSAGES, "topic-portail");
    }
    let label = Profile::from_directory_value(topic)
        .map_or_else(|| topic.to_string(), |p| ctx.profile_label(&p));
    ctx.t_args(&MESSAGES, "tutorial-heading", &args! { "profile" => label })
}

/// One line in French then in English, for a notification (its title is stored once,
/// whoever reads it).
fn both_languages(id: &str, args: &cartable_portlet::i18n::FluentArgs<'_>) -> String {
    format!(
        "{} / {}",
        MESSAGES.get_args("fr", id, args),
        MESSAGES.get_args("en", id, args)
    )
}

impl Aide {
    /// `op=signaler`: file an incident, tell staff, show it among hers.
    async fn report(
        &self,
        ctx: &mut PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let mut form = InvalidForm::new(request);
        let mut checked = |field: &str, max: usize, multiline: bool| match checked_text(
            ctx,
            request.field(field).unwrap_or(""),
            max,
            multiline,
        ) {
            Ok(text) => Ok(text),
            Err(PortletError::BadRequest(message)) => {
                form.field(field, message);
                Ok(String::new())
            }
            Err(e) => Err(e),
        };
        let subject = checked("subject", MAX_SUBJECT_LEN, false)?;
        let description = checked("description", MAX_DESCRIPTION_LEN, true)?;
        form.clone().check()?;
        let page = request.field("page").and_then(portal_path).unwrap_or("");
        let service = request.field("service").and_then(service_id).unwrap_or("");
        let user = ctx.user().clone();
        let at = DateTime::<chrono::Utc>::from(ctx.clock().now()).timestamp();
        let filed = incidents::file(
            ctx.db()?,
            &Report {
                reporter: &user.id,
                reporter_name: &user.display_name,
                subject: &subject,
                description: &description,
                page,
                service,
                at,
            },
        )
        .await?;
        let Some(id) = filed else {
            form.general(ctx.t_args(
                &MESSAGES,
                "error-too-many",
                &args! { "max" => MAX_OPEN_PER_REPORTER },
            ));
            return Err(PortletError::Invalid(Box::new(form)));
        };
        let link = ctx
            .urls()
            .render()
            .state(WindowState::Maximized)
            .param("vue", "incident")
            .param("id", id)
            .to_string();
        ctx.notifier()
            .publish(Notification {
                source: PORTLET.into(),
                title: both_languages(
                    "notify-new",
                    &args! { "id" => id, "subject" => subject.clone() },
                ),
                link: Some(link),
                audience: Audience::Profiles(vec![Profile::Personnel, Profile::Admin]),
                at: ctx.clock().now(),
            })
            .await?;
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("vue", "mes")
            .param("depose", id))
    }

    /// `op=traiter` (staff): set the status, assignee and answer of an incident; tell the
    /// reporter (and a new assignee).
    async fn handle(
        &self,
        ctx: &mut PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        if !is_staff(ctx.user()) {
            return Err(PortletError::Forbidden);
        }
        let bad_id = || PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id"));
        let id: i64 = request
            .required("id")?
            .trim()
            .parse()
            .map_err(|_| bad_id())?;
        let version: i64 = request
            .required("version")?
            .trim()
            .parse()
            .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-version")))?;
        let db = ctx.db()?.clone();
        let Some(before) = incidents::get(&db, id).await? else {
            return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
        };
        let mut form = InvalidForm::new(request);
        let status = request.required("status")?;
        if !STATUSES.contains(&status) {
            form.field("status", ctx.t(&MESSAGES, "error-status"));
        }
        let assignee = request.field("assignee").unwrap_or("").trim().to_string();
        if !assignee.is_empty() {
            let staff = ctx
                .directory()
                .person(&assignee)
                .await?
                .is_some_and(|p| is_staff(&p));
            if !staff {
                form.field(
                    "assignee",
                    ctx.t_args(
                        &MESSAGES,
                        "error-assignee",
                        &args! { "login" => assignee.clone() },
                    ),
                );
            }
        }
        let answer = match request.field("answer").unwrap_or("").trim() {
            "" => String::new(),
            typed => match checked_text(ctx, typed, MAX_DESCRIPTION_LEN, true) {
                Ok(text) => text,
                Err(PortletError::BadRequest(message)) => {
                    form.field("answer", message);
                    String::new()
                }
                Err(e) => return Err(e),
            },
        };
        form.check()?;
        let back = ActionResponse::default()
            .state(WindowState::Maximized)
            .param("vue", "incident")
            .param("id", id);
        if before.status == status && before.assignee == assignee && before.answer == answer {
            return Ok(back.param("fait", "0"));
        }
        let by = ctx.user().id.clone();
        let at = DateTime::<chrono::Utc>::from(ctx.clock().now()).timestamp();
        incidents::handle(
            &db,
            id,
            version,
            &Handling {
                status,
                assignee: &assignee,
                answer: &answer,
                by: &by,
                at,
            },
        )
        .await?;
        self.notify_change(ctx, &before, status, &assignee, &answer)
            .await?;
        Ok(back.param("fait", "1"))
    }

    /// Tell the reporter what changed on her incident, and a new assignee that it is hers.
    async fn notify_change(
        &self,
        ctx: &PortletContext,
        before: &Incident,
        status: &str,
        assignee: &str,
        answer: &str,
    ) -> Result<(), PortletError> {
        let urls = ctx.urls();
        let link = urls
            .render()
            .state(WindowState::Maximized)
            .param("vue", "incident")
            .param("id", before.id)
            .to_string();
        let title = |id: &str| {
            format!(
                "{} / {}",
                MESSAGES.get_args(
                    "fr",
                    id,
                    &args! { "id" => before.id, "subject" => before.subject.clone(), "status" => status_label("fr", status) }
                ),
                MESSAGES.get_args(
                    "en",
                    id,
                    &args! { "id" => before.id, "subject" => before.subject.clone(), "status" => status_label("en", status) }
                ),
            )
        };
        let answered = answer != before.answer && !answer.is_empty();
        let reporter_title = title(if answered {
            "notify-answered"
        } else {
            "notify-reporter"
        });
        let now = ctx.clock().now();
        ctx.notifier()
            .publish(Notification {
                source: PORTLET.into(),
                title: reporter_title,
                link: Some(link.clone()),
                audience: Audience::Users(vec![before.reporter.clone()]),
                at: now,
            })
            .await?;
        if !assignee.is_empty() && assignee != before.assignee && assignee != ctx.user().id {
            ctx.notifier()
                .publish(Notification {
                    source: PORTLET.into(),
                    title: title("notify-assigned"),
                    link: Some(link),
                    audience: Audience::Users(vec![assignee.to_string()]),
                    at: now,
                })
                .await?;
        }
        Ok(())
    }

    /// `op=texte` (staff): save one help text, or delete it when emptied.
    async fn save_text(
        &self,
        ctx: &mut PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        if !is_staff(ctx.user()) {
            return Err(PortletError::Forbidden);
        }
        let topic = request.required("topic")?;
        let topic = texts::TOPICS
            .iter()
            .find(|t| **t == topic)
            .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-topic")))?;
        let lang = request.required("lang")?;
        let lang = texts::LANGS
            .iter()
            .find(|l| **l == lang)
            .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-lang")))?;
        let version: i64 = request
            .required("version")?
            .trim()
            .parse()
            .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-version")))?;
        let mut form = InvalidForm::new(request);
        let body = match request.field("body").unwrap_or("").trim() {
            "" => String::new(),
            typed => match checked_text(ctx, typed, texts::MAX_TEXT_LEN, true) {
                Ok(text) => text,
                Err(PortletError::BadRequest(message)) => {
                    form.field("body", message);
                    String::new()
                }
                Err(e) => return Err(e),
            },
        };
        form.check()?;
        let by = ctx.user().id.clone();
        let at = DateTime::<chrono::Utc>::from(ctx.clock().now()).timestamp();
        texts::save(ctx.db()?, topic, lang, &body, &by, at, version).await?;
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("vue", "editer")
            .param("enregistre", "1"))
    }
}

#[async_trait]
impl Portlet for Aide {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(ServiceSchema::new(SERVICE).sql(migration!("0001_aide")))
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Help => return Ok(self.templates.render_for(ctx, "help.html", ())?.into()),
            Mode::Edit => {
                return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-view")));
            }
            Mode::View => {}
        }
        match ctx.param("vue").unwrap_or("") {
            "" => self.render_help(ctx).await,
            "signaler" => self.render_report(ctx),
            "mes" => self.render_mine(ctx).await,
            "file" => self.render_queue(ctx).await,
            "incident" => self.render_incident(ctx).await,
            "editer" => self.render_edit(ctx).await,
            _ => Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-view"))),
        }
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        match request.required("op")? {
            "signaler" => self.report(ctx, &request).await,
            "traiter" => self.handle(ctx, &request).await,
            "texte" => self.save_text(ctx, &request).await,
            other => Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
        }
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        if request.id != "export" {
            return Err(PortletError::NotFound(format!(
                "no resource {:?}",
                request.id
            )));
        }
        // Her own incidents only, whoever she is.
        let mine = incidents::of_reporter(ctx.db()?, &ctx.user().id).await?;
        let bytes = portable::document(&mine).map_err(|e| PortletError::Internal(e.to_string()))?;
        Ok(ResourceResponse::bytes("application/json", bytes).attachment(portable::FILE))
    }
}

#[cfg(test)]
mod tests;
