//! The SDET service « affichage d'informations » (annonces), in the window « résumé des
//! nouveautés » (`nouveautes`).
//!
//! - **Announcements** are the service's own rows (`annonces_announcement`, migrations/):
//!   a title, a body in plain text (paragraphs split on empty lines), an author, an
//!   audience (`annonces_target`: the whole établissement, a profile, a class, a group),
//!   a display period (from a day, until a day or without end) and a pin. Outside its
//!   period an announcement is shown to nobody but its author. Authors edit and delete
//!   their own; who may publish is a rule on profiles ([`News::publishers`]: teachers,
//!   staff and administrators by default) checked in the action.
//! - **The window** lists the newest items the reader may see: the current
//!   announcements (pinned first) and the socle's notifications of the other services.
//!   Maximized, it lists every current announcement she may see, her own whatever their
//!   period, and the publishing form.
//! - **A private RSS 2.0 feed** of the current announcements she may see, at a secret URL
//!   (`<base>/flux/nouveautes/<token>/rss.xml`, see
//!   [`cartable_portlet::secret`]) made, replaced and revoked in the window; a revoked
//!   URL answers `404`.
//! - **Search** ([`search`]): announcements are found by the readers they reach, in
//!   their period (their author, always).
//! - **Mes données**: the announcements she wrote, as `annonces/announcements.json`
//!   ([`portable`]); the feed token is not exported.
//! - **The e-mail digest** opt-in, in edit mode (the socle's
//!   [`digest`](cartable_socle::digest)).
//!
//! Why plain text and not HTML: an announcement is read in the window, in a feed reader
//! and in an e-mail; plain text is safe everywhere without a sanitizer to keep right,
//! needs no editor (the form works without JavaScript), and survives an export intact.
//! Paragraphs and line breaks are kept.
//!
//! Earlier releases published announcements as the socle's notifications (source
//! `nouveautes`); the migration `0002_import_notifications` copies them into the table,
//! with their date and audience.

mod feed;
mod model;
pub mod portable;
pub mod search;
mod store;
mod views;

pub use feed::FEED_FILE;
pub use model::{CLASS_ATTRIBUTES, Target};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use cartable_portlet::items::check_text;
use cartable_portlet::prelude::*;
use cartable_portlet::time::{DateStyle, NaiveDate, NaiveTime, TimeZone, Tz};
use cartable_portlet::{LocalizedText, ServiceSchema, markup_value, migration};
use cartable_socle::{Audience, Group, GroupError, Groups, Notification, PersonQuery, Reader};
use chrono::{DateTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use model::{Announcement, Viewer, classes_of};

/// The window's portlet id, also the source of the announcements' notifications (and
/// the data namespace that the socle reads digest opt-ins from as a fallback).
pub const ID: &str = "nouveautes";

/// The service's name: its tables' owner and its folder in "Mes données".
pub const SERVICE: &str = "annonces";

/// How readers know the announcements' source ("Annonce"): give it to the e-mail digest
/// (`DigestSender::with_source_labels([(ID, SOURCE_LABEL)])` in `cartable-mail`). The
/// window itself shows the message `source-announcement` in the page language.
pub const SOURCE_LABEL: &str = "Annonce";

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain
/// `cartable-annonces`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The longest announcement title, in characters.
pub const MAX_TITLE_LEN: usize = 200;
/// The longest announcement body, in characters.
pub const MAX_BODY_LEN: usize = 5000;
/// The most announcements the maximized window and the feed list.
pub const MAX_LISTED: usize = 200;

/// The profiles a publisher may address, in the form's order.
const AUDIENCE_PROFILES: [Profile; 4] = [
    Profile::Eleve,
    Profile::Parent,
    Profile::Enseignant,
    Profile::Personnel,
];

/// One item of the home-page window.
#[derive(Serialize)]
struct ShownItem {
    title: String,
    source: String,
    link: Option<String>,
    date: String,
    iso: String,
    pinned: bool,
    #[serde(skip)]
    at: i64,
}

/// One announcement of the whole list.
#[derive(Serialize)]
struct ShownAnnouncement {
    id: i64,
    anchor: String,
    title: String,
    paragraphs: Vec<Vec<String>>,
    author_name: String,
    period: String,
    audience: String,
    status: Option<String>,
    pinned: bool,
    mine: bool,
    edit_url: String,
}

/// A link published with a notification, if it is a path on the portal (`/…`, never
/// `//host` or a scheme): anything else is shown without a link.
fn portal_path(link: Option<&str>) -> Option<String> {
    link.filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'))
        .map(str::to_string)
}

/// `2024-02-29 23:30 UTC`.
fn short_utc(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// `2024-02-29T23:30:05Z`, for `<time datetime>`.
fn iso_utc(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Unix seconds as a time (the epoch when out of range).
fn system_time(seconds: i64) -> SystemTime {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .into()
}

/// A time as Unix seconds.
fn seconds(t: SystemTime) -> i64 {
    DateTime::<Utc>::from(t).timestamp()
}

/// The start of `day` in `zone`, as Unix seconds.
fn start_of(day: NaiveDate, zone: Tz) -> i64 {
    let local = day.and_time(NaiveTime::MIN);
    zone.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc().timestamp(), |t| t.timestamp())
}

/// The day of Unix second `at` in `zone`.
fn day_of(at: i64, zone: Tz) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&zone)
        .date_naive()
}

/// A day typed in the form: `2026-12-07` (what `<input type="date">` sends) or
/// `07/12/2026` (typed where the browser shows a text field).
fn parse_day(value: &str) -> Option<NaiveDate> {
    let v = value.trim();
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .ok()
}

/// A group service failure as the portlet reports it.
fn group_error(e: GroupError) -> PortletError {
    match e {
        GroupError::Socle(e) => PortletError::Socle(e),
        other => PortletError::Internal(format!("groups: {other}")),
    }
}

/// What the publishing form says, checked.
struct Checked {
    title: String,
    body: String,
    target: Target,
    from: i64,
    until: Option<i64>,
    pinned: bool,
}

/// The news and announcements portlet (`nouveautes`): see the [crate] for what it
/// does. Actions (POST, with the CSRF token):
///
/// | `op` | fields | who |
/// |---|---|---|
/// | `publish` | `title`, `body`, `audience` (`all`, `p:<profile>`, `c:<class>`, `c:*` with `class`, `g:<group>`), `from`, `until` (days), `pinned=oui` | [`News::publishers`] |
/// | `update` | the same, `id`, `version` | the author |
/// | `delete` | `id` | the author |
/// | `feed-new`, `feed-revoke` | | anyone: her own feed URL |
/// | `digest` | `digest=oui` (unchecked: no field) | anyone |
///
/// A teacher addresses the whole établissement, a profile, her classes (her
/// `ENTAuxEnsClasses`) and her groups; staff and administrators any class of the
/// directory. Anything else posted is refused ([`PortletError::Forbidden`] for someone
/// who may not publish, the form shown again with its messages for bad values).
pub struct News {
    descriptor: Descriptor,
    templates: Templates,
    groups: Option<Arc<Groups>>,
    publishers: Vec<Profile>,
}

impl fmt::Debug for News {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("News")
            .field("id", &self.descriptor.id)
            .field("groups", &self.groups.is_some())
            .field("publishers", &self.publishers)
            .finish_non_exhaustive()
    }
}

impl News {
    /// The portlet with its descriptor and compiled templates; teachers, staff and
    /// administrators publish.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(ID, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("communication")
            .mode(Mode::Help)
            .preference(
                PreferenceSpec::new(
                    "max_items",
                    LocalizedText::from_messages(&MESSAGES, "pref-max_items"),
                    "10",
                )
                .choices(["5", "10", "20"]),
            );
        let templates = Templates::new([
            ("window", views::WINDOW),
            ("list", views::LIST),
            ("feed", views::FEED),
            ("digest", views::DIGEST),
            ("help", views::HELP),
        ])
        .expect("the news templates compile")
        .with_messages(&MESSAGES);
        News {
            descriptor,
            templates,
            groups: None,
            publishers: vec![Profile::Enseignant, Profile::Personnel, Profile::Admin],
        }
    }

    /// Read the users' groups from this service (usually over the portal's storage):
    /// announcements for a group reach its members, and publishers may address their
    /// groups.
    pub fn with_groups(mut self, groups: Arc<Groups>) -> Self {
        self.groups = Some(groups);
        self
    }

    /// The profiles whose holders may publish (the établissement's rule), instead of
    /// teachers, staff and administrators.
    pub fn publishers(mut self, profiles: impl IntoIterator<Item = Profile>) -> Self {
        self.publishers = profiles.into_iter().collect();
        self
    }

    /// Whether `user` may publish.
    pub fn may_publish(&self, user: &Person) -> bool {
        self.publishers.iter().any(|p| user.has_profile(p))
    }

    /// The active groups `user` belongs to: from the service given with
    /// [`News::with_groups`], else from `fallback` (over the portal's storage).
    async fn groups_of(&self, fallback: Groups, user: &str) -> Result<Vec<Group>, PortletError> {
        match &self.groups {
            Some(groups) => groups.groups_of(user).await.map_err(group_error),
            None => fallback.groups_of(user).await.map_err(group_error),
        }
    }

    /// Who reads, with her groups.
    async fn viewer(
        &self,
        fallback: Groups,
        user: &Person,
    ) -> Result<(Viewer, Vec<Group>), PortletError> {
        let groups = self.groups_of(fallback, &user.id).await?;
        let viewer = Viewer::of(user, groups.iter().map(|g| g.id.clone()));
        Ok((viewer, groups))
    }

    /// The home-page window: current announcements and other services' news.
    async fn render_window(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let user = ctx.user();
        let limit = ctx.preferences.parse_or("max_items", 10usize).clamp(1, 100);
        let (viewer, _) = self.viewer(ctx.groups(), user).await?;
        let now = seconds(ctx.clock().now());
        let all_url = ctx
            .urls()
            .render()
            .state(WindowState::Maximized)
            .to_string();
        let ns = ctx.window().namespace();
        let mut items: Vec<ShownItem> = store::visible(ctx.db()?, &viewer.keys(), "", now, limit)
            .await?
            .into_iter()
            .map(|a| {
                // When readers first saw it: published, or the start of its period.
                let shown = a.shown_from.max(a.created_at);
                let at = system_time(shown);
                ShownItem {
                    title: a.title,
                    source: ctx.t(&MESSAGES, "source-announcement"),
                    link: Some(format!("{all_url}#{ns}-a{}", a.id)),
                    date: short_utc(at),
                    iso: iso_utc(at),
                    pinned: a.pinned,
                    at: shown,
                }
            })
            .collect();
        let reader = Reader::of(user).with_groups(viewer.groups.iter().cloned());
        // The announcements are this service's rows; their notifications are for the
        // e-mail digest.
        items.extend(
            ctx.notifier()
                .recent(&reader, limit)
                .await?
                .into_iter()
                .filter(|n| n.source != self.descriptor.id)
                .map(|n| ShownItem {
                    link: portal_path(n.link.as_deref()),
                    date: short_utc(n.at),
                    iso: iso_utc(n.at),
                    at: seconds(n.at),
                    source: n.source,
                    title: n.title,
                    pinned: false,
                }),
        );
        items.sort_by(|a, b| b.pinned.cmp(&a.pinned).then(b.at.cmp(&a.at)));
        items.truncate(limit);
        let markup = self.templates.render_for(
            ctx,
            "window",
            context! {
                items => Serde(&items),
                publisher => self.may_publish(user),
                all_url,
                ns,
            },
        )?;
        Ok(markup.into())
    }

    /// The feed section: her URL, or a button to make one.
    async fn feed_section(&self, ctx: &PortletContext) -> Result<Markup, PortletError> {
        let token = store::token_of(ctx.db()?, &ctx.user().id).await?;
        let feed_url = token.map(|t| ctx.urls().secret(ID, &t, FEED_FILE));
        self.templates.render_for(
            ctx,
            "feed",
            context! {
                feed_url,
                action => ctx.urls().action().param("view", "all").to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )
    }

    /// A target as readers see it ("Les élèves", "la classe 2nde-3", a group's name).
    fn audience_label(ctx: &PortletContext, targets: &[Target], groups: &[Group]) -> String {
        let labels: Vec<String> = targets
            .iter()
            .map(|t| match t {
                Target::Everyone => ctx.t(&MESSAGES, "audience-all"),
                Target::Profile(p) if AUDIENCE_PROFILES.contains(p) || *p == Profile::Admin => {
                    ctx.t(&MESSAGES, &format!("audience-{}", p.as_str()))
                }
                Target::Profile(p) => ctx.profile_label(p),
                Target::Class(c) => {
                    ctx.t_args(&MESSAGES, "audience-class", &args! { "class" => c.clone() })
                }
                Target::Group(g) => groups
                    .iter()
                    .find(|x| &x.id == g)
                    .map_or_else(|| ctx.t(&MESSAGES, "audience-a-group"), |x| x.name.clone()),
                Target::User(_) => ctx.t(&MESSAGES, "audience-people"),
            })
            .collect();
        labels.join(", ")
    }

    /// The display period as words.
    fn period_label(ctx: &PortletContext, a: &Announcement) -> String {
        let zone = ctx.time_zone();
        let dates = ctx.dates();
        let from = dates.date(day_of(a.shown_from, zone), DateStyle::Long);
        match a.shown_until {
            Some(until) => {
                let last = dates.date(day_of(until - 1, zone), DateStyle::Long);
                ctx.t_args(
                    &MESSAGES,
                    "period-from-until",
                    &args! { "from" => from, "until" => last },
                )
            }
            None => ctx.t_args(&MESSAGES, "period-from", &args! { "from" => from }),
        }
    }

    /// The whole list, the publishing or editing form, the feed.
    async fn render_list(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let user = ctx.user();
        let (viewer, groups) = self.viewer(ctx.groups(), user).await?;
        let now = seconds(ctx.clock().now());
        let list = store::visible(ctx.db()?, &viewer.keys(), &user.id, now, MAX_LISTED).await?;
        let ns = ctx.window().namespace();
        let urls = ctx.urls();
        let all_url = urls.render().state(WindowState::Maximized).to_string();
        let publisher = self.may_publish(user);
        let editing = ctx
            .param("edit")
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|id| list.iter().find(|a| a.id == id && a.author == user.id));
        let shown: Vec<ShownAnnouncement> = list
            .iter()
            .map(|a| {
                let mine = !a.author.is_empty() && a.author == user.id;
                let status = if !mine || a.is_current(now) {
                    None
                } else if a.shown_from > now {
                    Some(ctx.t(&MESSAGES, "status-scheduled"))
                } else {
                    Some(ctx.t(&MESSAGES, "status-ended"))
                };
                ShownAnnouncement {
                    id: a.id,
                    anchor: format!("{ns}-a{}", a.id),
                    title: a.title.clone(),
                    paragraphs: a.paragraphs(),
                    author_name: a.author_name.clone(),
                    period: Self::period_label(ctx, a),
                    audience: Self::audience_label(ctx, &a.targets, &groups),
                    status,
                    pinned: a.pinned,
                    mine,
                    edit_url: format!(
                        "{}#{ns}-publish",
                        urls.render()
                            .state(WindowState::Maximized)
                            .param("edit", a.id)
                    ),
                }
            })
            .collect();
        let zone = ctx.time_zone();
        // What the form shows: what was typed (a refused form), the announcement being
        // edited, or a new one from today.
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        match (ctx.form(), editing) {
            (Some(form), _) => {
                for name in [
                    "title", "body", "audience", "class", "from", "until", "pinned",
                ] {
                    if let Some(v) = form.value(name) {
                        values.insert(name, v.to_string());
                    }
                }
            }
            (None, Some(a)) => {
                values.insert("title", a.title.clone());
                values.insert("body", a.body.clone());
                if let Some(t) = a.targets.first() {
                    values.insert("audience", t.key());
                }
                values.insert("from", day_of(a.shown_from, zone).to_string());
                if let Some(until) = a.shown_until {
                    values.insert("until", day_of(until - 1, zone).to_string());
                }
                if a.pinned {
                    values.insert("pinned", "oui".into());
                }
            }
            (None, None) => {
                values.insert("from", ctx.today().to_string());
            }
        }
        let audiences: Vec<_> =
            std::iter::once(("all".to_string(), ctx.t(&MESSAGES, "audience-all")))
                .chain(AUDIENCE_PROFILES.iter().map(|p| {
                    (
                        Target::Profile(p.clone()).key(),
                        ctx.t(&MESSAGES, &format!("audience-{}", p.as_str())),
                    )
                }))
                .map(|(value, label)| context! { value, label })
                .collect();
        let classes: Vec<_> = classes_of(user)
            .into_iter()
            .map(|c| {
                let label =
                    ctx.t_args(&MESSAGES, "audience-class", &args! { "class" => c.clone() });
                context! { value => Target::Class(c).key(), label }
            })
            .collect();
        let group_options: Vec<_> = groups
            .iter()
            .map(|g| context! { value => Target::Group(g.id.clone()).key(), label => g.name.as_str() })
            .collect();
        let done = ctx
            .param("done")
            .filter(|d| {
                [
                    "published",
                    "updated",
                    "deleted",
                    "feed-new",
                    "feed-revoked",
                ]
                .contains(d)
            })
            .map(|d| ctx.t(&MESSAGES, &format!("done-{d}")));
        let feed = self.feed_section(ctx).await?;
        let markup = self.templates.render_for(
            ctx,
            "list",
            context! {
                done,
                announcements => Serde(&shown),
                publisher,
                editing => editing.map(|a| context! { id => a.id, version => a.version }),
                values => Serde(&values),
                audiences,
                classes,
                groups => group_options,
                any_class => publisher && is_staff(user),
                ns,
                all_url,
                action => urls.action().param("view", "all").to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                max_title => MAX_TITLE_LEN,
                max_body => MAX_BODY_LEN,
                feed => markup_value(&feed),
            },
        )?;
        Ok(markup.into())
    }

    /// The edit mode: the preference form, the digest opt-in, the feed.
    async fn render_edit(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let mut markup = preference_form(ctx, &self.descriptor.preferences);
        let opted_in = ctx.digest().is_opted_in(&ctx.user().id).await?;
        let saved = match ctx.param("digest") {
            Some("on") => Some(ctx.t(&MESSAGES, "digest-on")),
            Some("off") => Some(ctx.t(&MESSAGES, "digest-off")),
            _ => None,
        };
        let feed = self.feed_section(ctx).await?;
        let form = self.templates.render_for(
            ctx,
            "digest",
            context! {
                saved,
                opted_in,
                mail => ctx.user().attribute("mail"),
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                feed => markup_value(&feed),
            },
        )?;
        markup.push(&form);
        Ok(markup.into())
    }

    /// `op=digest`: opt in (`digest=oui`) or out (no field), through the socle's
    /// [`DigestOptIns`](cartable_socle::digest::DigestOptIns).
    async fn set_digest(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let on = match request.field("digest") {
            None => false,
            Some("oui") => true,
            Some(other) => {
                return Err(PortletError::BadRequest(ctx.t_args(
                    &MESSAGES,
                    "error-digest-choice",
                    &args! { "value" => format!("{other:?}") },
                )));
            }
        };
        let digest = ctx.digest();
        if on {
            digest.opt_in(&ctx.user().id, ctx.clock().now()).await?;
        } else {
            digest.opt_out(&ctx.user().id).await?;
        }
        Ok(ActionResponse::default()
            .mode(Mode::Edit)
            .param("digest", if on { "on" } else { "off" }))
    }

    /// Whether a class is known to the directory (someone is in it).
    async fn class_exists(ctx: &PortletContext, class: &str) -> Result<bool, PortletError> {
        for attribute in CLASS_ATTRIBUTES {
            let found = ctx
                .directory()
                .search(&PersonQuery {
                    attribute: Some((attribute.to_string(), class.to_string())),
                    limit: 1,
                    ..PersonQuery::default()
                })
                .await?;
            if !found.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The audience posted, if the user may address it; else the message for the field.
    async fn checked_target(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
        form: &mut InvalidForm,
    ) -> Result<Option<Target>, PortletError> {
        let user = ctx.user();
        let value = request.field("audience").unwrap_or("").trim();
        let (target, field) = if value == "c:*" {
            let class = request.field("class").unwrap_or("").trim();
            if class.is_empty() {
                // Only staff have the field.
                let field = if is_staff(user) { "class" } else { "audience" };
                form.field(field, ctx.t(&MESSAGES, "error-class-empty"));
                return Ok(None);
            }
            (Target::parse(&format!("c:{class}")), "class")
        } else {
            (Target::parse(value), "audience")
        };
        let allowed = match &target {
            Some(Target::Everyone) => true,
            Some(Target::Profile(p)) => AUDIENCE_PROFILES.contains(p),
            Some(Target::Class(c)) => {
                classes_of(user).contains(c)
                    || (is_staff(user) && Self::class_exists(ctx, c).await?)
            }
            Some(Target::Group(g)) => {
                // Only a group she belongs to (as member or owner), and still active.
                let mine = self.groups_of(ctx.groups(), &user.id).await?;
                mine.iter().any(|x| &x.id == g)
            }
            Some(Target::User(_)) | None => false,
        };
        if allowed {
            return Ok(target);
        }
        let message = match &target {
            Some(Target::Class(c)) => ctx.t_args(
                &MESSAGES,
                "error-class",
                &args! { "value" => format!("{c:?}") },
            ),
            Some(Target::Group(_)) => ctx.t(&MESSAGES, "error-group"),
            _ => ctx.t_args(
                &MESSAGES,
                "error-audience",
                &args! { "value" => format!("{value:?}") },
            ),
        };
        form.field(field, message);
        Ok(None)
    }

    /// The publishing form, checked: every message at once, and nothing written when
    /// there is one.
    async fn checked_form(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<Checked, PortletError> {
        let mut form = InvalidForm::new(request);
        let locale = ctx.locale().to_string();
        let title = check_text(
            &locale,
            request.field("title").unwrap_or(""),
            MAX_TITLE_LEN,
            false,
        )
        .map_err(|why| form.field("title", why))
        .ok();
        let typed_body = request.field("body").unwrap_or("");
        let body = if typed_body.trim().is_empty() {
            Some(String::new())
        } else {
            check_text(&locale, typed_body, MAX_BODY_LEN, true)
                .map_err(|why| form.field("body", why))
                .ok()
        };
        let target = self.checked_target(ctx, request, &mut form).await?;
        let zone = ctx.time_zone();
        let from = match request.field("from").map(str::trim) {
            None | Some("") => Some(ctx.today()),
            Some(v) => {
                let day = parse_day(v);
                if day.is_none() {
                    form.field("from", ctx.t(&MESSAGES, "error-date"));
                }
                day
            }
        };
        let until = match request.field("until").map(str::trim) {
            None | Some("") => Some(None),
            Some(v) => match parse_day(v) {
                Some(day) if from.is_some_and(|f| day < f) => {
                    form.field("until", ctx.t(&MESSAGES, "error-until-before"));
                    None
                }
                Some(day) => Some(Some(day)),
                None => {
                    form.field("until", ctx.t(&MESSAGES, "error-date"));
                    None
                }
            },
        };
        let pinned = match request.field("pinned") {
            None => false,
            Some("oui") => true,
            Some(_) => {
                form.general(ctx.t(&MESSAGES, "error-pinned"));
                false
            }
        };
        match (title, body, target, from, until) {
            (Some(title), Some(body), Some(target), Some(from), Some(until)) if form.is_valid() => {
                Ok(Checked {
                    title,
                    body,
                    target,
                    from: start_of(from, zone),
                    until: until.and_then(|d| d.succ_opt()).map(|d| start_of(d, zone)),
                    pinned,
                })
            }
            _ => {
                form.check()?;
                Err(PortletError::Internal(
                    "a refused form without a message".into(),
                ))
            }
        }
    }

    /// The notification of a new announcement, for the e-mail digest: to the same
    /// people (a class: the people the directory has in it). `None` for a class nobody
    /// is in.
    async fn notification(
        ctx: &PortletContext,
        a: &Checked,
        link: String,
    ) -> Result<Option<Notification>, PortletError> {
        let audience = match &a.target {
            Target::Everyone => Audience::Everyone,
            Target::Profile(p) => Audience::Profiles(vec![p.clone()]),
            Target::Group(g) => Audience::Groups(vec![g.clone()]),
            Target::User(u) => Audience::Users(vec![u.clone()]),
            Target::Class(c) => {
                let mut users = Vec::new();
                for attribute in CLASS_ATTRIBUTES {
                    let people = ctx
                        .directory()
                        .search(&PersonQuery {
                            attribute: Some((attribute.to_string(), c.clone())),
                            limit: 5000,
                            ..PersonQuery::default()
                        })
                        .await?;
                    users.extend(people.into_iter().map(|p| p.id));
                }
                users.sort();
                users.dedup();
                if users.is_empty() {
                    return Ok(None);
                }
                Audience::Users(users)
            }
        };
        Ok(Some(Notification {
            source: ID.into(),
            title: a.title.clone(),
            link: Some(link),
            audience,
            at: ctx.clock().now(),
        }))
    }

    /// `op=publish`.
    async fn publish(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let user = ctx.user();
        if !self.may_publish(user) {
            return Err(PortletError::Forbidden);
        }
        let a = self.checked_form(ctx, request).await?;
        let now = seconds(ctx.clock().now());
        let id = store::add(
            ctx.db()?,
            &store::NewAnnouncement {
                author: &user.id,
                author_name: &user.display_name,
                title: &a.title,
                body: &a.body,
                pinned: a.pinned,
                shown_from: a.from,
                shown_until: a.until,
                created_at: now,
                targets: std::slice::from_ref(&a.target),
                origin: None,
            },
        )
        .await?;
        ctx.search_changed(SERVICE, &[id.to_string()]).await;
        // In the digest once it is shown (an announcement for later is not sent).
        if a.from <= now && a.until.is_none_or(|u| now < u) {
            let link = format!(
                "{}#{}-a{id}",
                ctx.urls().render().state(WindowState::Maximized),
                ctx.window().namespace()
            );
            if let Some(n) = Self::notification(ctx, &a, link).await? {
                ctx.notifier().publish(n).await?;
            }
        }
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("done", "published"))
    }

    /// `op=update`.
    async fn update(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let user = ctx.user();
        if !self.may_publish(user) {
            return Err(PortletError::Forbidden);
        }
        let id = number(ctx, request, "id")?;
        let version = number(ctx, request, "version")?;
        let a = self.checked_form(ctx, request).await?;
        let changed = store::update(
            ctx.db()?,
            id,
            &user.id,
            version,
            &store::Change {
                title: &a.title,
                body: &a.body,
                pinned: a.pinned,
                shown_from: a.from,
                shown_until: a.until,
                targets: std::slice::from_ref(&a.target),
                at: seconds(ctx.clock().now()),
            },
        )
        .await?;
        if !changed {
            return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
        }
        ctx.search_changed(SERVICE, &[id.to_string()]).await;
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("done", "updated"))
    }

    /// `op=feed-new`, `op=feed-revoke`.
    async fn feed_action(
        &self,
        ctx: &PortletContext,
        revoke: bool,
    ) -> Result<ActionResponse, PortletError> {
        let db = ctx.db()?;
        let user = &ctx.user().id;
        let done = if revoke {
            store::revoke_token(db, user).await?;
            "feed-revoked"
        } else {
            let token = cartable_socle::random_token();
            store::set_token(db, user, &token, seconds(ctx.clock().now())).await?;
            "feed-new"
        };
        Ok(ActionResponse::default()
            .state(WindowState::Maximized)
            .param("done", done))
    }
}

/// Whether she may address any class (staff and administrators).
fn is_staff(user: &Person) -> bool {
    user.has_profile(&Profile::Personnel) || user.has_profile(&Profile::Admin)
}

/// A number field of the form.
fn number(ctx: &PortletContext, request: &ActionRequest, name: &str) -> Result<i64, PortletError> {
    request
        .required(name)?
        .trim()
        .parse()
        .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id")))
}

impl Default for News {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for News {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(
            ServiceSchema::new(SERVICE)
                .sql(migration!("0001_announcements"))
                .rust("0002_import_notifications", store::ImportNotifications),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    fn secret(&self) -> Option<&dyn cartable_portlet::secret::SecretResource> {
        Some(self)
    }

    fn searchable(&self) -> Option<&dyn cartable_portlet::search::Searchable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Edit => return self.render_edit(ctx).await,
            Mode::Help => return Ok(self.templates.render_for(ctx, "help", ())?.into()),
            Mode::View => {}
        }
        // A refused form comes back to the list, where it was typed.
        if ctx.window().state == WindowState::Maximized
            || ctx.param("view") == Some("all")
            || ctx.form().is_some()
        {
            self.render_list(ctx).await
        } else {
            self.render_window(ctx).await
        }
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        match request.required("op")? {
            "digest" => self.set_digest(ctx, &request).await,
            "publish" => self.publish(ctx, &request).await,
            "update" => self.update(ctx, &request).await,
            "delete" => {
                let id = number(ctx, &request, "id")?;
                if !store::delete(ctx.db()?, id, &ctx.user().id).await? {
                    return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
                }
                ctx.search_changed(SERVICE, &[id.to_string()]).await;
                Ok(ActionResponse::default()
                    .state(WindowState::Maximized)
                    .param("done", "deleted"))
            }
            "feed-new" => self.feed_action(ctx, false).await,
            "feed-revoke" => self.feed_action(ctx, true).await,
            other => Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests;
