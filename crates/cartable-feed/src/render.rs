//! The window's markup: templates, dates, the error notice.

use chrono::{DateTime, Datelike, FixedOffset, Locale};
use serde::Serialize;

/// Summaries of at most this many characters are shown in the normal window state;
/// longer ones only when the window is maximized.
pub(crate) const SHORT_SUMMARY_CHARS: usize = 200;

pub(crate) const VIEW: &str = r#"{% if notice %}<p class="error" role="alert">{{ notice }}</p>
{% endif %}{% if has_copy %}<h3 id="{{ ns }}-source">{{ source }}</h3>
{% if items %}<ul class="feed" aria-labelledby="{{ ns }}-source">
{% for item in items %}<li>{% if item.link %}<a href="{{ item.link }}" rel="noopener noreferrer">{{ item.title }}</a>{% else %}{{ item.title }}{% endif %}
<br><span class="muted">{{ source }}{% if item.iso %} – <time datetime="{{ item.iso }}">{{ item.date }}</time>{% endif %}</span>{% if item.summary %}
<div class="summary">{{ item.summary }}</div>{% endif %}</li>
{% endfor %}</ul>
{% else %}<p>{{ t.empty }}</p>
{% endif %}{% if more %}<p><a href="{{ more }}">{{ t.more }}</a></p>
{% endif %}{% endif %}"#;

pub(crate) const HELP_FR: &str = r#"<h3>Le bloc d’actualités</h3>
<p>Ce bloc affiche les derniers articles d’un flux d’actualités (RSS ou Atom) choisi par
l’établissement. Chaque titre mène à l’article sur le site qui l’a publié.</p>
<p>Le flux est relu quand sa dernière lecture date de plus de {{ refresh }}. Si son site ne
répond pas, un message l’indique et la dernière version obtenue reste affichée : elle n’est
peut-être plus à jour.</p>
<h3>Vos réglages</h3>
<p>Dans « Préférences », choisissez le nombre d’articles affichés{% if choice %} et le flux
parmi ceux que l’établissement propose : {{ feeds }}{% endif %}.{% if locked %} Le choix du
flux est fixé par l’établissement.{% endif %}</p>
<p>Agrandissez le bloc pour lire le résumé de chaque article.</p>"#;

pub(crate) const HELP_EN: &str = r#"<h3>The news block</h3>
<p>This block shows the latest items of a news feed (RSS or Atom) chosen by the school.
Each title leads to the item on the site that published it.</p>
<p>The feed is read again when its last read is more than {{ refresh }} old. If its site does not answer, a
message says so and the last copy obtained stays on screen: it may be out of date.</p>
<h3>Your settings</h3>
<p>In "Preferences", choose how many items are shown{% if choice %} and the feed among those
the school offers: {{ feeds }}{% endif %}.{% if locked %} The school has set the feed.{% endif %}</p>
<p>Maximize the block to read each item's summary.</p>"#;

/// One item as the template shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ShownItem {
    /// Safe HTML (passed with `markup_value`).
    pub title: minijinja::Value,
    pub link: Option<String>,
    pub date: Option<String>,
    pub iso: Option<String>,
    pub summary: Option<minijinja::Value>,
}

/// A date as people read it: `1er mars 2024`, `1 March 2024` (in the feed's own offset).
pub(crate) fn human_date(date: &DateTime<FixedOffset>, english: bool) -> String {
    let (format, locale) = match (english, date.day()) {
        (true, _) => ("%-d %B %Y", Locale::en_GB),
        (false, 1) => ("1er %B %Y", Locale::fr_FR),
        (false, _) => ("%-d %B %Y", Locale::fr_FR),
    };
    date.format_localized(format, locale).to_string()
}

/// A duration as people read it: `15 minutes`, `1 heure`, `90 secondes`.
pub(crate) fn human_duration(seconds: u64, english: bool) -> String {
    let (n, fr, en) = if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "heure", "hour")
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, "minute", "minute")
    } else {
        (seconds, "seconde", "second")
    };
    let unit = if english { en } else { fr };
    let plural = if n > 1 { "s" } else { "" };
    format!("{n} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_read_well() {
        let d = DateTime::parse_from_rfc3339("2024-03-01T08:30:00+01:00").unwrap();
        assert_eq!(human_date(&d, false), "1er mars 2024");
        assert_eq!(
            human_date(&(d + chrono::Days::new(1)), false),
            "2 mars 2024"
        );
        assert_eq!(human_date(&d, true), "1 March 2024");
        let d = DateTime::parse_from_rfc3339("2026-12-07T23:30:00-05:00").unwrap();
        assert_eq!(
            human_date(&d, false),
            "7 décembre 2026",
            "the feed's own offset"
        );
        assert_eq!(human_date(&d, true), "7 December 2026");
        assert_eq!(human_duration(900, false), "15 minutes");
        assert_eq!(human_duration(3600, true), "1 hour");
        assert_eq!(human_duration(90, false), "90 secondes");
        assert_eq!(human_duration(1, true), "1 second");
    }
}
