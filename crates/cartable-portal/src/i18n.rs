//! The portal's own words (the page chrome, login, "Mon compte", administration), in
//! `locales/fr.ftl` and `locales/en.ftl` on Project Fluent like every service's messages.
//!
//! The pages read each language's words as one template value, built once per process
//! from the messages (building it per page was a good part of a page's cost): an
//! établissement that rewords the chrome through
//! [`add_locale_dir`](cartable_i18n::add_locale_dir) (a file
//! `<dir>/fr/cartable-portal.ftl`) adds its directory before the portal starts.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cartable_i18n::{FluentArgs, Messages};

/// The chrome's messages, domain `cartable-portal`.
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_i18n::messages!());

/// The messages with variables: read with [`Lang::t_args`], never formatted without
/// their arguments (which Fluent would log as an error).
const WITH_ARGUMENTS: &[&str] = &[
    "delegation_rules",
    "form_refused",
    "password_rules",
    "search_too_long",
];

/// One language's words: by id, and as the template value `t`.
struct Words {
    by_id: BTreeMap<String, String>,
    value: minijinja::Value,
}

impl Words {
    fn of(lang: Lang) -> Words {
        let by_id: BTreeMap<String, String> = MESSAGES
            .ids()
            .into_iter()
            .filter(|id| !WITH_ARGUMENTS.contains(&id.as_str()))
            .map(|id| {
                let text = MESSAGES.get(lang.tag(), &id);
                (id, text)
            })
            .collect();
        let value = minijinja::Value::from(by_id.clone());
        Words { by_id, value }
    }
}

static WORDS: LazyLock<[Words; 2]> = LazyLock::new(|| [Words::of(Lang::Fr), Words::of(Lang::En)]);

/// A supported page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// French, the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// From a session value or URL segment; anything unknown is French.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.starts_with("en") {
            Lang::En
        } else {
            Lang::Fr
        }
    }

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Lang::Fr => &WORDS[0],
            Lang::En => &WORDS[1],
        }
    }

    /// Every word as one template value (templates read `t.key`), built once.
    pub fn strings_value(self) -> minijinja::Value {
        self.words().value.clone()
    }

    /// One message (its id when missing everywhere, so a gap shows instead of breaking).
    pub fn t(self, key: &'static str) -> &'static str {
        self.words().by_id.get(key).map_or(key, String::as_str)
    }

    /// One message with arguments (`{ $n }` in the message).
    pub fn t_args(self, key: &str, args: &FluentArgs<'_>) -> String {
        MESSAGES.get_args(self.tag(), key, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_translated() {
        assert_eq!(MESSAGES.untranslated("en"), Vec::<String>::new());
        assert_eq!(Lang::En.t("logout"), "Log out");
        assert_eq!(Lang::from_tag("de").t("logout"), "Se déconnecter");
        assert_eq!(Lang::Fr.t("no-such-message"), "no-such-message");
    }

    #[test]
    fn templates_read_the_words_by_key() {
        let env = minijinja::Environment::new();
        let out = env
            .render_str(
                "{{ t.logout }}|{{ t.skip }}",
                minijinja::context! { t => Lang::En.strings_value() },
            )
            .unwrap();
        assert_eq!(out, "Log out|Skip to content");
    }

    #[test]
    fn arguments_are_filled_in() {
        let args = cartable_i18n::args! { "n" => 12, "c" => 3 };
        assert_eq!(
            Lang::En.t_args("password_rules", &args),
            "At least 12 characters, with 3 kinds among: lower case, upper case, digits, others; without your login."
        );
    }
}
