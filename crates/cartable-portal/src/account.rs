//! "Mon compte": password change, delegations and groups for the user; password
//! regeneration and the list of ending accounts for administrators.

use std::sync::Arc;
use std::time::SystemTime;

use cartable_socle::{
    AccountStatus, AuthError, DelegationError, GroupError, Person, PersonQuery, Profile, Session,
    SocleError, format_generalized_time, parse_generalized_time,
};
use http::StatusCode;
use minijinja::Value;

use crate::http::{Request, redirect};
use crate::i18n::Lang;
use crate::routes::{Caller, Fail, Handled, chrome, cookie_for, render_template, with_cookie};
use crate::state::State;

/// The account page, with an optional notice or error.
pub(crate) async fn page(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
) -> Handled {
    render(state, caller, user, req, None, StatusCode::OK).await
}

async fn render(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
    error: Option<String>,
    status: StatusCode,
) -> Handled {
    let lang = caller.lang;
    let heading = lang.t("account");
    let mut ctx = chrome(state, caller, heading, &req.raw_path);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("error", Value::from(error));
    let notice = match req.query.get("done").map(String::as_str) {
        Some("password") => Some(lang.t("password_changed")),
        Some("delegation") => Some(lang.t("delegation_done")),
        Some(_) => Some(lang.t("saved")),
        None => None,
    };
    ctx.insert("notice", Value::from(notice));
    let policy = &state.config.password;
    ctx.insert(
        "can_set_password",
        Value::from(state.services.directory.can_set_passwords()),
    );
    ctx.insert(
        "password_rules",
        Value::from(
            lang.t("password_rules")
                .replace("{n}", &policy.min_length.to_string())
                .replace("{c}", &policy.min_classes.to_string()),
        ),
    );

    // Delegations: her own (directory) roles that the policy lets her delegate.
    let own = state.person(&user.id).await?.ok_or(Fail::Forbidden)?;
    let dp = state.delegations.policy();
    let delegable: Vec<Value> = own
        .profiles
        .iter()
        .filter(|p| dp.delegable.contains(p))
        .map(|p| {
            Value::from_pairs([
                ("id", Value::from(p.as_str())),
                ("label", Value::from(profile_label(p, lang))),
            ])
        })
        .collect();
    ctx.insert("delegable", Value::from(delegable));
    ctx.insert(
        "delegation_rules",
        Value::from(
            lang.t("delegation_rules")
                .replace("{n}", &dp.max_days.to_string()),
        ),
    );
    let deleg = |list: Vec<cartable_socle::Delegation>, given: bool| -> Vec<Value> {
        list.into_iter()
            .map(|d| {
                Value::from_pairs([
                    ("id", Value::from(d.id)),
                    ("profile", Value::from(profile_label(&d.profile, lang))),
                    ("other", Value::from(if given { d.to } else { d.from })),
                    ("ends", Value::from(date(d.ends))),
                ])
            })
            .collect()
    };
    let given = state
        .delegations
        .given_by(&user.id)
        .await
        .map_err(deleg_fail)?;
    let received = state
        .delegations
        .received_by(&user.id)
        .await
        .map_err(deleg_fail)?;
    ctx.insert("given", Value::from(deleg(given, true)));
    ctx.insert("received", Value::from(deleg(received, false)));

    // Groups.
    let groups: Vec<Value> = state
        .groups
        .groups_of(&user.id)
        .await
        .map_err(group_fail)?
        .into_iter()
        .map(|g| {
            Value::from_pairs([
                ("id", Value::from(g.id.as_str())),
                ("name", Value::from(g.name.as_str())),
                ("members", Value::from(g.members.join(", "))),
                ("ends", Value::from(date(g.ends))),
                ("mine", Value::from(g.owner == user.id)),
            ])
        })
        .collect();
    ctx.insert("groups", Value::from(groups));
    ctx.insert(
        "can_create_group",
        Value::from(state.groups.allowance(user).is_some()),
    );
    render_template(state, "account.html", status, ctx)
}

fn profile_label(p: &Profile, lang: Lang) -> &str {
    if lang == Lang::En {
        p.label_en()
    } else {
        p.label_fr()
    }
}

/// `YYYY-MM-DD` of a time (UTC).
fn date(t: SystemTime) -> String {
    let g = format_generalized_time(t);
    format!("{}-{}-{}", &g[0..4], &g[4..6], &g[6..8])
}

/// The end of the day a `YYYY-MM-DD` form field names (UTC).
fn parse_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let bytes = s.as_bytes();
    if s.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    parse_generalized_time(&format!("{}{}{}235959Z", &s[0..4], &s[5..7], &s[8..10]))
}

fn field<'a>(req: &'a Request, name: &str) -> &'a str {
    req.form.get(name).map_or("", String::as_str)
}

fn deleg_fail(e: DelegationError) -> Fail {
    match e {
        DelegationError::Socle(s) => Fail::Unavailable(s),
        DelegationError::NotOwner => Fail::Forbidden,
        other => Fail::BadRequest(other.to_string()),
    }
}

fn group_fail(e: GroupError) -> Fail {
    match e {
        GroupError::Socle(s) => Fail::Unavailable(s),
        GroupError::NotOwner => Fail::Forbidden,
        GroupError::NotFound => Fail::NotFound,
        other => Fail::BadRequest(other.to_string()),
    }
}

/// `POST /compte/password`: check the old password, the policy, then change it.
pub(crate) async fn change_password(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
) -> Handled {
    let lang = caller.lang;
    let directory = &state.services.directory;
    if !directory.can_set_passwords() {
        return Err(Fail::BadRequest(lang.t("password_readonly").into()));
    }
    let (old, new, confirm) = (field(req, "old"), field(req, "new"), field(req, "confirm"));
    let again = |msg: String| render(state, caller, user, req, Some(msg), StatusCode::BAD_REQUEST);
    if new != confirm {
        return again(lang.t("password_mismatch").into()).await;
    }
    if let Err(rejected) = state.config.password.check(&user.id, new) {
        return again(format!(
            "{} : {}",
            lang.t("password_refused"),
            rejected.0.join(" ; ")
        ))
        .await;
    }
    if state.throttle.blocked(&user.id, req.peer).is_some() {
        return again(lang.t("throttled").into()).await;
    }
    match directory.authenticate(&user.id, old).await {
        Ok(_) => {}
        Err(AuthError::Backend(e)) => return Err(Fail::Unavailable(e)),
        Err(_) => {
            state.throttle.failure(&user.id, req.peer);
            return again(lang.t("password_wrong_old").into()).await;
        }
    }
    directory.set_password(&user.id, new).await?;
    tracing::info!(user = %user.id, "password changed");
    // Whoever else holds one of her sessions (a lost phone, a stolen cookie) is out, on
    // every node; she continues here under a fresh session id.
    let uid = caller
        .session
        .as_ref()
        .and_then(|s| s.user.clone())
        .unwrap_or_else(|| user.id.clone());
    state.sessions.delete_sessions_of(&uid).await?;
    let session = Session::new(Some(uid), lang.tag(), state.session_ttl);
    state.sessions.save_session(&session).await?;
    Ok(with_cookie(
        redirect(&format!("{}/compte?done=password", state.base)),
        cookie_for(state, &session),
    ))
}

/// `POST /compte/delegation`: `op=delegate` (to, profile, ends) or `op=revoke` (id).
pub(crate) async fn delegation(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
) -> Handled {
    let lang = caller.lang;
    match field(req, "op") {
        "delegate" => {
            let own = state.person(&user.id).await?.ok_or(Fail::Forbidden)?;
            let to = field(req, "to").trim();
            if state.services.directory.person(to).await?.is_none() {
                return render(
                    state,
                    caller,
                    user,
                    req,
                    Some(format!("{} {to}", lang.t("group_unknown_members"))),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
            let profile: Profile = field(req, "profile")
                .parse()
                .map_err(|e| Fail::BadRequest(format!("{e}")))?;
            let ends = parse_date(field(req, "ends"))
                .ok_or_else(|| Fail::BadRequest(lang.t("bad_date").into()))?;
            match state.delegations.delegate(&own, to, profile, ends).await {
                Ok(d) => {
                    tracing::info!(from = %d.from, to = %d.to, profile = %d.profile, "delegation");
                    state
                        .publish(cartable_socle::Change::User { user: d.to.clone() })
                        .await;
                    Ok(redirect(&format!("{}/compte?done=delegation", state.base)))
                }
                Err(DelegationError::Socle(e)) => Err(Fail::Unavailable(e)),
                Err(e) => {
                    render(
                        state,
                        caller,
                        user,
                        req,
                        Some(e.to_string()),
                        StatusCode::BAD_REQUEST,
                    )
                    .await
                }
            }
        }
        "revoke" => {
            state
                .delegations
                .revoke(user, field(req, "id"))
                .await
                .map_err(deleg_fail)?;
            if let Some(to) = cartable_socle::Delegations::receiver_of(field(req, "id")) {
                state
                    .publish(cartable_socle::Change::User { user: to })
                    .await;
            }
            Ok(redirect(&format!("{}/compte?done=1", state.base)))
        }
        other => Err(Fail::BadRequest(format!("unknown operation {other:?}"))),
    }
}

/// Split a member list and check every login exists.
async fn members(
    state: &State,
    lang: Lang,
    raw: &str,
) -> Result<Result<Vec<String>, String>, Fail> {
    let ids: Vec<String> = raw
        .split([',', ' ', '\n', '\r', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.len() > state.groups.policy().max_members {
        return Ok(Err(format!(
            "{} > {}",
            ids.len(),
            state.groups.policy().max_members
        )));
    }
    let mut unknown = Vec::new();
    for id in &ids {
        if state.services.directory.person(id).await?.is_none() {
            unknown.push(id.clone());
        }
    }
    Ok(if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(format!(
            "{} {}",
            lang.t("group_unknown_members"),
            unknown.join(", ")
        ))
    })
}

/// `POST /compte/groups`: `op=create` (name, members, ends), `members` (id, members),
/// `delete` (id).
pub(crate) async fn groups(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
) -> Handled {
    let lang = caller.lang;
    let again = |msg: String| render(state, caller, user, req, Some(msg), StatusCode::BAD_REQUEST);
    let result = match field(req, "op") {
        "create" => {
            let list = match members(state, lang, field(req, "members")).await? {
                Ok(l) => l,
                Err(msg) => return again(msg).await,
            };
            let Some(ends) = parse_date(field(req, "ends")) else {
                return again(lang.t("bad_date").into()).await;
            };
            state
                .groups
                .create(user, field(req, "name"), list, ends)
                .await
                .map(|_| ())
        }
        "members" => {
            let list = match members(state, lang, field(req, "members")).await? {
                Ok(l) => l,
                Err(msg) => return again(msg).await,
            };
            state
                .groups
                .set_members(user, field(req, "id"), list)
                .await
                .map(|_| ())
        }
        "delete" => state.groups.delete(user, field(req, "id")).await,
        other => return Err(Fail::BadRequest(format!("unknown operation {other:?}"))),
    };
    match result {
        Ok(()) => Ok(redirect(&format!("{}/compte?done=1", state.base))),
        Err(
            e @ (GroupError::Limit { .. }
            | GroupError::BadEndDate { .. }
            | GroupError::Invalid(_)
            | GroupError::NotAllowed),
        ) => again(e.to_string()).await,
        Err(e) => Err(group_fail(e)),
    }
}

/// `POST /admin/password`: regenerate a user's password and show it once.
pub(crate) async fn admin_reset_password(
    state: &Arc<State>,
    caller: &Caller,
    user: &Arc<Person>,
    req: &Request,
) -> Handled {
    let uid = field(req, "uid").trim();
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
    tracing::info!(admin = %user.id, user = %uid, "password regenerated; her sessions ended");
    crate::routes::admin_page(state, caller, user, req, Some((uid, &password))).await
}

/// Accounts past their end date, for the admin page.
pub(crate) async fn ending_accounts(state: &State, lang: Lang) -> Result<Vec<Value>, Fail> {
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
pub(crate) async fn admin_purge(state: &Arc<State>, user: &Arc<Person>, req: &Request) -> Handled {
    let uid = field(req, "uid").trim();
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
    tracing::info!(admin = %user.id, user = %person.id, "account data deleted");
    Ok(redirect(&format!("{}/admin?done=1", state.base)))
}
