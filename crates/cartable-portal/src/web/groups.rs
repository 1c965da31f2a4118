//! Groups' tools, members' rights and quotas: the page where a group's owner and managers
//! change it, and the administrator's list and edit of every group. The socle's
//! [`Groups`](cartable_socle::Groups) checks every change (a reader or a contributor is
//! refused there, whatever the form); every change is logged.
//!
//! | URL | what |
//! |---|---|
//! | `GET /compte/groupes/{id}` | a group she owns or manages: members and rights, tools and quotas, name and end date |
//! | `POST /compte/groupes/{id}` | `op=members`, `tools`, `settings` or `delete` (owner) |
//! | `GET /admin/groupes?q=&page=` | every group, ended ones included, filtered by name, owner or member, 25 a page |
//! | `GET /admin/groupes/{id}` | the same edit page for any group (administrator) |
//! | `POST /admin/groupes/{id}` | the same operations (administrator) |

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use cartable_portlet::Params;
use cartable_socle::{
    Group, GroupError, GroupRight, Member, Person, ToolGrant, format_generalized_time,
    parse_generalized_time,
};
use http::StatusCode;
use minijinja::Value;

use super::shared::{
    self, Admin, Cx, Fail, Form, Handled, Here, Query, Segment, St, User, chrome, render_template,
};
use crate::http::redirect;
use crate::i18n::Lang;
use crate::state::State;

/// Groups listed on one page of `/admin/groupes`.
const PAGE_SIZE: usize = 25;
/// Recipients the picker lists for one search on a group's page.
const PICKED_SHOWN: usize = 30;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(
            &format!("{base}/compte/groupes/{{id}}"),
            shared::get_post(st, manager_page, manager_post),
        )
        .route(
            &format!("{base}/admin/groupes"),
            shared::get(st, admin_list),
        )
        .route(
            &format!("{base}/admin/groupes/{{id}}"),
            shared::get_post(st, admin_page, admin_post),
        )
}

/// Who edits: a manager on `/compte`, an administrator on `/admin`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seat {
    Manager,
    Admin,
}

impl Seat {
    fn path(self, base: &str, id: &str) -> String {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        match self {
            Seat::Manager => format!("{base}/compte/groupes/{id}"),
            Seat::Admin => format!("{base}/admin/groupes/{id}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The edit page.

/// `GET /compte/groupes/{id}`: only for its owner and managers.
async fn manager_page(
    cx: Cx,
    User(user): User,
    Segment(id): Segment,
    Query(query): Query,
    Here(here): Here,
) -> Handled {
    let group = managed_group(&cx.st, &user, &id).await?;
    edit_page(&cx, &user, Seat::Manager, &group, &query, &here, None).await
}

/// `GET /admin/groupes/{id}`: any group, ended ones included.
async fn admin_page(
    cx: Cx,
    Admin(user): Admin,
    Segment(id): Segment,
    Query(query): Query,
    Here(here): Here,
) -> Handled {
    let group = cx
        .st
        .groups
        .find(&id)
        .await
        .map_err(fail)?
        .ok_or(Fail::NotFound)?;
    edit_page(&cx, &user, Seat::Admin, &group, &query, &here, None).await
}

/// The active group `id` if `user` owns or manages it; 404 if it does not exist (or
/// ended), 403 for anyone else.
async fn managed_group(state: &State, user: &Person, id: &str) -> Result<Group, Fail> {
    let group = state
        .groups
        .get(id)
        .await
        .map_err(fail)?
        .ok_or(Fail::NotFound)?;
    match group.right_of(&user.id) {
        Some(r) if r.can_manage() => Ok(group),
        _ => {
            tracing::info!(user = %user.id, group = %id, "group page refused: not a manager");
            Err(Fail::Forbidden)
        }
    }
}

/// The edit page of a group, with an optional error (the form refused).
async fn edit_page(
    cx: &Cx,
    user: &Person,
    seat: Seat,
    group: &Group,
    query: &Params,
    here: &str,
    error: Option<String>,
) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let heading = format!("{} « {} »", lang.t("grp_group"), group.name);
    let title = match seat {
        Seat::Manager => heading.clone(),
        Seat::Admin => format!("{heading} – {}", lang.t("admin")),
    };
    let mut ctx = chrome(state, caller, &title, here);
    ctx.insert("heading", Value::from(heading));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    ctx.insert("error", Value::from(error));
    let notice = query.get("done").map(|_| lang.t("saved"));
    ctx.insert("notice", Value::from(notice));
    ctx.insert("admin_seat", Value::from(seat == Seat::Admin));
    ctx.insert("action", Value::from(seat.path(&state.base, &group.id)));
    let now = state.clock.now();
    ctx.insert("ended", Value::from(!group.is_active(now)));
    let owner_name = display_name(state, &group.owner).await?;
    ctx.insert(
        "group",
        Value::from_pairs([
            ("id", Value::from(group.id.as_str())),
            ("name", Value::from(group.name.as_str())),
            ("owner", Value::from(group.owner.as_str())),
            ("owner_name", Value::from(owner_name)),
            ("ends", Value::from(date(group.ends))),
            ("created", Value::from(date(group.created))),
        ]),
    );
    let mut members = Vec::new();
    for (i, m) in group.members_with_rights().into_iter().enumerate() {
        members.push(Value::from_pairs([
            ("i", Value::from(i)),
            ("uid", Value::from(m.uid.as_str())),
            ("name", Value::from(display_name(state, &m.uid).await?)),
            ("right", Value::from(m.right.as_str())),
        ]));
    }
    ctx.insert("members", Value::from(members));
    // The recipient picker: people, groups or a class's parents she may see, from the
    // directory and her address books (`?chercher=`), ticked into the members' form.
    let pick_q: String = query
        .get("chercher")
        .map(|q| q.chars().filter(|c| !c.is_control()).take(100).collect())
        .unwrap_or_default();
    let mut picks = Vec::new();
    if !pick_q.trim().is_empty()
        && let Some(recipients) = &state.services.recipients
    {
        let found = recipients
            .find(user, pick_q.trim(), PICKED_SHOWN)
            .await
            .map_err(|e| Fail::Unavailable(cartable_socle::SocleError::Invalid(e.to_string())))?;
        for r in found
            .into_iter()
            .filter(|r| r.kind != cartable_portlet::recipients::RecipientKind::Contact)
        {
            picks.push(Value::from_pairs([
                ("id", Value::from(r.id)),
                ("label", Value::from(r.label)),
                ("detail", Value::from(r.detail)),
            ]));
        }
    }
    ctx.insert("pick_q", Value::from(pick_q));
    ctx.insert("picks", Value::from(picks));
    let rights: Vec<Value> = GroupRight::MEMBER_RIGHTS
        .iter()
        .map(|r| {
            Value::from_pairs([
                ("id", Value::from(r.as_str())),
                ("label", Value::from(right_label(*r, lang))),
            ])
        })
        .collect();
    ctx.insert("rights", Value::from(rights));
    ctx.insert(
        "my_right",
        Value::from(
            group
                .right_of(&user.id)
                .map(|r| right_label(r, lang).to_string()),
        ),
    );
    ctx.insert(
        "can_delete",
        Value::from(seat == Seat::Admin || group.owner == user.id),
    );
    // The tools: those offered and allowed to this group's owner (every offered one for
    // an administrator), and any the group has from a service since removed.
    let limits = state.groups.limits_of(group, user);
    let mut tools = Vec::new();
    for (id, tool) in group_tools(state) {
        if !limits.allows_tool(&id) && !group.tools.contains_key(&id) {
            continue;
        }
        let grant = group.tool(&id);
        let measure = tool.measure.as_ref().map(|m| {
            let cap = limits
                .tool_limits
                .get(&id)
                .copied()
                .unwrap_or(m.max)
                .min(m.max);
            Value::from_pairs([
                ("unit", Value::from(m.unit.get(lang.tag()))),
                ("default", Value::from(m.default)),
                ("max", Value::from(cap)),
            ])
        });
        tools.push(Value::from_pairs([
            ("id", Value::from(id.as_str())),
            ("name", Value::from(tool.name.get(lang.tag()))),
            ("on", Value::from(grant.is_some())),
            (
                "limit",
                Value::from(grant.and_then(|g| g.limit).map(|l| l.to_string())),
            ),
            ("measure", Value::from(measure)),
        ]));
    }
    ctx.insert("tools", Value::from(tools));
    ctx.insert("file_quota_mb", Value::from(group.file_quota_bytes() >> 20));
    ctx.insert("max_file_quota_mb", Value::from(limits.max_file_quota_mb));
    ctx.insert("max_members", Value::from(limits.max_members));
    ctx.insert("max_days", Value::from(limits.max_days));
    render_template(state, "group.html", status, ctx)
}

/// The installed services' group tools, in the catalogue's order.
fn group_tools(state: &State) -> Vec<(String, cartable_portlet::GroupTool)> {
    state
        .order
        .iter()
        .filter_map(|id| state.portlets.get(id))
        .filter_map(|p| {
            let d = p.descriptor();
            d.group_tool.clone().map(|t| (d.id.clone(), t))
        })
        .collect()
}

async fn display_name(state: &State, uid: &str) -> Result<String, Fail> {
    Ok(state
        .person(uid)
        .await?
        .map_or_else(|| uid.to_string(), |p| p.display_name.clone()))
}

fn right_label(r: GroupRight, lang: Lang) -> &'static str {
    lang.t(match r {
        GroupRight::Reader => "grp_right_reader",
        GroupRight::Contributor => "grp_right_contributor",
        GroupRight::Manager => "grp_right_manager",
        GroupRight::Owner => "grp_right_owner",
    })
}

// ---------------------------------------------------------------------------------------
// Changes.

/// `POST /compte/groupes/{id}`.
async fn manager_post(
    cx: Cx,
    User(user): User,
    Segment(id): Segment,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    change(&cx, &user, Seat::Manager, &id, &query, &here, &form).await
}

/// `POST /admin/groupes/{id}`.
async fn admin_post(
    cx: Cx,
    Admin(user): Admin,
    Segment(id): Segment,
    Query(query): Query,
    Here(here): Here,
    form: Form,
) -> Handled {
    change(&cx, &user, Seat::Admin, &id, &query, &here, &form).await
}

/// One change, checked by the socle; a refused form is shown again with the reason.
async fn change(
    cx: &Cx,
    user: &Arc<Person>,
    seat: Seat,
    id: &str,
    query: &Params,
    here: &str,
    form: &Form,
) -> Handled {
    let state = &cx.st;
    let lang = cx.caller.lang;
    let op = form.field("op");
    let result = match op {
        "members" => match members_of_form(state, user, lang, form).await? {
            Ok(members) => state
                .groups
                .set_members_with_rights(user, id, members)
                .await
                .map(Some),
            Err(msg) => return again(cx, user, seat, id, query, here, msg).await,
        },
        "tools" => match tools_of_form(lang, form, &group_tools(state)) {
            Ok((tools, quota)) => state
                .groups
                .set_tools(user, id, tools, quota)
                .await
                .map(Some),
            Err(msg) => return again(cx, user, seat, id, query, here, msg).await,
        },
        "settings" => {
            let Some(ends) = parse_date(form.field("ends")) else {
                return again(cx, user, seat, id, query, here, lang.t("bad_date").into()).await;
            };
            state
                .groups
                .set_name_and_end(user, id, form.field("name"), ends)
                .await
                .map(Some)
        }
        "delete" => state.groups.delete(user, id).await.map(|()| None),
        other => return Err(Fail::BadRequest(format!("unknown operation {other:?}"))),
    };
    match result {
        Ok(group) => {
            match seat {
                Seat::Admin => {
                    tracing::info!(admin = %user.id, group = %id, op, "group changed by an administrator")
                }
                Seat::Manager => tracing::info!(user = %user.id, group = %id, op, "group changed"),
            }
            Ok(match (group, seat) {
                (Some(g), _) => redirect(&format!("{}?done=1", seat.path(&state.base, &g.id))),
                (None, Seat::Admin) => redirect(&format!("{}/admin/groupes?done=1", state.base)),
                (None, Seat::Manager) => redirect(&format!("{}/compte?done=1", state.base)),
            })
        }
        Err(
            e @ (GroupError::NotPermitted(_)
            | GroupError::Invalid(_)
            | GroupError::BadEndDate { .. }
            | GroupError::Limit { .. }),
        ) => {
            let msg = format!("{} {e}", lang.t("grp_refused"));
            again(cx, user, seat, id, query, here, msg).await
        }
        Err(e) => {
            if matches!(e, GroupError::NotManager | GroupError::NotOwner) {
                tracing::info!(user = %user.id, group = %id, op, "group change refused: {e}");
            }
            Err(fail(e))
        }
    }
}

/// The edit page again, with the reason a change was refused (nothing was changed).
async fn again(
    cx: &Cx,
    user: &Person,
    seat: Seat,
    id: &str,
    query: &Params,
    here: &str,
    msg: String,
) -> Handled {
    let state = &cx.st;
    let group = match seat {
        Seat::Admin => state.groups.find(id).await.map_err(fail)?,
        Seat::Manager => state.groups.get(id).await.map_err(fail)?,
    }
    .ok_or(Fail::NotFound)?;
    if seat == Seat::Manager && !group.right_of(&user.id).is_some_and(GroupRight::can_manage) {
        return Err(Fail::Forbidden);
    }
    edit_page(cx, user, seat, &group, query, here, Some(msg)).await
}

/// The member table (`uid.N`, `right.N`: a right or `remove`) and the logins to add
/// (`add`, with the right `add_right`); every login must exist in the directory.
async fn members_of_form(
    state: &State,
    user: &Person,
    lang: Lang,
    form: &Form,
) -> Result<Result<Vec<Member>, String>, Fail> {
    let mut members = Vec::new();
    for i in 0.. {
        let Some(uid) = form.0.get(&format!("uid.{i}")) else {
            break;
        };
        let right = form.field(&format!("right.{i}"));
        if right == "remove" {
            continue;
        }
        let Ok(right) = right.parse::<GroupRight>() else {
            return Ok(Err(format!("{} {right:?}", lang.t("grp_bad_right"))));
        };
        members.push(Member {
            uid: uid.clone(),
            right,
        });
    }
    let add_right = match form.field("add_right") {
        "" => GroupRight::Contributor,
        r => match r.parse::<GroupRight>() {
            Ok(r) => r,
            Err(_) => return Ok(Err(format!("{} {r:?}", lang.t("grp_bad_right")))),
        },
    };
    let mut added: Vec<String> = form
        .field("add")
        .split([',', ' ', '\n', '\r', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    // What she ticked in the picker, each checked again by its source (a forged id, or
    // one beyond what she may see, gives nobody).
    let mut refused = Vec::new();
    for (name, id) in &form.0 {
        if !name.starts_with("pick.") || id.is_empty() {
            continue;
        }
        let uids = match &state.services.recipients {
            Some(r) => r.members(user, id).await.map_err(|e| {
                Fail::Unavailable(cartable_socle::SocleError::Invalid(e.to_string()))
            })?,
            None => None,
        };
        match uids {
            Some(uids) => {
                for uid in uids {
                    if !added.contains(&uid) {
                        added.push(uid);
                    }
                }
            }
            None => refused.push(id.clone()),
        }
    }
    if !refused.is_empty() {
        return Ok(Err(format!(
            "{} {}",
            lang.t("grp_pick_refused"),
            refused.join(", ")
        )));
    }
    if added.len() > state.groups.policy().largest_group() {
        return Ok(Err(format!("{} {}", lang.t("grp_too_many"), added.len())));
    }
    let mut unknown = Vec::new();
    for uid in added.iter().map(String::as_str) {
        if state.services.directory.person(uid).await?.is_none() {
            unknown.push(uid.to_string());
        } else if let Some(m) = members.iter_mut().find(|m| m.uid == uid) {
            m.right = add_right;
        } else {
            members.push(Member {
                uid: uid.to_string(),
                right: add_right,
            });
        }
    }
    if !unknown.is_empty() {
        return Ok(Err(format!(
            "{} {}",
            lang.t("group_unknown_members"),
            unknown.join(", ")
        )));
    }
    Ok(Ok(members))
}

/// The tools checked (`tool.<id>`), their limits (`limit.<id>`, empty for the
/// service's default) and the file quota (`file_quota_mb`).
fn tools_of_form(
    lang: Lang,
    form: &Form,
    offered: &[(String, cartable_portlet::GroupTool)],
) -> Result<(BTreeMap<String, ToolGrant>, u64), String> {
    let number = |name: &str, raw: &str| -> Result<u64, String> {
        raw.trim()
            .parse::<u64>()
            .map_err(|_| format!("{} ({name})", lang.t("grp_bad_number")))
    };
    let mut tools = BTreeMap::new();
    for (id, tool) in offered {
        if form.field(&format!("tool.{id}")).is_empty() {
            continue;
        }
        let raw = form.field(&format!("limit.{id}"));
        let limit = if raw.trim().is_empty() || tool.measure.is_none() {
            None
        } else {
            Some(number(tool.name.get(lang.tag()), raw)?)
        };
        tools.insert(id.clone(), ToolGrant { limit });
    }
    let quota = number(lang.t("grp_file_quota"), form.field("file_quota_mb"))?;
    Ok((tools, quota))
}

// ---------------------------------------------------------------------------------------
// The administrator's list.

/// `GET /admin/groupes?q=&page=`: every group, active first then ended, by name.
async fn admin_list(cx: Cx, Admin(_): Admin, Query(query): Query, Here(here): Here) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let now = state.clock.now();
    let q = query.get("q").map(|s| s.trim()).unwrap_or_default();
    let needle = cartable_socle::fold_name(q);
    let mut all: Vec<Group> = state
        .groups
        .all()
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|g| {
            needle.is_empty()
                || cartable_socle::fold_name(&g.name).contains(&needle)
                || cartable_socle::fold_name(&g.owner).contains(&needle)
                || g.members
                    .iter()
                    .any(|m| cartable_socle::fold_name(m).contains(&needle))
        })
        .collect();
    all.sort_by(|a, b| {
        (!a.is_active(now), cartable_socle::fold_name(&a.name), &a.id).cmp(&(
            !b.is_active(now),
            cartable_socle::fold_name(&b.name),
            &b.id,
        ))
    });
    let total = all.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query
        .get("page")
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let titles: BTreeMap<String, String> = group_tools(state)
        .into_iter()
        .map(|(id, t)| (id, t.name.get(lang.tag()).to_string()))
        .collect();
    let rows: Vec<Value> = all
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|g| {
            let tools: Vec<&str> = g
                .tools
                .keys()
                .map(|t| titles.get(t).map_or(t.as_str(), String::as_str))
                .collect();
            Value::from_pairs([
                ("id", Value::from(g.id.as_str())),
                ("url", Value::from(Seat::Admin.path(&state.base, &g.id))),
                ("name", Value::from(g.name.as_str())),
                ("owner", Value::from(g.owner.as_str())),
                ("members", Value::from(g.members.len())),
                ("tools", Value::from(tools.join(", "))),
                ("ends", Value::from(date(g.ends))),
                ("ended", Value::from(!g.is_active(now))),
            ])
        })
        .collect();
    let heading = lang.t("grp_admin_title");
    let mut ctx = chrome(state, caller, heading, &here);
    ctx.insert("heading", Value::from(heading));
    ctx.insert(
        "notice",
        Value::from(query.get("done").map(|_| lang.t("saved"))),
    );
    ctx.insert("q", Value::from(q));
    ctx.insert("groups", Value::from(rows));
    ctx.insert("total", Value::from(total));
    ctx.insert("page", Value::from(page));
    ctx.insert("pages", Value::from(pages));
    let q_enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let link = |p: usize| format!("{}/admin/groupes?q={q_enc}&page={p}", state.base);
    ctx.insert("prev", Value::from((page > 1).then(|| link(page - 1))));
    ctx.insert("next", Value::from((page < pages).then(|| link(page + 1))));
    render_template(state, "groups.html", StatusCode::OK, ctx)
}

// ---------------------------------------------------------------------------------------
// Small helpers.

fn fail(e: GroupError) -> Fail {
    match e {
        GroupError::Socle(s) => Fail::Unavailable(s),
        GroupError::NotOwner | GroupError::NotManager => Fail::Forbidden,
        GroupError::NotFound => Fail::NotFound,
        other => Fail::BadRequest(other.to_string()),
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
    if s.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' || !s.is_ascii() {
        return None;
    }
    parse_generalized_time(&format!("{}{}{}235959Z", &s[0..4], &s[5..7], &s[8..10]))
}
