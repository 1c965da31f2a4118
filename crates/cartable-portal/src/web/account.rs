//! "Mon compte": password change, delegations and groups.
//!
//! | URL | what |
//! |---|---|
//! | `GET /compte` | the account page |
//! | `POST /compte/password` | change one's password (ends one's other sessions) |
//! | `POST /compte/delegation` | delegate a role, or revoke a delegation |
//! | `POST /compte/groups` | create a group, change its members, delete it |
//! | `POST /compte/applications` | create an application password (shown once) or revoke one |
//! | `POST /compte/donnees/export` | "Mes données": build one's archive (a job) |
//! | `GET /compte/donnees/archive` | download one's archive once ready |
//! | `POST /compte/donnees/import` | import an archive (`multipart/form-data`) |
//! | `GET /donnees/cle` | the établissement's public key that signs archives (JSON) |

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use cartable_portlet::Params;
use cartable_socle::{
    AuthError, DelegationError, GroupError, Person, Profile, Session, format_generalized_time,
    parse_generalized_time,
};
use http::StatusCode;
use minijinja::Value;

use super::shared::{
    self, Cx, Fail, Form, Handled, Here, Peer, Query, St, User, chrome, cookie_for,
    render_template, with_cookie,
};
use crate::http::redirect;
use crate::i18n::Lang;
use crate::state::State;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(&format!("{base}/compte"), shared::get(st, page))
        .route(
            &format!("{base}/compte/password"),
            shared::post(st, change_password),
        )
        .route(
            &format!("{base}/compte/delegation"),
            shared::post(st, delegation),
        )
        .route(&format!("{base}/compte/groups"), shared::post(st, groups))
        .route(
            &format!("{base}/compte/applications"),
            shared::post(st, applications),
        )
        .route(
            &format!("{base}/compte/donnees/export"),
            shared::post(st, export_data),
        )
        .route(
            &format!("{base}/compte/donnees/archive"),
            shared::get(st, download_archive),
        )
        .route(
            &format!("{base}/compte/donnees/import"),
            shared::post(st, import_data),
        )
        .route(&format!("{base}/donnees/cle"), shared::get(st, public_key))
}

/// What the account page is rendered for: the request's query (`done`) and path.
struct Asked {
    query: Params,
    here: String,
    /// An application password just made (label, password): shown this once.
    fresh: Option<(String, String)>,
}

/// `GET /compte` (`done` in the query: what was just changed).
async fn page(cx: Cx, User(user): User, Query(query): Query, Here(here): Here) -> Handled {
    render(
        &cx,
        &user,
        &Asked {
            query,
            here,
            fresh: None,
        },
        None,
        StatusCode::OK,
    )
    .await
}

/// The account page, with an optional notice or error.
async fn render(
    cx: &Cx,
    user: &Arc<Person>,
    req: &Asked,
    error: Option<String>,
    status: StatusCode,
) -> Handled {
    render_with(cx, user, req, error, status, None).await
}

/// The account page, with the report of an import of "Mes données".
async fn render_with(
    cx: &Cx,
    user: &Arc<Person>,
    req: &Asked,
    error: Option<String>,
    status: StatusCode,
    report: Option<Value>,
) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let heading = lang.t("account");
    let mut ctx = chrome(state, caller, heading, &req.here);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("error", Value::from(error));
    let notice = match req.query.get("done").map(String::as_str) {
        Some("password") => Some(lang.t("password_changed")),
        Some("delegation") => Some(lang.t("delegation_done")),
        Some("export") => Some(lang.t("mydata_asked")),
        Some("application") => Some(lang.t("apppw_revoked")),
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
        Value::from(lang.t_args(
            "password_rules",
            &cartable_i18n::args! { "n" => policy.min_length, "c" => policy.min_classes },
        )),
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
        Value::from(lang.t_args(
            "delegation_rules",
            &cartable_i18n::args! { "n" => dp.max_days },
        )),
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
            let right = g.right_of(&user.id);
            let tools: Vec<&str> = g
                .tools
                .keys()
                .map(|id| {
                    state
                        .portlets
                        .get(id)
                        .and_then(|p| p.descriptor().group_tool.as_ref())
                        .map_or(id.as_str(), |t| t.name.get(lang.tag()))
                })
                .collect();
            Value::from_pairs([
                ("id", Value::from(g.id.as_str())),
                ("name", Value::from(g.name.as_str())),
                ("members", Value::from(g.members.join(", "))),
                ("ends", Value::from(date(g.ends))),
                ("mine", Value::from(g.owner == user.id)),
                ("right", Value::from(right.map(|r| right_label(r, lang)))),
                ("manage", Value::from(right.is_some_and(|r| r.can_manage()))),
                ("tools", Value::from(tools.join(", "))),
            ])
        })
        .collect();
    ctx.insert("groups", Value::from(groups));
    ctx.insert(
        "can_create_group",
        Value::from(state.groups.allowance(user).is_some()),
    );
    ctx.insert("mydata", mydata_status(state, user, lang).await?);

    // Application passwords (CalDAV, CardDAV): labels and dates, never the passwords.
    let apps: Vec<Value> = state
        .app_passwords
        .of(&user.id)
        .await?
        .into_iter()
        .map(|p| {
            Value::from_pairs([
                ("id", Value::from(p.id.as_str())),
                ("label", Value::from(p.label.as_str())),
                (
                    "created",
                    Value::from(date(cartable_socle::AppPasswords::created_at(&p))),
                ),
            ])
        })
        .collect();
    ctx.insert("app_passwords", Value::from(apps));
    ctx.insert(
        "new_app_password",
        Value::from(req.fresh.as_ref().map(|(label, secret)| {
            Value::from_pairs([
                ("label", Value::from(label.as_str())),
                ("secret", Value::from(secret.as_str())),
            ])
        })),
    );
    let dav_url = match &state.config.auth.public_url {
        Some(public) => {
            let mut u = public.clone();
            u.set_path(&format!("{}/dav/", state.base));
            u.to_string()
        }
        None => format!("{}/dav/", state.base),
    };
    ctx.insert("dav_url", Value::from(dav_url));
    ctx.insert("dav_login", Value::from(user.id.as_str()));
    ctx.insert("report", Value::from(report));
    render_template(state, "account.html", status, ctx)
}

// ---------------------------------------------------------------------------------------
// "Mes données" (issue 15): the archive of one's data, and its import.

/// Where the user's export is, for the template.
async fn mydata_status(state: &State, user: &Person, lang: Lang) -> Result<Value, Fail> {
    use crate::portability::ExportStatus;
    let status = state.portability.status(&state.jobs, &user.id).await?;
    let (name, size, until, error) = match status {
        ExportStatus::None => ("none", 0, String::new(), String::new()),
        ExportStatus::Queued => ("queued", 0, String::new(), String::new()),
        ExportStatus::Running => ("running", 0, String::new(), String::new()),
        ExportStatus::Retrying(e) => ("queued", 0, String::new(), e),
        ExportStatus::Ready { size, expires_at } => {
            let at = std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(u64::try_from(expires_at).unwrap_or(0));
            ("ready", size, date(at), String::new())
        }
        ExportStatus::Failed(e) => ("failed", 0, String::new(), e),
    };
    let _ = lang;
    Ok(Value::from_pairs([
        ("state", Value::from(name)),
        ("size", Value::from(human_size(size))),
        ("until", Value::from(until)),
        ("error", Value::from(error)),
    ]))
}

/// `12,3 Kio`-style sizes are language-dependent; bytes, KiB and MiB are enough here.
fn human_size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} o"),
        n if n < 1 << 20 => format!("{:.1} Kio", n as f64 / 1024.0),
        n => format!("{:.1} Mio", n as f64 / f64::from(1 << 20)),
    }
}

/// `POST /compte/donnees/export`: queue the archive (nothing new while one is on its way).
async fn export_data(cx: Cx, User(user): User) -> Handled {
    let state = &cx.st;
    state
        .portability
        .request(&state.jobs, &user.id, cx.caller.lang.tag())
        .await?;
    tracing::info!(user = %user.id, "export of one's data asked");
    Ok(redirect(&format!(
        "{}/compte?done=export#mes-donnees",
        state.base
    )))
}

/// `GET /compte/donnees/archive`: one's own archive, once ready.
async fn download_archive(cx: Cx, User(user): User, headers: http::HeaderMap) -> Handled {
    let state = &cx.st;
    let file = state
        .portability
        .archive(&user.id)
        .await?
        .ok_or(Fail::NotFound)?;
    let name = file.name.clone();
    Ok(crate::download::respond(state.portability.files(), file, Some(name), &headers).await)
}

/// `GET /donnees/cle`: the établissement's public key that signs export archives.
async fn public_key(cx: Cx) -> Handled {
    let p = &cx.st.portability;
    let body = serde_json::json!({
        "etablissement": p.etablissement(),
        "algorithm": "Ed25519",
        "public_key": p.signer().public_key,
        "fingerprint": p.signer().fingerprint,
    });
    let mut r = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// An archive refused, in the page's language, with the detail.
fn archive_refusal(lang: Lang, e: &crate::portability::ArchiveError) -> String {
    use crate::portability::ArchiveError as E;
    let (id, detail) = match e {
        E::BadSignature => ("mydata_bad_signature", String::new()),
        E::Tampered(path) | E::FileMissing(path) | E::Unlisted(path) | E::BadPath(path) => {
            ("mydata_tampered", path.clone())
        }
        E::TooLarge(max) => ("mydata_too_large", human_size(*max)),
        E::Untrusted {
            etablissement,
            fingerprint,
        } => (
            "mydata_untrusted",
            format!("{etablissement}, {fingerprint}"),
        ),
        _ => ("mydata_not_archive", e.to_string()),
    };
    if detail.is_empty() {
        lang.t(id).to_string()
    } else {
        format!("{} ({detail})", lang.t(id))
    }
}

/// `POST /compte/donnees/import` (`multipart/form-data`: the CSRF token, then the
/// archive): check the archive whole, then import every service's part in one
/// transaction, and show the report.
async fn import_data(
    cx: Cx,
    User(user): User,
    Query(query): Query,
    Here(here): Here,
    submitted: shared::Submitted,
) -> Handled {
    use std::io::{Seek, Write};
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let req = &Asked {
        query,
        here,
        fresh: None,
    };
    let lang = caller.lang;
    let again = |msg: String| render(&cx, user, req, Some(msg), StatusCode::BAD_REQUEST);
    let shared::Submitted::Multipart { headers, body } = submitted else {
        return again(lang.t("mydata_no_file").into()).await;
    };
    let limit = crate::portability::MAX_ARCHIVE;
    let (fields, reader) = match crate::upload::read_fields(
        &headers,
        body,
        limit + 64 * 1024,
        cartable_container::Progress::new(),
    )
    .await
    {
        Ok(read) => read,
        Err(crate::upload::MultipartError::TooLarge { .. }) => {
            return again(format!(
                "{} ({})",
                lang.t("mydata_too_large"),
                human_size(limit)
            ))
            .await;
        }
        Err(e) => return Err(Fail::BadRequest(e.to_string())),
    };
    let token = fields
        .get(crate::http::CSRF_FIELD)
        .map(String::as_str)
        .or(crate::http::header_text(&headers, crate::http::CSRF_HEADER));
    if !crate::security::csrf_matches(caller.csrf(), token) {
        tracing::info!("import refused: missing or wrong CSRF token before the archive");
        return Err(Fail::Forbidden);
    }
    let mut uploads = reader.into_uploads();
    let part = match uploads.next().await {
        Ok(Some(part)) => part,
        Ok(None) => return again(lang.t("mydata_no_file").into()).await,
        Err(e) => return again(e.to_string()).await,
    };
    // The archive is spooled to a temporary file: a ZIP is read from its end.
    let mut spool = tempfile::tempfile().map_err(|e| Fail::Internal(e.to_string()))?;
    let mut body = part.into_body();
    let mut received = 0u64;
    while let Some(chunk) = futures::StreamExt::next(&mut body).await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return again(e.to_string()).await,
        };
        received += chunk.len() as u64;
        if received > limit {
            return again(format!(
                "{} ({})",
                lang.t("mydata_too_large"),
                human_size(limit)
            ))
            .await;
        }
        spool
            .write_all(&chunk)
            .map_err(|e| Fail::Internal(e.to_string()))?;
    }
    spool
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| Fail::Internal(e.to_string()))?;
    let verified = match crate::portability::Portability::verify(spool) {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(user = %user.id, error = %e, "archive refused");
            return again(archive_refusal(lang, &e)).await;
        }
    };
    let manifest = verified.manifest.clone();
    let origin = match state.portability.admit(&manifest) {
        Ok(origin) => origin,
        Err(e) => {
            tracing::info!(user = %user.id, error = %e, "archive refused");
            return again(archive_refusal(lang, &e)).await;
        }
    };
    let outcome = match state
        .portability
        .import(user.clone(), lang.tag(), verified)
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(user = %user.id, error = %e, "import failed; nothing was kept");
            return again(format!("{} ({e})", lang.t("mydata_import_failed"))).await;
        }
    };
    let services: Vec<Value> = outcome
        .reports
        .into_iter()
        .map(|(service, report)| {
            let installed = report.is_some();
            let report = report.unwrap_or_default();
            let lines: Vec<Value> = report
                .lines
                .iter()
                .map(|l| {
                    let reason = match &l.outcome {
                        cartable_portlet::export::Outcome::Accepted => None,
                        cartable_portlet::export::Outcome::Refused(why) => Some(why.clone()),
                    };
                    Value::from_pairs([
                        ("file", Value::from(l.file.as_str())),
                        ("location", Value::from(l.location.as_str())),
                        ("item", Value::from(l.item.as_str())),
                        ("accepted", Value::from(reason.is_none())),
                        ("reason", Value::from(reason)),
                    ])
                })
                .collect();
            Value::from_pairs([
                ("service", Value::from(service)),
                ("installed", Value::from(installed)),
                ("accepted", Value::from(report.accepted())),
                ("refused", Value::from(report.refused())),
                ("lines", Value::from(lines)),
            ])
        })
        .collect();
    let signer = match origin {
        crate::portability::Origin::Own => lang.t("mydata_own_key").to_string(),
        crate::portability::Origin::Trusted(name) => {
            format!("{} {name}", lang.t("mydata_trusted_key"))
        }
        crate::portability::Origin::Unknown => lang.t("mydata_unknown_key").to_string(),
    };
    tracing::info!(user = %user.id, from = %manifest.etablissement, "archive imported");
    let report = Value::from_pairs([
        ("etablissement", Value::from(manifest.etablissement)),
        ("user", Value::from(manifest.user.display_name)),
        ("created", Value::from(manifest.created)),
        ("fingerprint", Value::from(manifest.signer.fingerprint)),
        ("signer", Value::from(signer)),
        ("services", Value::from(services)),
    ]);
    render_with(&cx, user, req, None, StatusCode::OK, Some(report)).await
}

fn right_label(r: cartable_socle::GroupRight, lang: Lang) -> &'static str {
    use cartable_socle::GroupRight as R;
    lang.t(match r {
        R::Reader => "grp_right_reader",
        R::Contributor => "grp_right_contributor",
        R::Manager => "grp_right_manager",
        R::Owner => "grp_right_owner",
    })
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
        GroupError::NotOwner | GroupError::NotManager => Fail::Forbidden,
        GroupError::NotFound => Fail::NotFound,
        other => Fail::BadRequest(other.to_string()),
    }
}

/// `POST /compte/password`: check the old password, the policy, then change it.
async fn change_password(
    cx: Cx,
    User(user): User,
    Peer(peer): Peer,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let req = &Asked {
        query,
        here,
        fresh: None,
    };
    let lang = caller.lang;
    let directory = &state.services.directory;
    if !directory.can_set_passwords() {
        return Err(Fail::BadRequest(lang.t("password_readonly").into()));
    }
    let (old, new, confirm) = (form.field("old"), form.field("new"), form.field("confirm"));
    let again = |msg: String| render(&cx, user, req, Some(msg), StatusCode::BAD_REQUEST);
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
    if state.throttle.blocked(&user.id, peer).is_some() {
        return again(lang.t("throttled").into()).await;
    }
    match directory.authenticate(&user.id, old).await {
        Ok(_) => {}
        Err(AuthError::Backend(e)) => return Err(Fail::Unavailable(e)),
        Err(_) => {
            state.throttle.failure(&user.id, peer);
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

/// `POST /compte/applications`: `op=create` with a `label` makes an application password
/// and shows it once (the page itself, not a redirect: it is not kept anywhere);
/// `op=revoke` with an `id` revokes one of hers.
async fn applications(
    cx: Cx,
    User(user): User,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    let state = &cx.st;
    match form.field("op") {
        "create" => match state
            .app_passwords
            .create(&user.id, form.field("label"))
            .await
        {
            Ok((p, secret)) => {
                tracing::info!(user = %user.id, id = %p.id, "application password created");
                let req = Asked {
                    query,
                    here,
                    fresh: Some((p.label, secret)),
                };
                let mut r = render(&cx, &user, &req, None, StatusCode::OK).await?;
                // The password is on this page only: no cache keeps it.
                r.headers_mut().insert(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                Ok(r)
            }
            Err(cartable_socle::AppPasswordError::Socle(e)) => Err(Fail::Unavailable(e)),
            Err(e) => {
                let req = Asked {
                    query,
                    here,
                    fresh: None,
                };
                render(
                    &cx,
                    &user,
                    &req,
                    Some(e.to_string()),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        },
        "revoke" => {
            if !state
                .app_passwords
                .revoke(&user.id, form.field("id"))
                .await?
            {
                return Err(Fail::NotFound);
            }
            tracing::info!(user = %user.id, "application password revoked");
            Ok(redirect(&format!(
                "{}/compte?done=application#applications",
                state.base
            )))
        }
        _ => Err(Fail::BadRequest("op is create or revoke".into())),
    }
}

/// `POST /compte/delegation`: `op=delegate` (to, profile, ends) or `op=revoke` (id).
async fn delegation(
    cx: Cx,
    User(user): User,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let req = &Asked {
        query,
        here,
        fresh: None,
    };
    let lang = caller.lang;
    match form.field("op") {
        "delegate" => {
            let own = state.person(&user.id).await?.ok_or(Fail::Forbidden)?;
            let to = form.field("to").trim();
            if state.services.directory.person(to).await?.is_none() {
                return render(
                    &cx,
                    user,
                    req,
                    Some(format!("{} {to}", lang.t("group_unknown_members"))),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
            let profile: Profile = form
                .field("profile")
                .parse()
                .map_err(|e| Fail::BadRequest(format!("{e}")))?;
            let ends = parse_date(form.field("ends"))
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
                    render(&cx, user, req, Some(e.to_string()), StatusCode::BAD_REQUEST).await
                }
            }
        }
        "revoke" => {
            state
                .delegations
                .revoke(user, form.field("id"))
                .await
                .map_err(deleg_fail)?;
            if let Some(to) = cartable_socle::Delegations::receiver_of(form.field("id")) {
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
    let most = state.groups.policy().largest_group();
    if ids.len() > most {
        return Ok(Err(format!("{} > {most}", ids.len())));
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
async fn groups(
    cx: Cx,
    User(user): User,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    let (state, caller, user) = (&cx.st, &*cx.caller, &user);
    let req = &Asked {
        query,
        here,
        fresh: None,
    };
    let lang = caller.lang;
    let again = |msg: String| render(&cx, user, req, Some(msg), StatusCode::BAD_REQUEST);
    let result = match form.field("op") {
        "create" => {
            let list = match members(state, lang, form.field("members")).await? {
                Ok(l) => l,
                Err(msg) => return again(msg).await,
            };
            let Some(ends) = parse_date(form.field("ends")) else {
                return again(lang.t("bad_date").into()).await;
            };
            match state
                .groups
                .create(user, form.field("name"), list, ends)
                .await
            {
                // On to its page, to choose its tools and members' rights.
                Ok(g) => {
                    tracing::info!(user = %user.id, group = %g.id, "group created");
                    let id: String = form_urlencoded::byte_serialize(g.id.as_bytes()).collect();
                    return Ok(redirect(&format!(
                        "{}/compte/groupes/{id}?done=created",
                        state.base
                    )));
                }
                Err(e) => Err(e),
            }
        }
        "members" => {
            let list = match members(state, lang, form.field("members")).await? {
                Ok(l) => l,
                Err(msg) => return again(msg).await,
            };
            state
                .groups
                .set_members(user, form.field("id"), list)
                .await
                .map(|_| ())
        }
        "delete" => state.groups.delete(user, form.field("id")).await,
        other => return Err(Fail::BadRequest(format!("unknown operation {other:?}"))),
    };
    match result {
        Ok(()) => Ok(redirect(&format!("{}/compte?done=1", state.base))),
        Err(
            e @ (GroupError::Limit { .. }
            | GroupError::BadEndDate { .. }
            | GroupError::Invalid(_)
            | GroupError::NotPermitted(_)
            | GroupError::NotAllowed),
        ) => again(e.to_string()).await,
        Err(e) => Err(group_fail(e)),
    }
}
