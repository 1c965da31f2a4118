//! The digest's text: subject, plain text and simple HTML, in French.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use cartable_socle::Notification;
use chrono::{DateTime, Utc};

/// A composed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestContent {
    /// "Résumé des nouveautés – <établissement>".
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Escape text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "26/11/2026 à 07:30 UTC".
pub(crate) fn french_date(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%d/%m/%Y à %H:%M UTC")
        .to_string()
}

/// The absolute address of an item's link: only a path of the portal (`/…`, never
/// `//host` or a scheme), and only when the portal's address is known.
fn item_url(portal: Option<&str>, link: Option<&str>) -> Option<String> {
    let link = link.filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'))?;
    Some(format!("{}{link}", portal?))
}

/// Compose the digest for `name`: `items` (newest first) published since `since`, and
/// `more` newer items left out. Each item shows its source as `labels` names it (source
/// id → label, e.g. `nouveautes` → `Annonce`), else its source id.
pub fn compose(
    etablissement: &str,
    name: &str,
    since: SystemTime,
    items: &[Notification],
    more: usize,
    portal: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> DigestContent {
    let subject = format!("Résumé des nouveautés – {etablissement}");
    let since = french_date(since);
    let count = if items.len() + more == 1 {
        "Voici la nouveauté publiée pour vous".to_string()
    } else {
        format!(
            "Voici les {} nouveautés publiées pour vous",
            items.len() + more
        )
    };
    let unsubscribe = "Vous recevez ce courriel parce que vous l’avez demandé. Pour ne plus le \
                       recevoir, décochez « Recevoir le résumé par courriel » dans les \
                       préférences du bloc « Résumé des nouveautés »";

    let mut text = format!("Bonjour {name},\n\n{count} depuis le {since} :\n\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<p>Bonjour {},</p>\n<p>{count} depuis le {since}&nbsp;:</p>\n<ul>\n",
        escape(&subject),
        escape(name),
    );
    for item in items {
        let source = labels.get(&item.source).unwrap_or(&item.source);
        let meta = format!("{source} – {}", french_date(item.at));
        let url = item_url(portal, item.link.as_deref());
        let _ = writeln!(text, "- {}\n  {meta}", item.title);
        if let Some(url) = &url {
            let _ = writeln!(text, "  {url}");
        }
        let title = match &url {
            Some(url) => format!("<a href=\"{}\">{}</a>", escape(url), escape(&item.title)),
            None => escape(&item.title),
        };
        let _ = writeln!(html, "<li>{title}<br><small>{}</small></li>", escape(&meta));
    }
    html.push_str("</ul>\n");
    if more > 0 {
        let line = if more == 1 {
            "… et une autre nouveauté, à retrouver sur l’ENT.".to_string()
        } else {
            format!("… et {more} autres nouveautés, à retrouver sur l’ENT.")
        };
        let _ = writeln!(text, "{line}");
        let _ = writeln!(html, "<p>{}</p>", escape(&line));
    }
    match portal {
        Some(portal) => {
            let _ = write!(
                text,
                "\n{unsubscribe} de l’ENT : {portal}\n\n-- \n{etablissement}\n"
            );
            let _ = write!(
                html,
                "<p>{} de l’<a href=\"{}\">ENT</a>.</p>\n<p>{}</p>\n</body>\n</html>\n",
                escape(unsubscribe),
                escape(portal),
                escape(etablissement)
            );
        }
        None => {
            let _ = write!(text, "\n{unsubscribe} de l’ENT.\n\n-- \n{etablissement}\n");
            let _ = write!(
                html,
                "<p>{} de l’ENT.</p>\n<p>{}</p>\n</body>\n</html>\n",
                escape(unsubscribe),
                escape(etablissement)
            );
        }
    }
    DigestContent {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use cartable_socle::Audience;

    use super::*;

    #[test]
    fn composes_french_text_and_escaped_html() {
        let at = UNIX_EPOCH + Duration::from_secs(1_709_249_405);
        let items = [
            Notification {
                source: "nouveautes".into(),
                title: "Sortie au <musée> & co".into(),
                link: Some("/page/accueil".into()),
                audience: Audience::Everyone,
                at,
            },
            Notification {
                source: "cahier-de-textes".into(),
                title: "Devoir".into(),
                link: Some("javascript:alert(1)".into()),
                audience: Audience::Everyone,
                at,
            },
        ];
        let d = compose(
            "Lycée <Hugo>",
            "Léa Martin",
            at - Duration::from_secs(86_400),
            &items,
            3,
            Some("https://ent.example.org"),
            &BTreeMap::from([("nouveautes".to_string(), "Annonce".to_string())]),
        );
        assert_eq!(d.subject, "Résumé des nouveautés – Lycée <Hugo>");
        assert!(d.text.starts_with("Bonjour Léa Martin,\n\nVoici les 5 nouveautés publiées pour vous depuis le 28/02/2024 à 23:30 UTC :"), "{}", d.text);
        assert!(d.text.contains("- Sortie au <musée> & co\n  Annonce – 29/02/2024 à 23:30 UTC\n  https://ent.example.org/page/accueil\n"), "{}", d.text);
        assert!(!d.text.contains("javascript"));
        assert!(d.text.contains("… et 3 autres nouveautés"));
        assert!(d.html.contains("<a href=\"https://ent.example.org/page/accueil\">Sortie au &lt;musée&gt; &amp; co</a>"), "{}", d.html);
        assert!(
            d.html
                .contains("<title>Résumé des nouveautés – Lycée &lt;Hugo&gt;</title>")
        );
        assert!(d.html.contains(
            "<li>Devoir<br><small>cahier-de-textes – 29/02/2024 à 23:30 UTC</small></li>"
        ));
        let bare = compose("L", "Tom", at, &items[..1], 0, None, &BTreeMap::new());
        assert!(bare.text.contains("Voici la nouveauté publiée pour vous"));
        assert!(!bare.text.contains("http"));
        assert!(
            bare.text.contains("  nouveautes – 29/02/2024"),
            "no label given: the source as it is"
        );
    }
}
