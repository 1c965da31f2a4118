//! The ENT-wide search's results page (the search box of the page chrome sends here).
//!
//! | URL | what |
//! |---|---|
//! | `GET /recherche?q=…&type=<service>/<kind>` | the hits the user may read, grouped by service, with a per-type filter |
//! | `GET /recherche/aller/{portlet}?…` | a hit's link: the first window of `portlet` on her layout, maximized, the query passed on as its parameters (`note=12` → `p.note=12`) |
//!
//! What she may read is decided now, from her current profiles, classes and groups
//! (`cartable_search::Search::query`). A search the index cannot take (empty, too long,
//! an unclosed quote) gets the page again with what to change, and `400`; nothing about
//! it is an error of the portal.

use axum::Router;
use cartable_portlet::time::{DateStyle, Dates};
use cartable_search::{IndexError, QueryError, Results};
use http::StatusCode;
use minijinja::Value;

use super::shared::{
    self, Cx, Fail, Handled, Here, Query, Segment, St, User, chrome, render_template,
};
use crate::i18n::Lang;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    Router::new()
        .route(&format!("{}/recherche", st.base), shared::get(st, page))
        .route(
            &format!("{}/recherche/aller/{{portlet}}", st.base),
            shared::get(st, open),
        )
}

/// `GET /recherche/aller/{portlet}`: the portlet's window on her layout, maximized, with
/// the query's fields as its parameters; `404` when she may not use it or has no window
/// of it.
async fn open(cx: Cx, User(user): User, Segment(portlet): Segment, Query(query): Query) -> Handled {
    let state = &cx.st;
    if state.allowed_portlet(&portlet, &user).is_none() {
        return Err(Fail::NotFound);
    }
    let layout = state.layout(&user).await?;
    let window = layout
        .tabs
        .iter()
        .find_map(|tab| {
            tab.columns
                .iter()
                .flatten()
                .find(|w| w.portlet == portlet)
                .map(|w| format!("{}/page/{}/{}", state.base, tab.id, w.id))
        })
        .ok_or(Fail::NotFound)?;
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("state", "maximized");
    for (name, value) in query
        .iter()
        .filter(|(n, _)| cartable_portlet::is_valid_id(n))
    {
        params.append_pair(&format!("p.{name}"), value);
    }
    Ok(crate::http::redirect(&format!(
        "{window}?{}",
        params.finish()
    )))
}

/// `GET /recherche`: the form, and the results when there is a search.
async fn page(cx: Cx, User(user): User, Query(query): Query, Here(here): Here) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let text = query.get("q").map_or("", |q| q.trim());
    let kind = query
        .get("type")
        .map(String::as_str)
        .filter(|k| !k.is_empty());
    let heading = lang.t("search_title");
    // Each search its own page title (the window's, the history's).
    let title = if text.is_empty() {
        heading.to_string()
    } else {
        let short: String = text.chars().take(60).collect();
        format!("{heading} : {short}")
    };
    let mut ctx = chrome(state, caller, &title, &here);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("q", Value::from(text));
    let mut status = StatusCode::OK;
    if !text.is_empty() {
        let groups = state
            .groups
            .groups_of(&user.id)
            .await
            .map_err(|e| Fail::Internal(format!("groups of {}: {e}", user.id)))?
            .into_iter()
            .map(|g| g.id)
            .collect();
        match state.search.query(user.clone(), groups, text, kind).await {
            Ok(results) => {
                ctx.insert("searched", Value::from(true));
                ctx.insert("total", Value::from(results.len()));
                ctx.insert("truncated", Value::from(results.truncated));
                ctx.insert("filters", filters(state, lang, text, kind, &results));
                ctx.insert("groups", groups_value(state, lang, &results));
            }
            Err(QueryError::Index(e)) if refusal(lang, &e).is_some() => {
                status = StatusCode::BAD_REQUEST;
                ctx.insert("refused", Value::from(refusal(lang, &e)));
            }
            Err(e) => return Err(Fail::Internal(format!("search {text:?}: {e}"))),
        }
    }
    render_template(state, "search.html", status, ctx)
}

/// What to tell a user whose search cannot be run; `None` for the index's own failures.
fn refusal(lang: Lang, e: &IndexError) -> Option<String> {
    Some(match e {
        IndexError::EmptyQuery => lang.t("search_empty").to_string(),
        IndexError::QueryTooLong { max, .. } => lang.t_args(
            "search_too_long",
            &cartable_i18n::args! { "max" => *max as i64 },
        ),
        IndexError::UnclosedQuote => lang.t("search_unclosed_quote").to_string(),
        IndexError::NothingWanted => lang.t("search_nothing_wanted").to_string(),
        _ => return None,
    })
}

/// The URL of a search of `text`, filtered to `kind` or not.
fn search_url(base: &str, text: &str, kind: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("q", text);
    if let Some(kind) = kind {
        q.append_pair("type", kind);
    }
    format!("{base}/recherche?{}", q.finish())
}

/// The per-type filter: "all", then each type with hits, its count and link.
fn filters(
    state: &crate::state::State,
    lang: Lang,
    text: &str,
    kind: Option<&str>,
    results: &Results,
) -> Value {
    let total: usize = results.counts.values().sum();
    let mut out = vec![Value::from_pairs([
        ("label", Value::from(lang.t("search_all_types"))),
        ("count", Value::from(total)),
        ("url", Value::from(search_url(&state.base, text, None))),
        ("current", Value::from(kind.is_none())),
    ])];
    for (service, _title, k) in state.search.kinds() {
        let Some(count) = results.counts.get(&(service.clone(), k.id.clone())) else {
            continue;
        };
        let id = format!("{service}/{}", k.id);
        out.push(Value::from_pairs([
            ("label", Value::from(k.label.get(lang.tag()))),
            ("count", Value::from(*count)),
            ("url", Value::from(search_url(&state.base, text, Some(&id)))),
            ("current", Value::from(kind == Some(id.as_str()))),
        ]));
    }
    Value::from(out)
}

/// The results, one group per service.
fn groups_value(state: &crate::state::State, lang: Lang, results: &Results) -> Value {
    let kinds = state.search.kinds();
    let dates = Dates::new(lang.tag(), state.config.time_zone);
    Value::from(
        results
            .groups
            .iter()
            .map(|g| {
                let hits: Vec<Value> = g
                    .hits
                    .iter()
                    .map(|h| {
                        let kind = kinds
                            .iter()
                            .find(|(s, _, k)| *s == h.service && k.id == h.kind)
                            .map_or_else(
                                || h.kind.clone(),
                                |(_, _, k)| k.label.get(lang.tag()).to_string(),
                            );
                        Value::from_pairs([
                            ("title", Value::from(h.title.as_str())),
                            ("link", Value::from(safe_link(&h.link))),
                            ("kind", Value::from(kind)),
                            (
                                "date",
                                Value::from(h.date.map(|d| dates.system_time(d, DateStyle::Short))),
                            ),
                            ("excerpt", Value::from(h.excerpt.as_str())),
                        ])
                    })
                    .collect();
                Value::from_pairs([
                    ("service", Value::from(g.service.as_str())),
                    ("title", Value::from(g.title.get(lang.tag()))),
                    ("count", Value::from(hits.len())),
                    ("hits", Value::from(hits)),
                ])
            })
            .collect::<Vec<_>>(),
    )
}

/// A hit's link as given by its service, if it is a path of the portal or an `http(s)`
/// URL; anything else (`javascript:`…) is no link.
fn safe_link(link: &str) -> Option<&str> {
    let ok = (link.starts_with('/') && !link.starts_with("//"))
        || link.starts_with("https://")
        || link.starts_with("http://");
    ok.then_some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_paths_or_web_urls() {
        assert_eq!(safe_link("/page/a/b"), Some("/page/a/b"));
        assert_eq!(safe_link("https://x.example/"), Some("https://x.example/"));
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "data:text/html,x",
            "",
        ] {
            assert_eq!(safe_link(bad), None, "{bad:?}");
        }
        assert_eq!(
            search_url("/ent", "l'élève & co", Some("bloc-notes/note")),
            "/ent/recherche?q=l%27%C3%A9l%C3%A8ve+%26+co&type=bloc-notes%2Fnote"
        );
    }
}
