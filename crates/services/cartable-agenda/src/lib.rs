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
//!   calendar source capability. A small form (a GET, without JavaScript) hides some of
//!   them; the choice can be kept as the window's preference `hidden`.
//! - **Editing from the page**: each event she may write has a "Modifier" link to the
//!   event form, pre-filled; the change goes through the `icalendar` crate and keeps what
//!   the form does not show ([`edit`]); a change made meanwhile elsewhere (a CalDAV
//!   client) is never overwritten: the form comes back with the event as it now is. A
//!   recurring event is changed as a series.
//! - **Attachments** ([`attachments`]): files added on the event form, kept in the
//!   socle's file store against the quota of whoever adds them, named in the event by an
//!   `ATTACH`, served only to the readers of an agenda holding that event, deleted with
//!   it.
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

pub mod attachments;
pub mod calendars;
mod dav;
pub mod edit;
pub mod ics;
pub mod portable;
pub mod reminders;
pub mod store;
mod view_cache;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;
use std::time::SystemTime;

use cartable_portlet::export::DataContext;
use cartable_portlet::form::InvalidForm;
use cartable_portlet::prelude::*;
use cartable_portlet::secret::{SecretRequest, SecretResource};
use cartable_portlet::{
    GroupTool, LocalizedText, PreferenceSpec, ProfileList, ServiceSchema, Services, markup_value,
    migration,
};
use cartable_socle::{Audience, Notification};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use calendars::{Access, EtabRule, Kind, Labels};
use edit::parse_day;

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

/// The window's preference that keeps the agendas she hides: their ids (`personnel`,
/// `groupe.<id>`, `etablissement`, `source.<portlet>`), separated by spaces.
pub const HIDDEN: &str = "hidden";

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

/// The agenda portlet (see the [crate]). Actions (POST, with the CSRF token):
///
/// | `op` | fields |
/// |---|---|
/// | `create` | `title`, `calendar`, `day`, `all_day=oui`, `start`, `end`, `last_day`, `location`, `description`, `repeat` (`none`, `daily`, `weekly`, `monthly`, `yearly`), `until`, `reminder` (minutes); files `attachment` (multipart, optional) |
/// | `update` | hidden `calendar`, `name`, `etag`; the fields of `create` (`repeat=keep`: a rule the form cannot show, kept); `remove.<file id>=oui`; files `attachment` |
/// | `delete` | `calendar`, `name` (its attachments go with it) |
/// | `filter` | `hidden` (ids separated by spaces), `view`, `date`: keep the agendas hidden as the window's preference |
/// | `import` | `calendar`, a file `file` (multipart) |
/// | `token-new`, `token-revoke` | `calendar` |
/// | `grant`, `ungrant` | `grantee` (a login, or `g:<group>`) |
///
/// Resources: `export` (`calendar`: an agenda as .ics), `attachment` (`file`: a file
/// named by an event of an agenda she reads).
pub struct Agenda {
    descriptor: Descriptor,
    templates: Templates,
    etab: EtabRule,
    quota: u64,
}

impl fmt::Debug for Agenda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agenda")
            .field("etab", &self.etab)
            .field("quota", &self.quota)
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
    /// The edit form's URL, when she may write it.
    edit: Option<String>,
    attachments: Vec<Link>,
}

/// An attachment as the views link it.
#[derive(Debug, Clone, Serialize)]
struct Link {
    name: String,
    url: String,
    /// A client's link elsewhere (not a file the agenda keeps).
    external: bool,
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

/// What one view covers: its kind, its date, and the instants it shows.
#[derive(Debug, Clone, Copy)]
struct Viewed {
    view: View,
    date: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
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

/// The largest form the window takes: an .ics file to import, or
/// [`attachments::MAX_AT_ONCE`] attachments, with the form's fields.
pub fn upload_limit() -> u64 {
    (ics::MAX_FILE as u64).max(attachments::MAX_AT_ONCE * attachments::MAX_SIZE) + 64 * 1024
}

/// Write an event from the form with the files it adds, in one transaction.
async fn put_with_files(
    db: &cartable_portlet::Database,
    put: store::Put<'_>,
    added: &[edit::NewAttachment],
) -> Result<(), store::WriteError> {
    let mut tx = db.begin().await?;
    store::put_in(&mut tx, &put).await?;
    attachments::grant(&mut tx, put.calendar, put.name, added).await?;
    tx.commit().await?;
    Ok(())
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
            // Files: an .ics file to import (at most `ics::MAX_FILE` bytes), or up to
            // `MAX_AT_ONCE` attachments of `MAX_SIZE` bytes; and the form's fields.
            .upload_limit(upload_limit())
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
        // Not through `Descriptor::preference`, which would offer the generic edit mode:
        // the view's own form sets it.
        let mut descriptor = descriptor;
        descriptor.preferences.push(
            PreferenceSpec::new(
                HIDDEN,
                LocalizedText::from_messages(&MESSAGES, "filter-legend"),
                "",
            )
            .max_len(4000),
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
            quota: attachments::DEFAULT_QUOTA,
        }
    }

    /// The quota of a user's file space, in bytes, against which the attachments she adds
    /// count ([`attachments::DEFAULT_QUOTA`] unless set).
    pub fn attachment_quota(mut self, bytes: u64) -> Self {
        self.quota = bytes;
        self
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
        Ok(self.listed(ctx).await?.0)
    }

    /// [`access`](Self::access), with the revisions read in the same statement.
    async fn listed(
        &self,
        ctx: &PortletContext,
    ) -> Result<(Vec<Access>, store::Listing), PortletError> {
        calendars::listed(
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

    /// The instances of the agendas `list` in `[from, to)`, with who may change them, and
    /// what the calendar sources she does not hide publish.
    async fn shown(
        &self,
        ctx: &PortletContext,
        list: &[Access],
        window: Viewed,
        hidden: &BTreeSet<String>,
    ) -> Result<Vec<Shown>, PortletError> {
        let (from, to) = (window.from, window.to);
        let zone = ctx.time_zone();
        let keys: Vec<String> = list.iter().map(|a| a.key.clone()).collect();
        let rows = store::in_range(ctx.db()?, &keys, from.timestamp(), to.timestamp()).await?;
        let dates = ctx.dates();
        let urls = ctx.urls();
        // The files the agenda opens, of the events that name some.
        let named: Vec<(String, String, String)> = rows
            .iter()
            .flat_map(|r| {
                attachments::of(&r.ics)
                    .into_iter()
                    .filter_map(|f| f.id)
                    .map(|id| (id, r.calendar.clone(), r.name.clone()))
            })
            .collect();
        let opened = if named.is_empty() {
            BTreeSet::new()
        } else {
            attachments::opened(ctx.db()?, &named).await?
        };
        let mut out = Vec::new();
        for row in rows {
            let Some(a) = list.iter().find(|a| a.key == row.calendar) else {
                continue;
            };
            let event = match ics::stored_event(&row.etag, &row.ics, zone) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(calendar = %row.calendar, name = %row.name, "unreadable event: {e}");
                    continue;
                }
            };
            let edit = a.write.then(|| {
                urls.render()
                    .state(WindowState::Maximized)
                    .param("view", window.view.name())
                    .param("date", window.date.format("%Y-%m-%d"))
                    .param("edit", &a.id)
                    .param("name", &row.name)
                    .to_string()
                    + "#"
                    + &ctx.window().namespace()
                    + "-form"
            });
            let links: Vec<Link> = attachments::of(&row.ics)
                .into_iter()
                .filter(|f| {
                    f.id.as_ref().is_none_or(|id| {
                        opened.contains(&(id.clone(), row.calendar.clone(), row.name.clone()))
                    })
                })
                .map(|f| match f.id {
                    Some(id) => Link {
                        name: f.name,
                        url: urls
                            .resource(attachments::RESOURCE)
                            .param("file", id)
                            .to_string(),
                        external: false,
                    },
                    None => Link {
                        name: f.name,
                        url: f.uri,
                        external: true,
                    },
                })
                .collect();
            for i in ics::instances(&event, zone, from, to) {
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
                    edit: edit.clone(),
                    attachments: links.clone(),
                });
                if out.len() >= MAX_SHOWN {
                    break;
                }
            }
        }
        out.extend(self.sourced(ctx, from, to, hidden).await);
        out.sort_by(|a, b| b.all_day.cmp(&a.all_day).then(a.start.cmp(&b.start)));
        Ok(out)
    }

    /// The calendar sources the user may use (their portlet's audience), each with its id
    /// in the filter (`source.<portlet>`) and its name in her language.
    fn sources<'a>(
        &self,
        ctx: &'a PortletContext,
    ) -> Vec<(
        String,
        &'a dyn cartable_portlet::calendar::CalendarSource,
        String,
    )> {
        let profiles = &ctx.user().profiles;
        ctx.services()
            .calendar_sources
            .iter()
            .filter(|p| p.descriptor().id != ID && p.descriptor().audience.allows(profiles))
            .filter_map(|p| {
                p.calendar_source()
                    .map(|s| (format!("source.{}", p.descriptor().id), s))
            })
            .map(|(id, s)| (id, s, s.name().get(ctx.locale()).to_string()))
            .collect()
    }

    /// What the calendar sources she does not hide publish for her in `[from, to)`. A
    /// source that fails is left out of the view (and logged): it never breaks the agenda.
    async fn sourced(
        &self,
        ctx: &PortletContext,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        hidden: &BTreeSet<String>,
    ) -> Vec<Shown> {
        let dates = ctx.dates();
        let cx = DataContext::new(
            std::sync::Arc::new(ctx.user().clone()),
            ctx.services().clone(),
            ctx.locale(),
        );
        let mut out = Vec::new();
        for (id, source, name) in self.sources(ctx) {
            if hidden.contains(&id) {
                continue;
            }
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
                    edit: None,
                    attachments: Vec::new(),
                });
            }
        }
        out
    }

    /// The agendas and sources she hides (among `ids`): those she left unticked in the
    /// filter form when the view comes from it (`filter=1`), else her window's
    /// preference; and whether it came from the form.
    fn hidden(ctx: &PortletContext, ids: &[String]) -> (BTreeSet<String>, bool) {
        if ctx.param("filter") == Some("1") {
            let hidden = ids
                .iter()
                .filter(|id| ctx.param(&format!("show.{id}")) != Some("oui"))
                .cloned()
                .collect();
            (hidden, true)
        } else {
            (Self::kept_hidden(ctx, ids), false)
        }
    }

    /// The agendas hidden by her window's preference (among `ids`).
    fn kept_hidden(ctx: &PortletContext, ids: &[String]) -> BTreeSet<String> {
        ctx.preferences
            .get(HIDDEN)
            .unwrap_or("")
            .split_whitespace()
            .filter(|id| ids.iter().any(|i| i == id))
            .map(str::to_string)
            .collect()
    }

    async fn render_view(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let zone = ctx.time_zone();
        let today = ctx.today();
        let view = View::parse(ctx.param("view"));
        let date = ctx.param("date").and_then(parse_day).unwrap_or(today);
        let (first, last) = view.span(date);
        let from = ics::midnight(first, zone);
        let to = ics::midnight(last + Duration::days(1), zone);
        let (list, listing) = self.listed(ctx).await?;
        let sources = self.sources(ctx);
        let ids: Vec<String> = list
            .iter()
            .map(|a| a.id.clone())
            .chain(sources.iter().map(|(id, _, _)| id.clone()))
            .collect();
        let (hidden, chosen) = Self::hidden(ctx, &ids);
        let visible: Vec<Access> = list
            .iter()
            .filter(|a| !hidden.contains(&a.id))
            .cloned()
            .collect();
        let window = Viewed {
            view,
            date,
            from,
            to,
        };
        // The view as it was rendered, if nothing it shows has changed (`view_cache`).
        let cacheable = ctx.window().state != WindowState::Maximized
            && ctx.form().is_none()
            && ctx.param("done").is_none()
            && ctx.param("imported").is_none()
            && sources.iter().all(|(id, _, _)| hidden.contains(id));
        let kept_key = if cacheable {
            let keys: Vec<String> = visible.iter().map(|a| a.key.clone()).collect();
            let revs = store::view_revs(ctx.db()?, &listing, &keys).await?;
            let mut parts: Vec<String> = vec![
                ctx.user().id.clone(),
                ctx.locale().to_string(),
                zone.name().to_string(),
                today.to_string(),
                view.name().to_string(),
                date.to_string(),
                ctx.urls().render().to_string(),
                ctx.window().namespace(),
                ctx.csrf_token().to_string(),
                chosen.to_string(),
                hidden.iter().cloned().collect::<Vec<_>>().join(" "),
                Self::kept_hidden(ctx, &ids)
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(" "),
            ];
            for a in &list {
                parts.extend([
                    a.key.clone(),
                    a.id.clone(),
                    a.name.clone(),
                    a.write.to_string(),
                ]);
            }
            parts.extend(revs.iter().map(i64::to_string));
            let key = view_cache::key(parts.iter().map(String::as_str));
            if let Some(kept) = view_cache::get(&key) {
                return Ok(RenderResponse::new(kept.markup.clone()).title(kept.title.clone()));
            }
            Some(key)
        } else {
            None
        };
        let shown = self.shown(ctx, &visible, window, &hidden).await?;
        let dates = ctx.dates();
        let urls = ctx.urls();
        let maximized = ctx.window().state == WindowState::Maximized;
        let state = ctx.window().state;
        // The filter chosen in the form travels with the view's links.
        let url_for = |v: View, d: NaiveDate| {
            let mut u = urls
                .render()
                .state(state)
                .param("view", v.name())
                .param("date", d.format("%Y-%m-%d"));
            if chosen {
                u = u.param("filter", "1");
                for id in ids.iter().filter(|id| !hidden.contains(*id)) {
                    u = u.param(&format!("show.{id}"), "oui");
                }
            }
            u.to_string()
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
        // The month view reads weeks, the others days: only what the template reads is
        // built (each is a copy of every event shown).
        let (days, weeks): (Vec<Day>, Vec<Vec<Day>>) = if view == View::Month {
            (Vec::new(), days.chunks(7).map(<[Day]>::to_vec).collect())
        } else {
            (days, Vec::new())
        };
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
            .map(|a| {
                context! {
                    id => a.id.as_str(),
                    name => a.name.as_str(),
                    write => a.write,
                    source => source_of(&a.kind),
                    shown => !hidden.contains(&a.id),
                }
            })
            .collect();
        calendars.extend(sources.iter().map(|(id, _, name)| {
            context! {
                id => id.as_str(),
                name => name.as_str(),
                write => false,
                source => "source",
                shown => !hidden.contains(id),
            }
        }));
        let hidden_list = hidden.iter().cloned().collect::<Vec<_>>().join(" ");
        let mut filter_fields = vec![
            ("p.filter", "1".to_string()),
            ("p.view", view.name().to_string()),
            ("p.date", date.format("%Y-%m-%d").to_string()),
        ];
        if maximized {
            filter_fields.push(("state", state.as_str().to_string()));
        }
        let filter = context! {
            action => urls.render().to_string(),
            fields => filter_fields,
            // A choice made in the form that is not her kept one: offer to keep it.
            save => chosen && hidden != Self::kept_hidden(ctx, &ids),
            hidden => hidden_list,
        };
        let done = ctx
            .param("done")
            .filter(|d| {
                [
                    "created",
                    "changed",
                    "unchanged",
                    "deleted",
                    "token",
                    "grant",
                    "filter",
                ]
                .contains(d)
            })
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
            self.render_manage(ctx, &list, view, date).await?
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
                filter,
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
                ns => ctx.window().namespace(),
                action => urls.action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )?;
        if let Some(key) = kept_key {
            view_cache::put(
                key,
                view_cache::Rendered {
                    markup: markup.clone(),
                    title: title.clone(),
                },
            );
        }
        Ok(RenderResponse::new(markup).title(title))
    }

    /// The event she asked to change (`edit`: its agenda's id, `name`), if she may write
    /// it and it is there.
    async fn editing(
        &self,
        ctx: &PortletContext,
        list: &[Access],
    ) -> Result<Option<(Access, store::Stored, ics::Object)>, PortletError> {
        let (Some(id), Some(name)) = (ctx.param("edit"), ctx.param("name")) else {
            return Ok(None);
        };
        let Some(a) = calendars::find(list, id).filter(|a| a.write) else {
            return Ok(None);
        };
        let Some(stored) = store::get(ctx.db()?, &a.key, name).await? else {
            return Ok(None);
        };
        match ics::read_object(stored.ics.as_bytes(), ctx.time_zone()) {
            Ok(object) => Ok(Some((a.clone(), stored, object))),
            Err(e) => {
                tracing::warn!(calendar = %a.key, %name, "unreadable event: {e}");
                Ok(None)
            }
        }
    }

    async fn render_manage(
        &self,
        ctx: &PortletContext,
        list: &[Access],
        view: View,
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
        let asked = ctx.param("edit").is_some();
        let editing = self.editing(ctx, list).await?;
        let zone = ctx.time_zone();
        let prefill = editing
            .as_ref()
            .map(|(_, _, object)| edit::prefill(object, zone));
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(form) = ctx.form() {
            for n in edit::FIELDS {
                if let Some(v) = form.value(n) {
                    values.insert(n, v.to_string());
                }
            }
        } else if let Some(p) = &prefill {
            values.clone_from(&p.values);
        } else {
            values.insert("day", date.format("%Y-%m-%d").to_string());
            values.insert("start", "08:00".into());
            values.insert("end", "09:00".into());
        }
        let edited = match (&editing, &prefill) {
            (Some((a, stored, object)), Some(p)) => {
                let files: Vec<_> = attachments::of(&stored.ics)
                    .into_iter()
                    .filter_map(|f| {
                        let id = f.id?;
                        let removed = ctx
                            .form()
                            .and_then(|form| form.value(&format!("remove.{id}")))
                            == Some("oui");
                        let url = urls
                            .resource(attachments::RESOURCE)
                            .param("file", &id)
                            .to_string();
                        Some(context! { url, id, name => f.name, removed })
                    })
                    .collect();
                Some(context! {
                    title => object.event.summary.as_str(),
                    calendar => a.id.as_str(),
                    agenda => a.name.as_str(),
                    name => stored.name.as_str(),
                    etag => ctx.form().and_then(|f| f.value("etag")).unwrap_or(stored.etag.as_str()),
                    recurring => p.recurring,
                    other_rule => p.other_rule.clone(),
                    other_zone => p.other_zone.clone(),
                    stale => ctx.param("stale") == Some("1"),
                    files,
                    action => urls.action()
                        .param("edit", &a.id)
                        .param("name", &stored.name)
                        .param("view", view.name())
                        .param("date", date.format("%Y-%m-%d"))
                        .to_string(),
                    cancel => urls.render()
                        .state(WindowState::Maximized)
                        .param("view", view.name())
                        .param("date", date.format("%Y-%m-%d"))
                        .to_string(),
                })
            }
            _ => None,
        };
        let mut repeats: Vec<_> = edit::REPEATS
            .iter()
            .map(|r| context! { value => *r, label => ctx.t(&MESSAGES, &format!("repeat-{r}")) })
            .collect();
        if let Some(rule) = prefill.as_ref().and_then(|p| p.other_rule.as_ref()) {
            repeats.insert(
                0,
                context! { value => "keep", label => ctx.t_args(&MESSAGES, "repeat-keep", &args! { "rule" => rule.clone() }) },
            );
        }
        let mut reminders: Vec<_> = [
            ("", "reminder-none"),
            ("10", "reminder-10"),
            ("60", "reminder-60"),
            ("1440", "reminder-1440"),
        ]
        .iter()
        .map(|(v, k)| context! { value => *v, label => ctx.t(&MESSAGES, k) })
        .collect();
        if let Some(m) = values
            .get("reminder")
            .filter(|m| !["", "10", "60", "1440"].contains(&m.as_str()))
            .and_then(|m| m.parse::<u32>().ok())
        {
            reminders.push(context! { value => m.to_string(), label => ctx.t_args(&MESSAGES, "reminder-minutes", &args! { "n" => m }) });
        }
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
                edited,
                edit_missing => asked && editing.is_none(),
                max_files => attachments::MAX_AT_ONCE,
                ns => ctx.window().namespace(),
                action => urls.action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )
    }

    /// The error messages of the event form, in her language.
    fn say(ctx: &PortletContext) -> impl Fn(&str) -> String + '_ {
        move |key: &str| ctx.t(&MESSAGES, key)
    }

    /// `op=create`: the event form, checked (every message at once), with its
    /// attachments.
    async fn create(
        &self,
        ctx: &PortletContext,
        request: &mut ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let mut form = InvalidForm::new(request);
        let say = Self::say(ctx);
        let checked = edit::check(|n| request.field(n), &mut form, &say, false);
        let calendar = calendars::find(&list, request.field("calendar").unwrap_or("").trim())
            .filter(|a| a.write)
            .cloned();
        if calendar.is_none() {
            form.general(ctx.t(&MESSAGES, "error-calendar"));
        }
        let (Some(c), Some(a)) = (checked, calendar) else {
            return Err(PortletError::Invalid(Box::new(form)));
        };
        form.check()?;
        let mut form = InvalidForm::new(request);
        let added = attachments::upload(
            ctx,
            request,
            &mut form,
            attachments::MAX_PER_EVENT,
            self.quota,
        )
        .await?;
        form.check()?;
        let now = ctx.clock().now();
        let stamp = DateTime::<Utc>::from(now);
        let uid = format!("{}@cartable", cartable_socle::random_token());
        let zone = ctx.time_zone();
        let text = ics::write_event(&ics::NewEvent {
            uid: uid.clone(),
            summary: c.title.clone(),
            location: c.location,
            description: c.description,
            day: c.span.day,
            times: c.span.times,
            last_day: c.span.last_day.unwrap_or(c.span.day),
            zone,
            rrule: c.rrule.flatten(),
            reminder: c.reminder,
            stamp,
        });
        let read = if added.is_empty() {
            ics::read_object(text.as_bytes(), zone)
        } else {
            let with_files = edit::Changes {
                add_files: added.clone(),
                ..edit::Changes::default()
            };
            edit::apply(&text, zone, &with_files, stamp)
        };
        let object = match read {
            Ok(o) => o,
            Err(e) => {
                attachments::forget_new(ctx, &added).await;
                return Err(PortletError::BadRequest(e.to_string()));
            }
        };
        let put = put_with_files(
            ctx.db()?,
            store::Put {
                calendar: &a.key,
                name: &name_for(&uid),
                object: &object,
                author: &ctx.user().id,
                now: seconds(now),
                precondition: &cartable_portlet::dav::Precondition::Absent,
                zone,
            },
            &added,
        )
        .await;
        if let Err(e) = put {
            attachments::forget_new(ctx, &added).await;
            return Err(match e {
                store::WriteError::Socle(s) => PortletError::Socle(s),
                other => PortletError::Conflict(other.to_string()),
            });
        }
        self.notify(
            ctx.services(),
            ctx.user(),
            &a,
            Change::Created,
            &c.title,
            ctx.locale(),
        )
        .await;
        Ok(ActionResponse::default()
            .param("done", "created")
            .param("view", "week")
            .param("date", c.span.day.format("%Y-%m-%d")))
    }

    /// `op=update`: the edit form of one event she may write, applied to the event as it
    /// is stored ([`edit`]) if nobody changed it since the form was shown.
    async fn update(
        &self,
        ctx: &PortletContext,
        request: &mut ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let a = calendars::find(&list, request.required("calendar")?)
            .filter(|a| a.write)
            .cloned()
            .ok_or(PortletError::Forbidden)?;
        let name = request.required("name")?.to_string();
        let etag = request.required("etag")?.to_string();
        let view = View::parse(request.field("view"));
        let date = request.field("date").and_then(parse_day);
        let stale = || {
            let mut r = ActionResponse::default()
                .state(WindowState::Maximized)
                .param("edit", &a.id)
                .param("name", &name)
                .param("stale", "1")
                .param("view", view.name());
            if let Some(d) = date {
                r = r.param("date", d.format("%Y-%m-%d"));
            }
            r
        };
        let db = ctx.db()?;
        let stored = store::get(db, &a.key, &name)
            .await?
            .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-event-gone")))?;
        if stored.etag != etag {
            return Ok(stale());
        }
        let zone = ctx.time_zone();
        let object = ics::read_object(stored.ics.as_bytes(), zone)
            .map_err(|e| PortletError::BadRequest(e.to_string()))?;
        let before = edit::prefill(&object, zone);
        let mut form = InvalidForm::new(request);
        let say = Self::say(ctx);
        let checked = edit::check(|n| request.field(n), &mut form, &say, true);
        let kept = attachments::of(&stored.ics);
        let remove: Vec<String> = kept
            .iter()
            .filter_map(|f| f.id.clone())
            .filter(|id| request.field(&format!("remove.{id}")) == Some("oui"))
            .collect();
        let Some(after) = checked else {
            return Err(PortletError::Invalid(Box::new(form)));
        };
        let staying = kept.iter().filter(|f| f.id.is_some()).count() - remove.len();
        let room = attachments::MAX_PER_EVENT.saturating_sub(staying);
        let added = attachments::upload(ctx, request, &mut form, room, self.quota).await?;
        form.check()?;
        let mut changes =
            edit::Changes::between(&before.checked, &after, edit::times_zone(&object, zone));
        changes.remove_files.clone_from(&remove);
        changes.add_files.clone_from(&added);
        let back = |done: &str| {
            ActionResponse::default()
                .param("done", done)
                .param("view", view.name())
                .param("date", after.span.day.format("%Y-%m-%d"))
        };
        if changes.is_empty() {
            return Ok(back("unchanged"));
        }
        let now = ctx.clock().now();
        let changed = match edit::apply(&stored.ics, zone, &changes, DateTime::<Utc>::from(now)) {
            Ok(o) => o,
            Err(e) => {
                attachments::forget_new(ctx, &added).await;
                return Err(PortletError::BadRequest(e.to_string()));
            }
        };
        let put = put_with_files(
            db,
            store::Put {
                calendar: &a.key,
                name: &name,
                object: &changed,
                author: &ctx.user().id,
                now: seconds(now),
                precondition: &cartable_portlet::dav::Precondition::Matches(etag.clone()),
                zone,
            },
            &added,
        )
        .await;
        match put {
            Ok(_) => {}
            Err(store::WriteError::Stale) => {
                attachments::forget_new(ctx, &added).await;
                return Ok(stale());
            }
            Err(e) => {
                attachments::forget_new(ctx, &added).await;
                return Err(match e {
                    store::WriteError::Socle(s) => PortletError::Socle(s),
                    other => PortletError::Conflict(other.to_string()),
                });
            }
        }
        attachments::delete_unnamed(ctx, &remove).await;
        self.notify(
            ctx.services(),
            ctx.user(),
            &a,
            Change::Changed,
            &changed.event.summary,
            ctx.locale(),
        )
        .await;
        Ok(back("changed"))
    }

    /// `op=filter`: keep the agendas she hides as the window's preference.
    async fn filter(
        &self,
        ctx: &mut PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let list = self.access(ctx).await?;
        let ids: Vec<String> = list
            .iter()
            .map(|a| a.id.clone())
            .chain(self.sources(ctx).into_iter().map(|(id, _, _)| id))
            .collect();
        let mut kept = String::new();
        for id in request.field(HIDDEN).unwrap_or("").split_whitespace() {
            if ids.iter().any(|i| i == id) && kept.len() + id.len() < 4000 {
                if !kept.is_empty() {
                    kept.push(' ');
                }
                kept.push_str(id);
            }
        }
        ctx.preferences
            .set(HIDDEN, kept)
            .map_err(|e| PortletError::BadRequest(e.to_string()))?;
        let mut r = ActionResponse::default()
            .param("done", "filter")
            .param("view", View::parse(request.field("view")).name());
        if let Some(d) = request.field("date").and_then(parse_day) {
            r = r.param("date", d.format("%Y-%m-%d"));
        }
        Ok(r)
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
        let files: Vec<String> = attachments::of(&gone.ics)
            .into_iter()
            .filter_map(|f| f.id)
            .collect();
        attachments::delete_unnamed(ctx, &files).await;
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

    /// The resource `attachment` (`file`): a file named by an event of an agenda she
    /// reads, as a download; anything else is a 404, whoever asks.
    async fn attachment(
        &self,
        ctx: &PortletContext,
        request: &ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        let id = request.params.get("file").map_or("", String::as_str);
        let keys: Vec<String> = self.access(ctx).await?.into_iter().map(|a| a.key).collect();
        let file = attachments::readable(ctx, &keys, id)
            .await?
            .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-attachment-missing")))?;
        let name = file.name.clone();
        Ok(ResourceResponse::file(file).attachment(&name))
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
                .sql(migration!("0002_reminders"))
                .sql(migration!("0003_attachments")),
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
            "create" => self.create(ctx, &mut request).await,
            "update" => self.update(ctx, &mut request).await,
            "filter" => self.filter(ctx, &request).await,
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
        if request.id == attachments::RESOURCE {
            return self.attachment(ctx, &request).await;
        }
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
