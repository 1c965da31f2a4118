//! Calendar sources: services that publish events into the agenda's superposed view
//! (the timetable, the homework of the cahier de textes, reservations) without the
//! agenda knowing them.
//!
//! A service implements [`CalendarSource`] and returns it from
//! [`Portlet::calendar_source`](crate::Portlet::calendar_source). The portal hands every
//! installed source to every portlet in [`Services::calendar_sources`](crate::Services);
//! a service that shows calendars (the agenda) asks those whose portlet the user may use
//! (its audience) for the events of the days it shows. The source decides what the user
//! sees, as for any other door: it answers for `cx.user()` only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::export::DataContext;
use crate::{LocalizedText, PortletError};

/// One event a source publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    /// Its title ("Mathématiques", "Rendre l'exposé").
    pub title: String,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end (the start again for an instant).
    pub end: DateTime<Utc>,
    /// Whether it lasts whole days (`start` and `end` at midnight in the établissement's
    /// zone).
    pub all_day: bool,
    /// Where, if anywhere ("Salle 12").
    pub location: String,
    /// More, in plain text.
    pub description: String,
}

/// A service that publishes events into calendar views (see the [module](self)).
#[async_trait]
pub trait CalendarSource: Send + Sync {
    /// Its name in a view's legend ("Emploi du temps").
    fn name(&self) -> LocalizedText;

    /// The events of `cx.user()` that overlap `[from, to)`.
    async fn events(
        &self,
        cx: &DataContext,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SourceEvent>, PortletError>;
}
