//! Reminders: an event's VALARM sent as a notification when it falls due (the socle's
//! notifications, hence the web list and the e-mail digest).
//!
//! - **What is due.** Every write of an event (the page, CalDAV, an import, "Mes
//!   données": [`store::put_in`]) stores when its next reminder is due in
//!   `agenda_event.next_alarm` (migrations/0002_reminders.sql), computed by
//!   [`next_alarm`]: the start of the first instance whose reminder is at or after the
//!   write, less the minutes of the event's first VALARM ([`ics::Event::reminder`]); NULL
//!   without VALARM or once no instance is left. So a changed event is reminded at its new
//!   time, a deleted one never.
//! - **Sending.** The agenda's periodic task ([`Periodic`], every minute, run by the
//!   portal's job queue once per minute across nodes) asks for `next_alarm <= now` on the
//!   column's index. For each event it first moves `next_alarm` to the reminder after
//!   (the next instance's, for a recurrence) with a statement that holds only if the row
//!   is still the event it read and nobody moved it (`store::move_alarm`), then publishes
//!   the notification: an event changed meanwhile or a run repeated after a node died
//!   sends nothing twice. A notification that cannot be published puts the reminder back
//!   for the next run; a node that dies between the two statements loses that one
//!   reminder rather than sending it twice.
//! - **Who.** A personal agenda's owner; a group agenda's members (while the group is
//!   active and has the agenda); the établissement's agenda's readers and writers
//!   ([`EtabRule::audience`]).
//! - **Late.** A reminder more than [`TOO_LATE`] late (the portal was stopped) is not sent:
//!   the event's next one is kept.
//! - **Events written before the migration** have no `next_alarm` yet: each run computes
//!   it for up to [`BACKFILL`] of them, from the time of the run.
//!
//! Titles are written in French, the établissement's language: a notification has one
//! title for all its readers.

use std::time::Duration as StdDuration;

use cartable_portlet::periodic::Periodic;
use cartable_portlet::time::{DateStyle, Dates};
use cartable_portlet::{Database, PortletError, Services, async_trait, i18n::args};
use cartable_socle::{Audience, Notification};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::calendars::{self, EtabRule};
use crate::ics::{self, Object};
use crate::{Agenda, ID, MESSAGES, store};

/// How often the task runs.
pub const EVERY: StdDuration = StdDuration::from_secs(60);
/// A reminder later than this, in seconds, is skipped, not sent late.
pub const TOO_LATE: i64 = 3600;
/// The most reminders one run sends (the others wait for the next minute).
pub const BATCH: i64 = 500;
/// The most events written before the migration whose reminder one run computes.
pub const BACKFILL: i64 = 500;
/// The language of the reminders' titles.
const LANGUAGE: &str = "fr";
/// How far, in days, the next instance of a recurrence is looked for, window after
/// window (about eleven years in all).
const HORIZONS: [i64; 4] = [2, 40, 400, 4000];

/// When the first reminder of `object` at or after `from` (Unix seconds) is due: the start
/// of an instance less the minutes of the event's first VALARM. `None` without VALARM, or
/// when no instance is left.
pub fn next_alarm(object: &Object, zone: Tz, from: i64) -> Option<i64> {
    let lead = Duration::try_minutes(object.event.reminder?)?;
    // An instance starting at `earliest` has its reminder at `from`.
    let earliest = DateTime::<Utc>::from_timestamp(from, 0)?.checked_add_signed(lead)?;
    let last_end = object.last_end(zone);
    for days in HORIZONS {
        let to = earliest + Duration::days(days);
        let found = ics::instances(&object.event, zone, earliest, to)
            .into_iter()
            .find(|i| i.start >= earliest);
        if let Some(instance) = found {
            return Some((instance.start - lead).timestamp());
        }
        if last_end.is_some_and(|end| end <= to.timestamp()) {
            return None;
        }
    }
    None
}

#[async_trait]
impl Periodic for Agenda {
    fn every(&self) -> StdDuration {
        EVERY
    }

    async fn run(&self, services: &Services) -> Result<(), PortletError> {
        let db = services.db.as_ref().ok_or_else(|| {
            PortletError::Internal(
                "the agenda's reminders need the établissement's database".into(),
            )
        })?;
        let now = crate::seconds(services.clock.now());
        compute_missing(db, services.time_zone, now).await?;
        let rule = self.etab.in_force(services);
        for due in store::due_alarms(db, now, BATCH).await? {
            self.remind(services, db, &rule, due, now).await?;
        }
        Ok(())
    }
}

/// Compute the next reminder of events written before the migration, from now.
async fn compute_missing(db: &Database, zone: Tz, now: i64) -> Result<(), PortletError> {
    for (calendar, name, etag, text) in store::uncomputed_alarms(db, BACKFILL).await? {
        let alarm = match ics::read_object(text.as_bytes(), zone) {
            Ok(object) => next_alarm(&object, zone, now),
            Err(e) => {
                tracing::warn!(%calendar, %name, "unreadable event, no reminder: {e}");
                None
            }
        };
        store::set_alarm(db, &calendar, &name, &etag, alarm).await?;
    }
    Ok(())
}

impl Agenda {
    /// Send the reminder of one event that is due, and keep its next one.
    async fn remind(
        &self,
        services: &Services,
        db: &Database,
        rule: &EtabRule,
        due: store::Due,
        now: i64,
    ) -> Result<(), PortletError> {
        let zone = services.time_zone;
        let object = match ics::read_object(due.ics.as_bytes(), zone) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(calendar = %due.calendar, name = %due.name, "unreadable event, no reminder: {e}");
                store::move_alarm(db, &due, due.alarm, None).await?;
                return Ok(());
            }
        };
        let mut at = due.alarm;
        if now - at > TOO_LATE {
            // The portal was stopped: what is over an hour late is skipped.
            match next_alarm(&object, zone, now - TOO_LATE) {
                Some(recent) if recent <= now => at = recent,
                later => {
                    store::move_alarm(db, &due, due.alarm, later).await?;
                    return Ok(());
                }
            }
        }
        let next = next_alarm(&object, zone, at + 1);
        if !store::move_alarm(db, &due, due.alarm, next).await? {
            // Changed meanwhile (its write computed its reminder), or already sent.
            return Ok(());
        }
        let Some(notification) = self
            .reminder(services, rule, &due.calendar, &object, at)
            .await?
        else {
            return Ok(());
        };
        if let Err(e) = services.notifier.publish(notification).await {
            store::restore_alarm(db, &due, next).await?;
            return Err(e.into());
        }
        Ok(())
    }

    /// The notification of the reminder due at `alarm` of an event of `calendar`, or
    /// `None` when nobody reads that agenda any more (a group ended or dropped it).
    async fn reminder(
        &self,
        services: &Services,
        rule: &EtabRule,
        calendar: &str,
        object: &Object,
        alarm: i64,
    ) -> Result<Option<Notification>, PortletError> {
        let (audience, agenda) = if let Some(uid) = calendar.strip_prefix("u:") {
            (
                Audience::Users(vec![uid.to_string()]),
                MESSAGES.get(LANGUAGE, "own-agenda"),
            )
        } else if let Some(gid) = calendar.strip_prefix("g:") {
            let group = calendars::groups(services)
                .get(gid)
                .await
                .map_err(calendars::group_error)?;
            match group {
                Some(g) if g.tool(ID).is_some() => {
                    (Audience::Groups(vec![gid.to_string()]), g.name)
                }
                _ => return Ok(None),
            }
        } else if calendar == "etab" {
            (rule.audience(), MESSAGES.get(LANGUAGE, "etab-agenda"))
        } else {
            return Ok(None);
        };
        let zone = services.time_zone;
        let lead = Duration::try_minutes(object.event.reminder.unwrap_or(0))
            .unwrap_or_else(Duration::zero);
        let start = DateTime::<Utc>::from_timestamp(alarm, 0)
            .and_then(|t| t.checked_add_signed(lead))
            .ok_or_else(|| PortletError::Internal(format!("no instant at {alarm} s")))?;
        // The instance itself: an overridden one has its own title.
        let instance = ics::instances(&object.event, zone, start, start + Duration::seconds(1))
            .into_iter()
            .find(|i| i.start == start);
        let (summary, all_day) = match instance {
            Some(i) => (i.summary, i.all_day),
            None => (
                object.event.summary.clone(),
                matches!(object.event.start, ics::When::Day(_)),
            ),
        };
        let dates = Dates::new(LANGUAGE, zone);
        let when = if all_day {
            dates.instant(start, DateStyle::Long)
        } else {
            dates.instant(start, DateStyle::LongWithTime)
        };
        let event: String = summary
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let agenda: String = agenda.chars().filter(|c| !c.is_control()).collect();
        let title = MESSAGES.get_args(
            LANGUAGE,
            "notify-reminder",
            &args! { "event" => event, "when" => when, "agenda" => agenda },
        );
        let title: String = title
            .chars()
            .filter(|c| !c.is_control())
            .take(900)
            .collect();
        Ok(Some(Notification {
            source: ID.into(),
            title,
            link: None,
            audience,
            at: services.clock.now(),
        }))
    }
}

#[cfg(test)]
mod tests;
