//! Layout editing: the editor of a tab (move, remove, add windows), and the form every
//! page's minimize buttons post to.
//!
//! | URL | what |
//! |---|---|
//! | `GET /layout/{tab}` | the layout editor of a tab |
//! | `POST /layout` | one edit (`op=add|remove|move|minimize|restore|reset`), then a redirect |

use axum::Router;
use http::StatusCode;
use minijinja::Value;

use super::shared::{
    self, Cx, Fail, Form, Handled, Here, Query, Segment, St, User, chrome, render_template, sv,
    tabs_value,
};
use crate::http::redirect;
use crate::layout::{Direction, LayoutError};

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(
            &format!("{base}/layout/{{tab}}"),
            shared::get(st, layout_page),
        )
        .route(&format!("{base}/layout"), shared::post(st, layout_edit))
}

/// `GET /layout/{tab}`: the layout editor (`done` in the query: an edit was saved).
async fn layout_page(
    cx: Cx,
    User(user): User,
    Segment(tab_id): Segment,
    Query(query): Query,
    Here(here): Here,
) -> Handled {
    let (state, caller, user, tab_id) = (&cx.st, &*cx.caller, &user, tab_id.as_str());
    let lang = caller.lang;
    let (layout, layout_version) = state.layout_versioned(user).await?;
    let tab = layout.tab(tab_id).ok_or(Fail::NotFound)?;
    let ncols = tab.columns.len();
    let columns: Vec<Value> = tab
        .columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let visible: Vec<_> = col
                .iter()
                .filter_map(|w| state.allowed_portlet(&w.portlet, user).map(|p| (w, p)))
                .collect();
            let n = visible.len();
            Value::from(
                visible
                    .into_iter()
                    .enumerate()
                    .map(|(r, (w, p))| {
                        let mut ops = Vec::new();
                        let mut op = |op: &str, dir: Option<&str>, label: &str| {
                            ops.push(Value::from_pairs([
                                ("op", Value::from(op)),
                                ("dir", Value::from(dir)),
                                ("label", Value::from(label)),
                            ]));
                        };
                        if r > 0 {
                            op("move", Some("up"), lang.t("move_up"));
                        }
                        if r + 1 < n {
                            op("move", Some("down"), lang.t("move_down"));
                        }
                        if c > 0 {
                            op("move", Some("left"), lang.t("move_left"));
                        }
                        if c + 1 < ncols {
                            op("move", Some("right"), lang.t("move_right"));
                        }
                        op("remove", None, lang.t("remove"));
                        Value::from_pairs([
                            ("id", Value::from(w.id.as_str())),
                            ("title", Value::from(p.descriptor().title.get(lang.tag()))),
                            ("locked", Value::from(w.locked)),
                            ("ops", Value::from(ops)),
                        ])
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let catalogue: Vec<Value> = state
        .order
        .iter()
        .filter_map(|id| state.allowed_portlet(id, user))
        .filter(|p| !layout.windows().any(|w| w.portlet == p.descriptor().id))
        .map(|p| {
            let d = p.descriptor();
            Value::from_pairs([
                ("id", Value::from(d.id.as_str())),
                ("title", Value::from(d.title.get(lang.tag()))),
                ("description", Value::from(d.description.get(lang.tag()))),
            ])
        })
        .collect();
    let heading = format!(
        "{} « {} »",
        lang.t("layout_heading"),
        tab.title_in(lang.tag())
    );
    let mut ctx = chrome(state, caller, &heading, &here);
    ctx.insert("heading", Value::from(heading.as_str()));
    ctx.insert("tab", Value::from(tab_id));
    ctx.insert("tabs", tabs_value(state, &layout, tab_id, lang));
    ctx.insert("columns", Value::from(columns));
    ctx.insert("catalogue", Value::from(catalogue));
    ctx.insert("column_numbers", sv((0..ncols).collect::<Vec<_>>()));
    ctx.insert("layout_version", Value::from(layout_version.get()));
    ctx.insert(
        "back_url",
        Value::from(format!("{}/page/{tab_id}", state.base)),
    );
    if query.contains_key("done") {
        ctx.insert("notice", Value::from(lang.t("layout_saved")));
    }
    render_template(state, "layout.html", StatusCode::OK, ctx)
}

fn layout_fail(e: LayoutError) -> Fail {
    match e {
        LayoutError::Locked => Fail::Forbidden,
        LayoutError::NoWindow(_) | LayoutError::NoTab(_) => Fail::NotFound,
        other => Fail::BadRequest(other.to_string()),
    }
}

/// `POST /layout`: one edit of the user's layout, refused if the layout changed since
/// the page that sent it was built.
async fn layout_edit(cx: Cx, User(user): User, form: Form) -> Handled {
    let (state, user) = (&cx.st, &user);
    let field = |name: &str| form.field(name);
    let tab = field("tab");
    let window = field("window");
    let (mut layout, version) = state.layout_versioned(user).await?;
    // A form from a page built on another version of the layout (changed meanwhile in
    // another tab, on another device or node) is refused rather than applied blindly.
    if crate::nodes::parse_version(form.0.get("_version")).is_some_and(|v| v != version) {
        return Err(Fail::Conflict);
    }
    if layout.tab(tab).is_none() {
        return Err(Fail::NotFound);
    }
    let back_to_page = format!("{}/page/{tab}#w-{window}", state.base);
    let back_to_editor = format!("{}/layout/{tab}?done=1", state.base);
    let target = match field("op") {
        "add" => {
            let portlet = field("portlet");
            if !state.portlets.contains_key(portlet) {
                return Err(Fail::NotFound);
            }
            if state.allowed_portlet(portlet, user).is_none() {
                return Err(Fail::Forbidden);
            }
            let column = field("column").parse().unwrap_or(0);
            layout.add(tab, column, portlet).map_err(layout_fail)?;
            back_to_editor
        }
        "remove" => {
            layout.remove(window).map_err(layout_fail)?;
            back_to_editor
        }
        "move" => {
            let dir: Direction = field("dir").parse().map_err(layout_fail)?;
            layout.move_window(window, dir).map_err(layout_fail)?;
            back_to_editor
        }
        "minimize" | "restore" => {
            layout
                .set_minimized(window, field("op") == "minimize")
                .map_err(layout_fail)?;
            back_to_page
        }
        "reset" => {
            state.reset_layout(user).await?;
            return Ok(redirect(&back_to_editor));
        }
        other => {
            return Err(Fail::BadRequest(format!(
                "unknown layout operation {other:?}"
            )));
        }
    };
    state.save_layout(user, &layout, version).await?;
    Ok(redirect(&target))
}
