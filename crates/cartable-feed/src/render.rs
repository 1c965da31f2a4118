//! The window's markup: templates, durations, the error notice. Their text is the crate's
//! messages (`locales/*.ftl`), `t("id")` in templates.

use std::time::SystemTime;

use cartable_portlet::prelude::*;
use serde::Serialize;

use crate::{FeedError, MESSAGES};

/// Summaries of at most this many characters are shown in the normal window state;
/// longer ones only when the window is maximized.
pub(crate) const SHORT_SUMMARY_CHARS: usize = 200;

/// The view: the feed's items, or what went wrong. Item dates are RFC 3339 instants,
/// written in the page language and the établissement's time zone by the `date` filter.
pub(crate) const VIEW: &str = r#"{% if notice %}<p class="error" role="alert">{{ notice }}</p>
{% endif %}{% if has_copy %}<h3 id="{{ ns }}-source">{{ source }}</h3>
{% if items %}<ul class="feed" aria-labelledby="{{ ns }}-source">
{% for item in items %}<li>{% if item.link %}<a href="{{ item.link }}" rel="noopener noreferrer">{{ item.title }}</a>{% else %}{{ item.title }}{% endif %}
<br><span class="muted">{{ source }}{% if item.iso %} – <time datetime="{{ item.iso }}">{{ item.iso | date("long") }}</time>{% endif %}</span>{% if item.summary %}
<div class="summary">{{ item.summary }}</div>{% endif %}</li>
{% endfor %}</ul>
{% else %}<p>{{ t("empty") }}</p>
{% endif %}{% if more %}<p><a href="{{ more }}">{{ t("more") }}</a></p>
{% endif %}{% endif %}"#;

/// The help mode.
pub(crate) const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-intro") }}</p>
<p>{{ t("help-refresh", refresh=refresh) }}</p>
<h3>{{ t("help-settings-title") }}</h3>
<p>{% if choice %}{{ t("help-settings-choice", feeds=feeds) }}{% else %}{{ t("help-settings") }}{% endif %}{% if locked %} {{ t("help-locked") }}{% endif %}</p>
<p>{{ t("help-maximize") }}</p>"#;

/// One item as the template shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ShownItem {
    /// Safe HTML (passed with `markup_value`).
    pub title: minijinja::Value,
    pub link: Option<String>,
    /// The item's date, RFC 3339 in the feed's own offset.
    pub iso: Option<String>,
    pub summary: Option<minijinja::Value>,
}

/// A duration as people read it, in the page language: `15 minutes`, `1 heure`,
/// `90 secondes` (the largest unit that divides it).
pub(crate) fn human_duration(locale: &str, seconds: u64) -> String {
    let (n, id) = if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "duration-hours")
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, "duration-minutes")
    } else {
        (seconds, "duration-seconds")
    };
    MESSAGES.get_args(locale, id, &args! { "n" => n })
}

/// The message over the window when the last attempt failed: with the time of the last
/// good copy (in the établissement's time zone) when there is one.
pub(crate) fn notice(
    ctx: &PortletContext,
    source: &str,
    error: &FeedError,
    last_good: Option<SystemTime>,
) -> String {
    let reason = error.user_message(ctx.locale());
    match last_good {
        Some(at) => ctx.t_args(
            &MESSAGES,
            "notice-stale",
            &args! {
                "source" => source,
                "reason" => reason,
                "when" => ctx.dates().system_time(at, DateStyle::LongWithTime),
            },
        ),
        None => ctx.t_args(
            &MESSAGES,
            "notice-unavailable",
            &args! { "source" => source, "reason" => reason },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration("fr", 900), "15 minutes");
        assert_eq!(human_duration("fr", 3600), "1 heure");
        assert_eq!(human_duration("fr", 7200), "2 heures");
        assert_eq!(human_duration("en", 3600), "1 hour");
        assert_eq!(human_duration("fr", 90), "90 secondes");
        assert_eq!(human_duration("en", 1), "1 second");
        assert_eq!(human_duration("en", 120), "2 minutes");
    }

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "add to locales/en.ftl: {:?}",
            MESSAGES.untranslated("en")
        );
        assert_eq!(MESSAGES.domain(), "cartable-feed");
    }
}
