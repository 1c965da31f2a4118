//! Administration: the status of every portlet and its maintenance, passwords and the
//! accounts past their end date. Every route needs an administrator ([`Admin`]).
//!
//! | URL | what |
//! |---|---|
//! | `GET /admin` | portlet status, accounts ending |
//! | `POST /admin/maintenance` | put a portlet in maintenance (with a message) or out |
//! | `POST /admin/password` | regenerate a user's password, shown once |
//! | `POST /admin/purge` | delete what the ENT keeps of an account past its grace period |
//! | `POST /admin/jobs/retry` | put a failed background job back in the queue |
//! | `POST /admin/jobs/discard` | delete a failed background job |
//! | `POST /admin/recherche/reconstruire` | rebuild the search index from the services' data (a job) |

use axum::Router;
use cartable_socle::{AccountStatus, PersonQuery, SocleError};
use http::StatusCode;
use minijinja::Value;

use super::shared::{
    self, Admin, Cx, Fail, Form, Handled, Here, Query, St, chrome, render_template,
};
use crate::health::Availability;
use crate::http::redirect;
use crate::i18n::Lang;
use crate::state::State;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(&format!("{base}/admin"), shared::get(st, admin))
        .route(
            &format!("{base}/admin/maintenance"),
            shared::post(st, maintenance),
        )
        .route(
            &format!("{base}/admin/password"),
            shared::post(st, reset_password),
        )
        .route(&format!("{base}/admin/purge"), shared::post(st, purge))
        .route(
            &format!("{base}/admin/jobs/retry"),
            shared::post(st, retry_job),
        )
        .route(
            &format!("{base}/admin/jobs/discard"),
            shared::post(st, discard_job),
        )
        .route(
            &format!("{base}/admin/recherche/reconstruire"),
            shared::post(st, rebuild_search),
        )
}

/// `POST /admin/recherche/reconstruire`: a job rebuilds the search index.
async fn rebuild_search(cx: Cx, Admin(user): Admin) -> Handled {
    let state = &cx.st;
    cartable_search::enqueue_rebuild(&state.jobs, None).await?;
    tracing::info!(admin = %user.id, "search index rebuild requested");
    Ok(redirect(&format!("{}/admin?reindex=1#search", state.base)))
}

/// How many failed jobs the admin page lists (the newest).
const FAILED_JOBS_SHOWN: u32 = 50;

/// The job queue's counts and its failed jobs, for the admin page.
async fn jobs_section(state: &State, lang: Lang) -> Result<Value, Fail> {
    let counts = state.jobs.counts().await?;
    let dates = cartable_portlet::time::Dates::new(lang.tag(), state.config.time_zone);
    let failed: Vec<Value> = state
        .jobs
        .failed(FAILED_JOBS_SHOWN)
        .await?
        .into_iter()
        .map(|job| {
            let when = job
                .failed_at()
                .map(|t| dates.system_time(t, cartable_portlet::time::DateStyle::ShortWithTime));
            Value::from_pairs([
                ("id", Value::from(job.id.as_str())),
                ("kind", Value::from(job.kind)),
                ("attempts", Value::from(job.attempts)),
                ("error", Value::from(job.last_error.unwrap_or_default())),
                ("when", Value::from(when.unwrap_or_default())),
            ])
        })
        .collect();
    Ok(Value::from_pairs([
        ("ready", Value::from(counts.ready)),
        ("running", Value::from(counts.running)),
        ("failed_count", Value::from(counts.failed)),
        ("failed", Value::from(failed)),
    ]))
}

/// `POST /admin/jobs/retry`: the failed job `id` runs again (its attempts start over).
async fn retry_job(cx: Cx, Admin(user): Admin, form: Form) -> Handled {
    let state = &cx.st;
    let id = cartable_socle::JobId::new(form.field("id"));
    if !state.jobs.retry(&id).await? {
        return Err(Fail::NotFound);
    }
    tracing::info!(admin = %user.id, job = %id, "failed job put back in the queue");
    Ok(redirect(&format!("{}/admin?done=1#jobs", state.base)))
}

/// `POST /admin/jobs/discard`: the failed job `id` is deleted.
async fn discard_job(cx: Cx, Admin(user): Admin, form: Form) -> Handled {
    let state = &cx.st;
    let id = cartable_socle::JobId::new(form.field("id"));
    if !state.jobs.discard(&id).await? {
        return Err(Fail::NotFound);
    }
    tracing::info!(admin = %user.id, job = %id, "failed job discarded");
    Ok(redirect(&format!("{}/admin?done=1#jobs", state.base)))
}

/// `GET /admin` (`done` in the query: a change was saved).
async fn admin(cx: Cx, Admin(_): Admin, Query(query): Query, Here(here): Here) -> Handled {
    admin_page(&cx, &query, &here, None).await
}

/// The admin page, with the password just regenerated if any.
async fn admin_page(
    cx: &Cx,
    query: &cartable_portlet::Params,
    here: &str,
    new_password: Option<(&str, &str)>,
) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let maintenance = state.container.health().maintenance();
    let portlets: Vec<Value> = state
        .order
        .iter()
        .filter_map(|id| state.portlets.get(id))
        .map(|p| {
            let d = p.descriptor();
            let status = match state.container.health().availability(&d.id) {
                Availability::Available => lang.t("status_ok"),
                Availability::Quarantined => lang.t("status_quarantined"),
                _ => lang.t("status_maintenance"),
            };
            Value::from_pairs([
                ("id", Value::from(d.id.as_str())),
                ("title", Value::from(d.title.get(lang.tag()))),
                ("status", Value::from(status)),
                ("maintenance", Value::from(maintenance.get(&d.id).cloned())),
            ])
        })
        .collect();
    let heading = lang.t("admin");
    let mut ctx = chrome(state, caller, heading, here);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("portlets", Value::from(portlets));
    if query.contains_key("done") {
        ctx.insert("notice", Value::from(lang.t("saved")));
    }
    if query.contains_key("reindex") {
        ctx.insert("notice", Value::from(lang.t("search_rebuild_queued")));
    }
    if let Some((uid, password)) = new_password {
        ctx.insert(
            "new_password",
            Value::from_pairs([("uid", uid), ("password", password)]),
        );
    }
    ctx.insert(
        "can_set_password",
        Value::from(state.services.directory.can_set_passwords()),
    );
    ctx.insert("accounts", Value::from(ending_accounts(state, lang).await?));
    ctx.insert("jobs", jobs_section(state, lang).await?);
    render_template(state, "admin.html", StatusCode::OK, ctx)
}

/// `POST /admin/maintenance`: `portlet` in maintenance with `message`, or out of it
/// with an empty one.
async fn maintenance(cx: Cx, Admin(_): Admin, form: Form) -> Handled {
    let state = &cx.st;
    let portlet = form.field("portlet");
    if !state.portlets.contains_key(portlet) {
        return Err(Fail::NotFound);
    }
    let message = form.field("message").trim();
    if message.chars().count() > 300 || message.chars().any(char::is_control) {
        return Err(Fail::BadRequest(
            "the maintenance message must be one line of at most 300 characters".into(),
        ));
    }
    let message = (!message.is_empty()).then(|| message.to_string());
    state.set_maintenance(portlet, message).await?;
    Ok(redirect(&format!("{}/admin?done=1", state.base)))
}

/// `POST /admin/password`: regenerate a user's password and show it once.
async fn reset_password(
    cx: Cx,
    Admin(user): Admin,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    let state = &cx.st;
    let uid = form.field("uid").trim();
    if state.services.directory.person(uid).await?.is_none() {
        return Err(Fail::NotFound);
    }
    let password = state.config.password.generate();
    state
        .services
        .directory
        .set_password(uid, &password)
        .await?;
    // Whoever knew the old password may hold a session: every one ends, on every node.
    state.sessions.delete_sessions_of(uid).await?;
    // And her sync clients: she makes new application passwords with the new password.
    state.app_passwords.revoke_all(uid).await?;
    tracing::info!(admin = %user.id, user = %uid, "password regenerated; her sessions and application passwords ended");
    admin_page(&cx, &query, &here, Some((uid, &password))).await
}

/// Accounts past their end date, for the admin page.
async fn ending_accounts(state: &State, lang: Lang) -> Result<Vec<Value>, Fail> {
    let people = state
        .services
        .directory
        .search(&PersonQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .map_err(|e: SocleError| Fail::Unavailable(e))?;
    let now = state.clock.now();
    Ok(people
        .iter()
        .filter_map(|p| {
            let (status, due) = match state.lifecycle.status(p, now) {
                AccountStatus::Active => return None,
                AccountStatus::Deactivated => (lang.t("status_deactivated"), false),
                AccountStatus::DueForDeletion => (lang.t("status_delete"), true),
            };
            Some(Value::from_pairs([
                ("uid", Value::from(p.id.as_str())),
                ("name", Value::from(p.display_name.as_str())),
                ("status", Value::from(status)),
                ("due", Value::from(due)),
            ]))
        })
        .collect())
}

/// `POST /admin/purge`: delete from the ENT's storage everything about an account past
/// its grace period (only then: an active or merely deactivated account is refused).
async fn purge(cx: Cx, Admin(user): Admin, form: Form) -> Handled {
    let state = &cx.st;
    let uid = form.field("uid").trim();
    let person = state
        .services
        .directory
        .person(uid)
        .await?
        .ok_or(Fail::NotFound)?;
    if state.lifecycle.status(&person, state.clock.now()) != AccountStatus::DueForDeletion {
        return Err(Fail::BadRequest(format!(
            "{uid} is not past its grace period; its data is kept"
        )));
    }
    state.services.storage.delete_user(&person.id).await?;
    state
        .publish(cartable_socle::Change::User {
            user: person.id.clone(),
        })
        .await;
    state.sessions.delete_sessions_of(&person.id).await?;
    state.app_passwords.revoke_all(&person.id).await?;
    tracing::info!(admin = %user.id, user = %person.id, "account data deleted");
    Ok(redirect(&format!("{}/admin?done=1", state.base)))
}
