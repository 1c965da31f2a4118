//! The SDET service « agenda » (`agenda`).
//!
//! - **Agendas**: a personal one for everyone (`u:<uid>`), a shared one for each group
//!   that has the tool (`g:<group>`, its members read it, contributors and managers
//!   write it: a group's managers set who is which), the établissement's (`etab`, read
//!   and written by the profiles the établissement sets in `cartable.toml`, the settings
//!   `etab_readers` and `etab_writers` of `[portlets.agenda.preferences]`, over
//!   [`Agenda::etablissement`]; see [`calendars::EtabRule`]).
//!   A user lets other users or groups write her personal agenda (grants).
//! - **Events** are iCalendar objects (RFC 5545, [`ics`]): time zone kept (the
//!   établissement's, Europe/Paris, by default), whole days, recurrences (RRULE, RDATE,
//!   EXDATE, overridden instances) expanded by the `rrule` crate, location,
//!   description, reminders (VALARM). What a client stored comes back to it as it was.
//! - **The superposed view**: day, week and month, as tables, of her agenda, the
//!   agendas she reads, and what other services publish into it through the contract's
//!   calendar source capability.
//! - **Import, export, archive**: `.ics` files (bounded: [`ics::MAX_FILE`],
//!   [`ics::MAX_OBJECTS`], a count of what was kept and refused; nothing stored is lost
//!   on a bad file), a secret subscription URL per agenda
//!   (`<base>/flux/agenda/<token>/agenda.ics`), "Mes données"
//!   (`agenda/personnel.ics`).
//! - **CalDAV** through the DAV foundation (`cartable-dav`), with application passwords.
//! - **Notifications**: a change to a shared agenda is published to its readers (the
//!   socle's notifications and their e-mail digest); a change by someone else to a
//!   personal agenda, to its owner.
//! - **Reminders**: an event's first VALARM is sent as a notification when it falls due,
//!   by the portlet's periodic task (every minute, [`reminders`]): to a personal agenda's
//!   owner, a group agenda's members, the établissement's agenda's readers.

pub mod calendars;
mod dav;
pub mod ics;
pub mod portable;
pub mod reminders;
pub mod store;
mod views;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;
use std::time::SystemTime;

use cartable_portlet::export::DataContext;
use cartable_portlet::prelude::*;
use cartable_portlet::secret::{SecretRequest, SecretResource};
use cartable_portlet::{
    GroupTool, LocalizedText, ProfileList, ServiceSchema, Services, markup_value, migration,
};
use cartable_socle::{Audience, Notification};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use calendars::{Access, EtabRule, Kind, Labels};

/// The portlet's id, its group tool's, its secret URLs'.
pub const ID: &str = "agenda";
/// The service's name: its tables' owner and its folder in "Mes données".
pub const SERVICE: &str = "agenda";
/// The subscription file's name.
pub const FEED_FILE: &str = "agenda.ics";

/// The window's messages (`locales/*.ftl`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The most instances a view shows (beyond them, the view says so).
const MAX_SHOWN: usize = 2_000;

/// Unix seconds of a time.
pub(crate) fn seconds(t: SystemTime) -> i64 {
    DateTime::<Utc>::from(t).timestamp()
}

/// The kind of change notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Created,
    Changed,
    Deleted,
}

/// The agenda portlet (see the [crate](crate)). Actions (POST, with the CSRF token):
///
/// | `op` | fields |
/// |---|---|
/// | `create` | `title`, `calendar`, `day`, `all_day=oui`, `start`, `end`, `location`, `description`, `repeat` (`none`, `daily`, `weekly`, `monthly`, `yearly`), `until`, `reminder` (minutes) |
/// | `delete` | `calendar`, `name` |
/// | `import` | `calendar`, a file `file` (multipart) |
/// | `token-new`, `token-revoke` | `calendar` |
/// | `grant`, `ungrant` | `grantee` (a login, or `g:<group>`) |
pub struct Agenda {
    descriptor: Descriptor,
    templates: Templates,
    etab: EtabRule,
}

impl fmt::Debug for Agenda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agenda")
            .field("etab", &self.etab)
            .finish_non_exhaustive()
    }
}

impl Default for Agenda {
    fn default() -> Self {
        Self::new()
    }
}

/// One instance as the views show it.
#[derive(Debug, Clone, Serialize)]
struct Shown {
    #[serde(skip)]
    start: DateTime<Utc>,
    #[serde(skip)]
    end: DateTime<Utc>,
    #[serde(skip)]
    all_day: bool,
    time: Option<String>,
    title: String,
    location: String,
    description: String,
    calendar: String,
    source: String,
    delete: Option<BTreeMap<&'static str, String>>,
}

/// One day of a view.
#[derive(Debug, Clone, Serialize)]
struct Day {
    label: String,
    number: u32,
    url: String,
    today: bool,
    in_month: bool,
    events: Vec<Shown>,
}

/// What a view covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Day,
    Week,
    Month,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Day => "day",
            View::Week => "week",
            View::Month => "month",
        }
    }

    fn parse(s: Option<&str>) -> View {
        match s {
            Some("day") => View::Day,
            Some("month") => View::Month,
            _ => View::Week,
        }
    }

    /// The days shown for `date`: first and last (included).
    fn span(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            View::Day => (date, date),
            View::Week => {
                let monday =
                    date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (monday, monday + Duration::days(6))
            }
            View::Month => {
                let first = date.with_day(1).unwrap_or(date);
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                }
                .unwrap_or(first);
                let start =
                    first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
                let last = next - Duration::days(1);
                let end =
                    last + Duration::days(i64::from(6 - last.weekday().num_days_from_monday()));
                (start, end)
            }
        }
    }

    /// The date of the previous and next view.
    fn step(self, date: NaiveDate, forward: bool) -> NaiveDate {
        let sign = if forward { 1 } else { -1 };
        match self {
            View::Day => date + Duration::days(sign),
            View::Week => date + Duration::days(7 * sign),
            View::Month => {
                let (y, m) = (date.year(), date.month() as i32 + sign as i32);
                let (y, m) = if m < 1 {
                    (y - 1, 12)
                } else if m > 12 {
                    (y + 1, 1)
                } else {
                    (y, m)
                };
                NaiveDate::from_ymd_opt(y, m as u32, 1).unwrap_or(date)
            }
        }
    }
}

/// The CSS class of an agenda's kind (its colour in the theme).
fn source_of(kind: &Kind) -> &'static str {
    match kind {
        Kind::Own => "own",
        Kind::Granted(_) => "granted",
        Kind::Group(_) => "group",
        Kind::Etablissement => "etab",
    }
}

/// A day typed in a form or a URL.
fn parse_day(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .ok()
}

fn parse_time(v: &str) -> Option<NaiveTime> {
    let v = v.trim();
    NaiveTime::parse_from_str(v, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M:%S"))
        .or_else(|_| NaiveTime::parse_from_str(v, "%Hh%M"))
        .ok()
}

/// A resource name for a UID: what CalDAV clients would choose.
pub(crate) fn name_for(uid: &str) -> String {
    let safe: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    format!("{safe}.ics")
}

impl Agenda {
    /// The portlet: everyone reads the établissement's agenda, staff and administrators
    /// write it.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(ID, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("organisation")
            .mode(Mode::Help)
            .group_tool(GroupTool::new(LocalizedText::from_messages(
                &MESSAGES,
                "group-tool",
            )))
            // Imports are files: an .ics file, at most `ics::MAX_FILE` bytes.
            .upload_limit(ics::MAX_FILE as u64 + 64 * 1024)
            // Who reads and writes the établissement's agenda, set in cartable.toml.
            .setting(
                PreferenceSpec::new(
                    EtabRule::READERS,
                    LocalizedText::from_messages(&MESSAGES, "setting-etab-readers"),
                    "*",
                )
                .profiles(),
            )
            .setting(
                PreferenceSpec::new(
                    EtabRule::WRITERS,
                    LocalizedText::from_messages(&MESSAGES, "setting-etab-writers"),
                    "personnel, admin",
                )
                .profiles(),
            );
        let templates = Templates::new([
            ("view", views::VIEW),
            ("manage", views::MANAGE),
            ("help", views::HELP),
        ])
        .expect("the agenda templates compile")
        .with_messages(&MESSAGES);
        Agenda {
            descriptor,
            templates,
            etab: EtabRule::default(),
        }
    }

    /// Who reads (`readers`, empty: everyone) and who writes the établissement's agenda
    /// unless the établissement sets it in its configuration (the settings `etab_readers`
    /// and `etab_writers`, see [`EtabRule`]), which then wins.
    pub fn etablissement(
        mut self,
        readers: impl IntoIterator<Item = Profile>,
        writers: impl IntoIterator<Item = Profile>,
    ) -> Self {
        let readers: Vec<Profile> = readers.into_iter().collect();
        self.etab = EtabRule {
            readers: if readers.is_empty() {
                ProfileList::Everyone
            } else {
                ProfileList::Profiles(readers)
            },
            writers: ProfileList::Profiles(writers.into_iter().collect()),
        };
        // The settings' defaults say the same, as every door reads them.
        for spec in &mut self.descriptor.preferences {
            if spec.name == EtabRule::READERS {
                spec.default = EtabRule::setting_value(&self.etab.readers);
            } else if spec.name == EtabRule::WRITERS {
                spec.default = EtabRule::setting_value(&self.etab.writers);
            }
        }
        self
    }

    pub(crate) fn labels_in(&self, locale: &str) -> Labels {
        Labels {
            own: MESSAGES.get(locale, "own-agenda"),
            of_person: MESSAGES.get(locale, "agenda-of"),
            etab: MESSAGES.get(locale, "etab-agenda"),
        }
    }

    async fn access(&self, ctx: &PortletContext) -> Result<Vec<Access>, PortletError> {
        calendars::of(
            ctx.services(),
            ctx.user(),
            &self.etab,
            &self.labels_in(ctx.locale()),
        )
        .await
    }

    /// Publish a change of a shared agenda to its readers (a personal one: to its owner,
    /// when someone else changed it). A failure to notify is logged: the change stays.
    pub(crate) async fn notify(
        &self,
        services: &Services,
        user: &Person,
        a: &Access,
        change: Change,
        summary: &str,
        locale: &str,
    ) {
        let audience = match &a.kind {
            Kind::Own => return,
            Kind::Granted(owner) => Audience::Users(vec![owner.clone()]),
            Kind::Group(g) => Audience::Groups(vec![g.clone()]),
            Kind::Etablissement => self.etab.in_force(services).audience(),
        };
        let key = match change {
            Change::Created => "notify-created",
            Change::Changed => "notify-changed",
            Change::Deleted => "notify-deleted",
        };
        let summary: String = summary
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let title = MESSAGES.get_args(
            locale,
            key,
            &args! { "agenda" => a.name.clone(), "event" => summary, "who" => user.display_name.clone() },
        );
        let title: String = title
            .chars()
            .filter(|c| !c.is_control())
            .take(900)
            .collect();
        let n = Notification {
            source: ID.into(),
            title,
            link: None,
            audience,
            at: services.clock.now(),
        };
        if let Err(e) = services.notifier.publish(n).await {
            tracing::warn!("agenda change not notified: {e}");
        }
    }

    /// The instances of the agendas `list` in `[from, to)`, with who may delete them.
    async fn shown(
        &self,
        ctx: &PortletContext,
        list: &[Access],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Shown>, PortletError> {
        let zone = ctx.time_zone();
        let keys: Vec<String> = list.iter().map(|a| a.key.clone()).collect();
        let rows = store::in_range(ctx.db()?, &keys, from.timestamp(), to.timestamp()).await?;
        let dates = ctx.dates();
        let mut out = Vec::new();
        for row in rows {
            let Some(a) = list.iter().find(|a| a.key == row.calendar) else {
                continue;
            };
            let object = match ics::read_object(row.ics.as_bytes(), zone) {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(calendar = %row.calendar, name = %row.name, "unreadable event: {e}");
                    continue;
                }
            };
            for i in ics::instances(&object.event, zone, from, to) {
                let time = (!i.all_day).then(|| {
                    format!(
                        "{}–{}",
                        dates.instant(i.start, DateStyle::Time),
                        dates.instant(i.end, DateStyle::Time)
                    )
                });
                out.push(Shown {
                    start: i.start,
                    end: i.end,
                    all_day: i.all_day,
                    time,
                    title: i.summary,
                    location: i.location,
                    description: i.description,
                    calendar: a.name.clone(),
                    source: source_of(&a.kind).into(),
                    delete: a.write.then(|| {
                        BTreeMap::from([("calendar", a.id.clone()), ("name", row.name.clone())])
                    }),
                });
                if out.len() >= MAX_SHOWN {
                    break;
                }
            }
        }
        out.extend(self.sourced(ctx, from, to).await);
        out.sort_by(|a, b| b.all_day.cmp(&a.all_day).then(a.start.cmp(&b.start)));
        Ok(out)
    }

    /// The calendar sources the user may use (their portlet's audience), each with its
    /// name in her language.
    fn sources<'a>(
        &self,
        ctx: &'a PortletContext,
    ) -> Vec<(&'a dyn cartable_portlet::calendar::CalendarSource, String)> {
        let profiles = &ctx.user().profiles;
        ctx.services()
            .calendar_sources
            .iter()
            .filter(|p| p.descriptor().id != ID && p.descriptor().audience.allows(profiles))
            .filter_map(|p| p.calendar_source())
            .map(|s| (s, s.name().get(ctx.locale()).to_string()))
            .collect()
    }

    /// What the calendar sources publish for her in `[from, to)`. A source that fails is
    /// left out of the view (and logged): it never breaks the agenda.
    async fn sourced(
        &self,
        ctx: &PortletContext,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Shown> {
        let dates = ctx.dates();
        let cx = DataContext::new(
            std::sync::Arc::new(ctx.user().clone()),
            ctx.services().clone(),
            ctx.locale(),
        );
        let mut out = Vec::new();
        for (source, name) in self.sources(ctx) {
            let events = match source.events(&cx, from, to).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(source = %name, "calendar source failed: {e}");
                    continue;
                }
            };
            for e in events.into_iter().take(MAX_SHOWN) {
                let time = (!e.all_day).then(|| {
                    format!(
                        "{}–{}",
                        dates.instant(e.start, DateStyle::Time),
                        dates.instant(e.end, DateStyle::Time)
                    )
                });
                out.push(Shown {
                    start: e.start,
                    end: e.end,
                    all_day: e.all_day,
                    time,
                    title: e.title,
                    location: e.location,
                    description: e.description,
                    calendar: name.clone(),
                    source: "source".into(),
                    delete: None,
                });
            }
        }
        out
    }

    async fn render_view(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let zone = ctx.time_zone();
        let today = ctx.today();
        let view = View::parse(ctx.param("view"));
        let date = ctx.param("date").and_then(parse_day).unwrap_or(today);
        let (first, last) = view.span(date);
        let from = ics::midnight(first, zone);
        let to = ics::midnight(last + Duration::days(1), zone);
        let list = self.access(ctx).await?;
        let shown = self.shown(ctx, &list, from, to).await?;
        let dates = ctx.dates();
        let urls = ctx.urls();
        let maximized = ctx.window().state == WindowState::Maximized;
        let state = ctx.window().state;
        let url_for = |v: View, d: NaiveDate| {
            urls.render()
                .state(state)
                .param("view", v.name())
                .param("date", d.format("%Y-%m-%d"))
                .to_string()
        };
        let mut days = Vec::new();
        let mut d = first;
        while d <= last {
            let start = ics::midnight(d, zone);
            let end = ics::midnight(d + Duration::days(1), zone);
            let events: Vec<Shown> = shown
                .iter()
                .filter(|s| {
                    s.start < end && (s.end > start || (s.end == s.start && s.start >= start))
                })
                .cloned()
                .collect();
            days.push(Day {
                label: dates.date(d, DateStyle::Long),
                number: d.day(),
                url: url_for(View::Day, d),
                today: d == today,
                in_month: view != View::Month || d.month() == date.month(),
                events,
            });
            d += Duration::days(1);
        }
        let caption = match view {
            View::Day => dates.date(date, DateStyle::Long),
            View::Week => ctx.t_args(
                &MESSAGES,
                "week-of",
                &args! { "from" => dates.date(first, DateStyle::Long), "to" => dates.date(last, DateStyle::Long) },
            ),
            View::Month => {
                let name = dates.date(date, DateStyle::Long);
                // "mardi 1 décembre 2026" → the month and year: the last two words.
                let words: Vec<&str> = name.split(' ').collect();
                words[words.len().saturating_sub(2)..].join(" ")
            }
        };
        let weeks: Vec<Vec<Day>> = days.chunks(7).map(<[Day]>::to_vec).collect();
        let weekdays: Vec<_> = (0..7)
            .map(|i| {
                let d = first + Duration::days(i);
                let long = dates.date(d, DateStyle::Long);
                let name = long.split(' ').next().unwrap_or("").to_string();
                let short: String = name.chars().take(3).collect();
                context! { long => name, short }
            })
            .collect();
        let prev = view.step(date, false);
        let next = view.step(date, true);
        let views: Vec<_> = [View::Day, View::Week, View::Month]
            .iter()
            .map(|v| {
                context! {
                    label => ctx.t(&MESSAGES, &format!("view-{}", v.name())),
                    url => url_for(*v, date),
                    current => *v == view,
                }
            })
            .collect();
        let mut calendars: Vec<_> = list
            .iter()
            .map(|a| context! { name => a.name.as_str(), write => a.write, source => source_of(&a.kind) })
            .collect();
        calendars.extend(
            self.sources(ctx)
                .into_iter()
                .map(|(_, name)| context! { name, write => false, source => "source" }),
        );
        let done = ctx
            .param("done")
            .filter(|d| ["created", "deleted", "token", "grant"].contains(d))
            .map(|d| ctx.t(&MESSAGES, &format!("done-{d}")));
        let report = ctx.param("imported").map(|kept| {
            let refused = ctx.param("refused").unwrap_or("0");
            let over = ctx.param("over").unwrap_or("0");
            context! {
                summary => ctx.t_args(&MESSAGES, "import-report", &args! { "kept" => kept.to_string(), "refused" => refused.to_string(), "over" => over.to_string() }),
                refused => ctx.param("why").map(|w| vec![w.to_string()]),
            }
        });
        // Each view its own page title (WCAG 2.4.2): the agenda, what it shows, the forms.
        let mut title = format!("{} – {caption}", ctx.t(&MESSAGES, "title"));
        if maximized {
            title.push_str(" – ");
            title.push_str(&ctx.t(&MESSAGES, "manage"));
        }
        let manage = if maximized || ctx.form().is_some() {
            self.render_manage(ctx, &list, date).await?
        } else {
            Markup::default()
        };
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                view => view.name(),
                caption,
                days => Serde(&days),
                weeks => Serde(&weeks),
                weekdays,
                views,
                calendars,
                done,
                report,
                maximized,
                nav => context! {
                    prev => url_for(view, prev),
                    next => url_for(view, next),
                    today => url_for(view, today),
                    prev_label => dates.date(prev, DateStyle::Long),
                    next_label => dates.date(next, DateStyle::Long),
                },
                manage_url => urls.render().state(WindowState::Maximized).param("view", view.name()).param("date", date.format("%Y-%m-%d")).to_string(),
                manage => markup_value(&manage),
                action => urls.action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )?;
        Ok(RenderResponse::new(markup).title(title))
    }

    async fn render_manage(
        &self,
        ctx: &PortletContext,
        list: &[Access],
        date: NaiveDate,
    ) -> Result<Markup, PortletError> {
        let db = ctx.db()?;
        let urls = ctx.urls();
        let writable: Vec<_> = list
            .iter()
            .filter(|a| a.write)
            .map(|a| context! { id => a.id.as_str(), name => a.name.as_str() })
            .collect();
        let mut calendars = Vec::new();
        for a in list {
            let feed = store::token_of(db, &ctx.user().id, &a.key)
                .await?
                .map(|t| urls.secret(ID, &t, FEED_FILE));
            calendars.push(context! {
                id => a.id.as_str(),
                name => a.name.as_str(),
                export => urls.resource("export").param("calendar", &a.id).to_string(),
                feed,
            });
        }
        let own = format!("u:{}", ctx.user().id);
        let mut grants = Vec::new();
        let groups = calendars::groups(ctx.services());
        for g in store::grants(db, &own).await? {
            let label = if let Some(uid) = g.strip_prefix("u:") {
                match ctx.directory().person(uid).await? {
                    Some(p) => format!("{} ({uid})", p.display_name),
                    None => uid.to_string(),
                }
            } else if let Some(gid) = g.strip_prefix("g:") {
                match groups.get(gid).await {
                    Ok(Some(group)) => group.name,
                    _ => gid.to_string(),
                }
            } else {
                g.clone()
            };
            grants.push(context! { value => g, label });
        }
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(form) = ctx.form() {
            for n in [
                "title",
                "calendar",
                "day",
                "all_day",
                "start",
                "end",
                "location",
                "description",
                "repeat",
                "until",
                "reminder",
            ] {
                if let Some(v) = form.value(n) {
                    values.insert(n, v.to_string());
                }
            }
        } else {
            values.insert("day", date.format("%Y-%m-%d").to_string());
            values.insert("start", "08:00".into());
            values.insert("end", "09:00".into());
        }
        let repeats: Vec<_> = ["none", "daily", "weekly", "monthly", "yearly"]
            .iter()
            .map(|r| context! { value => *r, label => ctx.t(&MESSAGES, &format!("repeat-{r}")) })
            .collect();
        let reminders: Vec<_> = [
            ("", "reminder-none"),
            ("10", "reminder-10"),
            ("60", "reminder-60"),
            ("1440", "reminder-1440"),
        ]
        .iter()
        .map(|(v, k)| context! { value => *v, label => ctx.t(&MESSAGES, k) })
        .collect();
        self.templates.render_for(
            ctx,
            "manage",
            context! {
                writable,
                calendars,
                grants,
                values => Serde(&values),
                repeats,
                reminders,
                ns => ctx.window().namespace(),
                action => urls.action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )
    }

    /// `op=create`: the event form, checked; every message at once.
    async fn create(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let mut form = InvalidForm::new(request);
        let field = |n: &str| request.field(n).unwrap_or("").trim().to_string();
        let title = field("title");
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            form.field("title", ctx.t(&MESSAGES, "error-title"));
        }
        let calendar = calendars::find(&list, &field("calendar"))
            .filter(|a| a.write)
            .cloned();
        if calendar.is_none() {
            form.general(ctx.t(&MESSAGES, "error-calendar"));
        }
        let day = parse_day(&field("day"));
        if day.is_none() {
            form.field("day", ctx.t(&MESSAGES, "error-day"));
        }
        let all_day = request.field("all_day") == Some("oui");
        let times = if all_day {
            None
        } else {
            let start = parse_time(&field("start"));
            let end = parse_time(&field("end"));
            if start.is_none() {
                form.field("start", ctx.t(&MESSAGES, "error-time"));
            }
            if end.is_none() {
                form.field("end", ctx.t(&MESSAGES, "error-time"));
            }
            start.zip(end)
        };
        let until = match field("until").as_str() {
            "" => None,
            v => match parse_day(v) {
                Some(d) => Some(d),
                None => {
                    form.field("until", ctx.t(&MESSAGES, "error-day"));
                    None
                }
            },
        };
        let rrule = match field("repeat").as_str() {
            "" | "none" => None,
            f @ ("daily" | "weekly" | "monthly" | "yearly") => {
                let mut r = format!("FREQ={}", f.to_uppercase());
                if let Some(u) = until {
                    r.push_str(&format!(";UNTIL={}", u.format("%Y%m%dT235959Z")));
                }
                Some(r)
            }
            _ => {
                form.general(ctx.t(&MESSAGES, "error-repeat"));
                None
            }
        };
        let reminder = match field("reminder").as_str() {
            "" => None,
            v => match v.parse::<u32>() {
                Ok(m) if m <= 40_320 => Some(m),
                _ => {
                    form.general(ctx.t(&MESSAGES, "error-reminder"));
                    None
                }
            },
        };
        let location: String = field("location").chars().take(200).collect();
        let description: String = request
            .field("description")
            .unwrap_or("")
            .chars()
            .take(5000)
            .collect();
        let (Some(a), Some(day)) = (calendar, day) else {
            return Err(PortletError::Invalid(Box::new(form)));
        };
        form.check()?;
        let now = ctx.clock().now();
        let uid = format!("{}@cartable", cartable_socle::random_token());
        let text = ics::write_event(&ics::NewEvent {
            uid: uid.clone(),
            summary: title.clone(),
            location,
            description,
            day,
            times,
            last_day: day,
            zone: ctx.time_zone(),
            rrule,
            reminder,
            stamp: DateTime::<Utc>::from(now),
        });
        let object = ics::read_object(text.as_bytes(), ctx.time_zone())
            .map_err(|e| PortletError::BadRequest(e.to_string()))?;
        store::put(
            ctx.db()?,
            store::Put {
                calendar: &a.key,
                name: &name_for(&uid),
                object: &object,
                author: &ctx.user().id,
                now: seconds(now),
                precondition: &cartable_portlet::dav::Precondition::Absent,
                zone: ctx.time_zone(),
            },
        )
        .await
        .map_err(|e| PortletError::Conflict(e.to_string()))?;
        self.notify(
            ctx.services(),
            ctx.user(),
            &a,
            Change::Created,
            &title,
            ctx.locale(),
        )
        .await;
        Ok(ActionResponse::default()
            .param("done", "created")
            .param("view", "week")
            .param("date", day.format("%Y-%m-%d")))
    }

    /// `op=import`: an .ics file into an agenda she writes; a count of what was kept.
    async fn import(
        &self,
        ctx: &PortletContext,
        request: &mut ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let mut file = None;
        while let Some(part) = request.files.next().await? {
            if part.field == "file" {
                file = Some(part.bytes(ics::MAX_FILE).await.map_err(|_| {
                    PortletError::BadRequest(ctx.t(&MESSAGES, "error-file-too-large"))
                })?);
            }
        }
        let calendar_id = request
            .field("calendar")
            .or_else(|| {
                request
                    .files
                    .late_fields()
                    .get("calendar")
                    .map(String::as_str)
            })
            .unwrap_or("")
            .to_string();
        let a = calendars::find(&list, &calendar_id)
            .filter(|a| a.write)
            .cloned()
            .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-calendar")))?;
        let bytes =
            file.ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-no-file")))?;
        let zone = ctx.time_zone();
        let read =
            ics::read_file(&bytes, zone).map_err(|e| PortletError::BadRequest(e.to_string()))?;
        let db = ctx.db()?;
        let now = seconds(ctx.clock().now());
        let mut kept = 0usize;
        let mut refused = read.refused.clone();
        // One transaction: a failure of the database leaves the agenda as it was.
        let mut tx = db.begin().await?;
        for o in &read.objects {
            let existing = store::name_of_uid(&mut tx, &a.key, &o.event.uid).await?;
            let name = existing.unwrap_or_else(|| name_for(&o.event.uid));
            match store::put_in(
                &mut tx,
                &store::Put {
                    calendar: &a.key,
                    name: &name,
                    object: o,
                    author: &ctx.user().id,
                    now,
                    precondition: &cartable_portlet::dav::Precondition::None,
                    zone,
                },
            )
            .await
            {
                Ok(_) => kept += 1,
                Err(store::WriteError::Socle(e)) => return Err(e.into()),
                Err(e) => refused.push((o.event.uid.clone(), e.to_string())),
            }
        }
        tx.commit().await?;
        if kept > 0 {
            let summary = ctx.t_args(&MESSAGES, "notify-imported", &args! { "n" => kept });
            self.notify(
                ctx.services(),
                ctx.user(),
                &a,
                Change::Changed,
                &summary,
                ctx.locale(),
            )
            .await;
        }
        let mut r = ActionResponse::default()
            .state(WindowState::Maximized)
            .param("imported", kept)
            .param("refused", refused.len())
            .param("over", read.over_limit);
        if let Some((uid, why)) = refused.first() {
            let why: String = format!("{uid}: {why}").chars().take(300).collect();
            r = r.param("why", why);
        }
        Ok(r)
    }

    /// `op=delete`.
    async fn delete(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let a = calendars::find(&list, request.required("calendar")?)
            .filter(|a| a.write)
            .cloned()
            .ok_or(PortletError::Forbidden)?;
        let gone = store::delete(
            ctx.db()?,
            &a.key,
            request.required("name")?,
            &cartable_portlet::dav::Precondition::None,
        )
        .await
        .map_err(|e| match e {
            store::WriteError::Socle(s) => PortletError::Socle(s),
            other => PortletError::NotFound(other.to_string()),
        })?;
        let summary = ics::read_object(gone.ics.as_bytes(), ctx.time_zone())
            .map(|o| o.event.summary)
            .unwrap_or_default();
        self.notify(
            ctx.services(),
            ctx.user(),
            &a,
            Change::Deleted,
            &summary,
            ctx.locale(),
        )
        .await;
        Ok(ActionResponse::default().param("done", "deleted"))
    }

    /// `op=token-new`, `op=token-revoke`.
    async fn token(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
        revoke: bool,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let a = calendars::find(&list, request.required("calendar")?)
            .cloned()
            .ok_or(PortletError::Forbidden)?;
        let token = (!revoke).then(cartable_socle::random_token);
        store::set_token(ctx.db()?, &ctx.user().id, &a.key, token.as_deref()).await?;
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("done", "token"))
    }

    /// `op=grant`, `op=ungrant`: who else writes her personal agenda.
    async fn grant(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
        on: bool,
    ) -> Result<ActionResponse, PortletError> {
        let raw = request.required("grantee")?.trim();
        let grantee = if let Some(g) = raw.strip_prefix("g:") {
            if on {
                let found = calendars::groups(ctx.services())
                    .groups_of(&ctx.user().id)
                    .await
                    .map_err(|e| PortletError::Internal(e.to_string()))?;
                if !found.iter().any(|x| x.id == g) {
                    return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-grantee")));
                }
            }
            format!("g:{g}")
        } else {
            let uid = raw.strip_prefix("u:").unwrap_or(raw);
            if on && (uid == ctx.user().id || ctx.directory().person(uid).await?.is_none()) {
                return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-grantee")));
            }
            format!("u:{uid}")
        };
        store::set_grant(ctx.db()?, &format!("u:{}", ctx.user().id), &grantee, on).await?;
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("done", "grant"))
    }

    /// One agenda as an .ics file.
    pub(crate) async fn export_file(
        &self,
        db: &cartable_portlet::Database,
        a: &Access,
    ) -> Result<String, PortletError> {
        let all = store::all(db, &a.key).await?;
        let objects: Vec<String> = all.into_iter().map(|s| s.ics).collect();
        Ok(ics::join(&objects, &a.name))
    }
}

#[async_trait]
impl Portlet for Agenda {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(
            ServiceSchema::new(SERVICE)
                .sql(migration!("0001_agenda"))
                .sql(migration!("0002_reminders")),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    fn secret(&self) -> Option<&dyn SecretResource> {
        Some(self)
    }

    fn dav(&self) -> Option<&dyn cartable_portlet::dav::DavService> {
        Some(self)
    }

    fn periodic(&self) -> Option<&dyn cartable_portlet::periodic::Periodic> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Help => Ok(self.templates.render_for(ctx, "help", ())?.into()),
            _ => self.render_view(ctx).await,
        }
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        mut request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let op = request
            .field("op")
            .or_else(|| request.files.late_fields().get("op").map(String::as_str))
            .unwrap_or("")
            .to_string();
        match op.as_str() {
            "create" => self.create(ctx, &request).await,
            "delete" => self.delete(ctx, &request).await,
            "import" => self.import(ctx, &mut request).await,
            "token-new" => self.token(ctx, &request, false).await,
            "token-revoke" => self.token(ctx, &request, true).await,
            "grant" => self.grant(ctx, &request, true).await,
            "ungrant" => self.grant(ctx, &request, false).await,
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
        let list = self.access(ctx).await?;
        let id = request
            .params
            .get("calendar")
            .map_or("personnel", String::as_str);
        let a = calendars::find(&list, id)
            .ok_or_else(|| PortletError::NotFound(format!("no agenda {id}")))?;
        let text = self.export_file(ctx.db()?, a).await?;
        Ok(
            ResourceResponse::bytes("text/calendar; charset=utf-8", text)
                .attachment(&format!("{}.ics", a.id)),
        )
    }
}

#[async_trait]
impl SecretResource for Agenda {
    async fn owner(
        &self,
        services: &Services,
        token: &str,
    ) -> Result<Option<String>, PortletError> {
        let Some(db) = services.db.as_ref() else {
            return Ok(None);
        };
        Ok(store::token_owner(db, token).await?.map(|(owner, _)| owner))
    }

    async fn serve(
        &self,
        cx: &DataContext,
        request: SecretRequest,
    ) -> Result<ResourceResponse, PortletError> {
        if request.file != FEED_FILE {
            return Err(PortletError::NotFound(request.file));
        }
        let db = cx.db()?;
        let Some((owner, key)) = store::token_owner(db, &request.token).await? else {
            return Err(PortletError::NotFound(String::new()));
        };
        if owner != cx.user().id {
            return Err(PortletError::NotFound(String::new()));
        }
        // She must still read it (left the group, profile changed: 404).
        let list = calendars::of(
            cx.services(),
            cx.user(),
            &self.etab,
            &self.labels_in(cx.locale()),
        )
        .await?;
        let a = list
            .iter()
            .find(|a| a.key == key)
            .ok_or_else(|| PortletError::NotFound(String::new()))?;
        let text = self.export_file(db, a).await?;
        Ok(ResourceResponse::bytes(
            "text/calendar; charset=utf-8",
            text,
        ))
    }
}

#[cfg(test)]
mod tests;
