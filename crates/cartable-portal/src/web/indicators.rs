//! Usage indicators for administrators (SDET: indicators of use per service,
//! exportable): tables and server-rendered SVG bar charts, and the same figures as CSV
//! (RFC 4180) and XML (`docs/indicators.xsd`). Every route needs an administrator.
//!
//! | URL | what |
//! |---|---|
//! | `GET /admin/indicateurs` | charts and tables; `from`, `to` (`YYYY-MM-DD`), `service` |
//! | `GET /admin/indicateurs.csv` | the same lines as CSV |
//! | `GET /admin/indicateurs.xml` | the same lines as XML |
//!
//! Each flushes this node's counts first, so an administrator sees at least her node's
//! latest; other nodes' arrive within a minute.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use cartable_portlet::time::{Datelike, NaiveDate};
use cartable_socle::indicators::{ReportQuery, Usage, Use};
use http::{HeaderValue, StatusCode, header};
use minijinja::Value;

use super::shared::{self, Admin, Cx, Fail, Handled, Here, Query, St, chrome, render_template};
use crate::state::{State, indicator_day};

/// The XML namespace of the export (`docs/indicators.xsd`).
pub(crate) const XML_NAMESPACE: &str = "urn:cartable:indicators:1";
/// The longest range a report covers, in days.
const MAX_DAYS: i64 = 366;
/// Length of the longest bar, in the SVG units of the bars' `viewBox`.
const BAR_AREA: f64 = 400.0;

/// The routes of this area.
pub(crate) fn router(st: &St) -> Router<St> {
    let base = &st.base;
    Router::new()
        .route(&format!("{base}/admin/indicateurs"), shared::get(st, page))
        .route(
            &format!("{base}/admin/indicateurs.csv"),
            shared::get(st, csv),
        )
        .route(
            &format!("{base}/admin/indicateurs.xml"),
            shared::get(st, xml),
        )
}

/// The report asked for by the query: the last 7 days by default.
fn report_query(state: &State, query: &cartable_portlet::Params) -> Result<ReportQuery, Fail> {
    let today = indicator_day(state.clock.now(), state.config.time_zone);
    let today =
        NaiveDate::parse_from_str(&today, "%Y-%m-%d").map_err(|e| Fail::Internal(e.to_string()))?;
    let date = |name: &str, default: NaiveDate| -> Result<NaiveDate, Fail> {
        match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| Fail::BadRequest(format!("{name} is a date written YYYY-MM-DD"))),
        }
    };
    let to = date("to", today)?;
    let week_before = NaiveDate::from_num_days_from_ce_opt(to.num_days_from_ce() - 6).unwrap_or(to);
    let from = date("from", week_before)?;
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(Fail::BadRequest(format!(
            "from must come before to, at most {MAX_DAYS} days apart"
        )));
    }
    let service = query
        .get("service")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(s) = &service
        && !state.portlets.contains_key(s)
    {
        return Err(Fail::BadRequest(format!("no service {s}")));
    }
    Ok(ReportQuery {
        from: from.to_string(),
        to: to.to_string(),
        service,
    })
}

/// This node's counts flushed, then the report.
async fn lines(state: &State, query: &ReportQuery) -> Result<Vec<Usage>, Fail> {
    if let Err(e) = state.indicators.flush().await {
        tracing::warn!(error = %e, "usage indicators not flushed before a report");
    }
    Ok(state.indicators.report(query).await?)
}

/// The bars of a chart: each one's label and value (shown as text) and its length in the
/// SVG bar's `0 0 400 22` box.
fn bars(values: Vec<(String, u64)>) -> Value {
    let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    values
        .into_iter()
        .map(|(label, value)| {
            let width = (value as f64 / max * BAR_AREA).round() as u64;
            Value::from_pairs([
                ("label", Value::from(label)),
                ("value", Value::from(value)),
                ("width", Value::from(width)),
            ])
        })
        .collect()
}

/// `GET /admin/indicateurs`.
async fn page(cx: Cx, Admin(_): Admin, Query(query): Query, Here(here): Here) -> Handled {
    let (state, caller) = (&cx.st, &*cx.caller);
    let lang = caller.lang;
    let report = report_query(state, &query)?;
    let lines = lines(state, &report).await?;
    let title = |id: &str| {
        state.portlets.get(id).map_or_else(
            || id.to_string(),
            |p| p.descriptor().title.get(lang.tag()).to_string(),
        )
    };
    // Totals per service and per day.
    let mut per_service: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
    let mut per_day: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
    for l in &lines {
        for totals in [
            per_service.entry(&l.service).or_default(),
            per_day.entry(&l.day).or_default(),
        ] {
            for (i, used) in Use::ALL.into_iter().enumerate() {
                totals[i] += l.count(used);
            }
            totals[3] += l.users;
        }
    }
    let row = |label: String, t: &[u64; 4]| {
        Value::from_pairs([
            ("label", Value::from(label)),
            ("views", Value::from(t[0])),
            ("actions", Value::from(t[1])),
            ("resources", Value::from(t[2])),
            ("users", Value::from(t[3])),
        ])
    };
    let services: Vec<Value> = per_service.iter().map(|(s, t)| row(title(s), t)).collect();
    let days: Vec<Value> = per_day
        .iter()
        .map(|(d, t)| row((*d).to_string(), t))
        .collect();
    let service_bars = bars(
        per_service
            .iter()
            .map(|(s, t)| (title(s), t[0] + t[1] + t[2]))
            .collect(),
    );
    let day_bars = bars(
        per_day
            .iter()
            .map(|(d, t)| ((*d).to_string(), t[0] + t[1] + t[2]))
            .collect(),
    );
    let detail: Vec<Value> = lines
        .iter()
        .map(|l| {
            Value::from_pairs([
                ("day", Value::from(l.day.as_str())),
                ("service", Value::from(title(&l.service))),
                ("profile", Value::from(l.profile.as_str())),
                ("views", Value::from(l.count(Use::View))),
                ("actions", Value::from(l.count(Use::Action))),
                ("resources", Value::from(l.count(Use::Resource))),
                ("users", Value::from(l.users)),
            ])
        })
        .collect();
    let choices: Vec<Value> = state
        .order
        .iter()
        .map(|id| {
            Value::from_pairs([
                ("id", Value::from(id.as_str())),
                ("title", Value::from(title(id))),
                (
                    "selected",
                    Value::from(report.service.as_deref() == Some(id)),
                ),
            ])
        })
        .collect();
    let mut export_query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &report.from)
        .append_pair("to", &report.to)
        .finish();
    if let Some(s) = &report.service {
        export_query.push_str("&service=");
        export_query.extend(form_urlencoded::byte_serialize(s.as_bytes()));
    }
    let heading = lang.t("ind_title");
    let mut ctx = chrome(state, caller, heading, &here);
    ctx.insert("heading", Value::from(heading));
    ctx.insert("from", Value::from(report.from.as_str()));
    ctx.insert("to", Value::from(report.to.as_str()));
    ctx.insert("choices", Value::from(choices));
    ctx.insert("services", Value::from(services));
    ctx.insert("days", Value::from(days));
    ctx.insert("detail", Value::from(detail));
    ctx.insert("service_chart", Value::from_pairs([("bars", service_bars)]));
    ctx.insert("day_chart", Value::from_pairs([("bars", day_bars)]));
    ctx.insert("export_query", Value::from(export_query));
    render_template(state, "indicators.html", StatusCode::OK, ctx)
}

/// A download named `indicateurs-<from>-<to>.<ext>`.
fn download(body: Vec<u8>, content_type: &'static str, report: &ReportQuery, ext: &str) -> Handled {
    let mut r = axum::response::Response::new(Body::from(body));
    let headers = r.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let name = format!(
        "attachment; filename=\"indicateurs-{}-{}.{ext}\"",
        report.from, report.to
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&name).map_err(|e| Fail::Internal(e.to_string()))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// The CSV text of `lines` (RFC 4180: a header line, CRLF, fields quoted when needed).
pub(crate) fn to_csv(etablissement: &str, lines: &[Usage]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        "day",
        "etablissement",
        "service",
        "profile",
        "views",
        "actions",
        "resources",
        "users",
    ])?;
    for l in lines {
        w.write_record([
            l.day.as_str(),
            etablissement,
            l.service.as_str(),
            l.profile.as_str(),
            &l.count(Use::View).to_string(),
            &l.count(Use::Action).to_string(),
            &l.count(Use::Resource).to_string(),
            &l.users.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The XML text of `lines`, valid against `docs/indicators.xsd`.
pub(crate) fn to_xml(
    etablissement: &str,
    report: &ReportQuery,
    lines: &[Usage],
) -> Result<Vec<u8>, std::io::Error> {
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("indicators");
    root.push_attribute(("xmlns", XML_NAMESPACE));
    root.push_attribute(("etablissement", etablissement));
    root.push_attribute(("from", report.from.as_str()));
    root.push_attribute(("to", report.to.as_str()));
    if let Some(s) = &report.service {
        root.push_attribute(("service", s.as_str()));
    }
    w.write_event(Event::Start(root))?;
    for l in lines {
        let mut usage = BytesStart::new("usage");
        usage.push_attribute(("day", l.day.as_str()));
        usage.push_attribute(("service", l.service.as_str()));
        usage.push_attribute(("profile", l.profile.as_str()));
        for (name, n) in [
            ("views", l.count(Use::View)),
            ("actions", l.count(Use::Action)),
            ("resources", l.count(Use::Resource)),
            ("users", l.users),
        ] {
            usage.push_attribute((name, n.to_string().as_str()));
        }
        w.write_event(Event::Empty(usage))?;
    }
    w.write_event(Event::End(BytesEnd::new("indicators")))?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

/// `GET /admin/indicateurs.csv`.
async fn csv(cx: Cx, Admin(_): Admin, Query(query): Query) -> Handled {
    let state = &cx.st;
    let report = report_query(state, &query)?;
    let lines = lines(state, &report).await?;
    let body =
        to_csv(&state.config.etablissement, &lines).map_err(|e| Fail::Internal(e.to_string()))?;
    download(
        body,
        "text/csv; charset=utf-8; header=present",
        &report,
        "csv",
    )
}

/// `GET /admin/indicateurs.xml`.
async fn xml(cx: Cx, Admin(_): Admin, Query(query): Query) -> Handled {
    let state = &cx.st;
    let report = report_query(state, &query)?;
    let lines = lines(state, &report).await?;
    let body = to_xml(&state.config.etablissement, &report, &lines)
        .map_err(|e| Fail::Internal(e.to_string()))?;
    download(body, "application/xml; charset=utf-8", &report, "xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(service: &str, counts: [u64; 3], users: u64) -> Usage {
        Usage {
            day: "2027-01-15".into(),
            service: service.into(),
            profile: "eleve".into(),
            counts,
            users,
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_ends_lines_with_crlf() {
        let out = to_csv("Lycée \"Hugo\", Paris", &[usage("agenda", [3, 1, 0], 2)]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "day,etablissement,service,profile,views,actions,resources,users\r\n\
             2027-01-15,\"Lycée \"\"Hugo\"\", Paris\",agenda,eleve,3,1,0,2\r\n"
        );
    }

    #[test]
    fn xml_escapes_attributes() {
        let report = ReportQuery {
            from: "2027-01-15".into(),
            to: "2027-01-15".into(),
            service: None,
        };
        let out = to_xml("A & <B>", &report, &[usage("agenda", [1, 0, 0], 1)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("etablissement=\"A &amp; &lt;B&gt;\""),
            "{text}"
        );
    }
}
