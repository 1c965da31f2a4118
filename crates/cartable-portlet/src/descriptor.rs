//! What a portlet declares about itself: the descriptor.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use cartable_socle::Profile;
use serde::{Deserialize, Serialize};

/// The portlet mode a window is shown in (JSR-286 modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The portlet's normal content.
    #[default]
    View,
    /// The preference form.
    Edit,
    /// Help about the portlet.
    Help,
}

/// The state of a window on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowState {
    /// Among the other windows of its column.
    #[default]
    Normal,
    /// Only its title bar is shown.
    Minimized,
    /// Shown alone, over the whole content area.
    Maximized,
}

/// A mode or state name in a URL that Cartable does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownName {
    kind: &'static str,
    value: String,
}

impl Mode {
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::View => "view",
            Mode::Edit => "edit",
            Mode::Help => "help",
        }
    }
}

impl FromStr for Mode {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "view" => Ok(Mode::View),
            "edit" => Ok(Mode::Edit),
            "help" => Ok(Mode::Help),
            _ => Err(UnknownName {
                kind: "mode",
                value: s.into(),
            }),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl WindowState {
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::Normal => "normal",
            WindowState::Minimized => "minimized",
            WindowState::Maximized => "maximized",
        }
    }
}

impl FromStr for WindowState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "normal" => Ok(WindowState::Normal),
            "minimized" => Ok(WindowState::Minimized),
            "maximized" => Ok(WindowState::Maximized),
            _ => Err(UnknownName {
                kind: "window state",
                value: s.into(),
            }),
        }
    }
}

impl fmt::Display for WindowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text with a French default and translations by language tag (`"en"`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LocalizedText {
    /// The French text, used when no translation matches.
    pub fr: String,
    /// Translations by language tag.
    pub others: BTreeMap<String, String>,
}

impl LocalizedText {
    /// A text in French only.
    pub fn fr(text: impl Into<String>) -> Self {
        LocalizedText {
            fr: text.into(),
            others: BTreeMap::new(),
        }
    }

    /// Add a translation.
    pub fn with(mut self, lang: &str, text: impl Into<String>) -> Self {
        self.others.insert(lang.to_string(), text.into());
        self
    }

    /// A message of a portlet's Fluent messages in every language they have, so that a
    /// descriptor's title comes from the same `.ftl` files as the rest of its text:
    /// `Descriptor::new("annuaire", LocalizedText::from_messages(&MESSAGES, "title"))`.
    /// The French text falls back to the id; `"id.attribute"` reads an attribute.
    /// A language added by [`crate::i18n::add_locale_dir`] counts if it was added before.
    pub fn from_messages(messages: &crate::i18n::Messages, id: &str) -> Self {
        let mut text = LocalizedText::fr(messages.get(crate::i18n::DEFAULT_LANGUAGE, id));
        for (tag, translation) in messages.translations(id) {
            let lang = tag.split(['-', '_']).next().unwrap_or(&tag);
            if lang != crate::i18n::DEFAULT_LANGUAGE && !text.others.contains_key(lang) {
                text.others.insert(lang.to_string(), translation);
            }
        }
        text
    }

    /// The text for a locale (`"en"`, `"en-GB"`…), falling back to French.
    pub fn get(&self, locale: &str) -> &str {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        self.others.get(lang).map_or(&self.fr, String::as_str)
    }
}

impl From<&str> for LocalizedText {
    fn from(text: &str) -> Self {
        LocalizedText::fr(text)
    }
}

/// How long the portal may reuse a rendered fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CachePolicy {
    /// Render on every page view.
    #[default]
    NoCache,
    /// Reuse the fragment for the same user, window, mode and parameters for a while.
    PerUser(Duration),
    /// Reuse one fragment for every user for a while (content that does not depend on
    /// the user).
    Shared(Duration),
}

/// Which profiles may see a portlet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Audience {
    /// Every logged-in user.
    #[default]
    Everyone,
    /// Only users holding at least one of these profiles.
    Profiles(Vec<Profile>),
}

impl Audience {
    /// Whether a user with these profiles may see the portlet.
    pub fn allows(&self, profiles: &[Profile]) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Profiles(allowed) => allowed.iter().any(|p| profiles.contains(p)),
        }
    }
}

/// One preference a portlet understands, with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferenceSpec {
    /// Its name (stable key).
    pub name: String,
    /// The label of its field in the edit form.
    pub label: LocalizedText,
    /// The value when neither the établissement nor the user set one.
    pub default: String,
    /// The values allowed; empty means free text.
    pub choices: Vec<String>,
    /// The longest value accepted, in characters.
    pub max_len: usize,
    /// Edited in a multi-line text area (lists, messages).
    pub multiline: bool,
    /// What its value is, beyond its length and choices (free text unless set).
    pub kind: PreferenceKind,
}

/// What a preference's value is, checked by [`PreferenceSpec::validate`] (hence by the
/// portal at start and by `cartable check` for the établissement's values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreferenceKind {
    /// Free text (or one of the choices).
    #[default]
    Text,
    /// Who may do something, by profile: a [`ProfileList`] (`"personnel, enseignant"`,
    /// or `"*"` for everyone).
    Profiles,
}

/// A list of the socle's profiles as an établissement writes it in a setting: names
/// separated by commas or spaces (`"personnel, enseignant"`; the French and English
/// names of [`Profile`]'s `FromStr` are understood), or `*` for everyone.
///
/// ```
/// use cartable_portlet::{Profile, ProfileList};
///
/// let staff = ProfileList::parse("personnel, enseignant").unwrap();
/// assert!(staff.includes(&[Profile::Enseignant]));
/// assert!(!staff.includes(&[Profile::Eleve]));
/// assert!(ProfileList::parse("*").unwrap().includes(&[Profile::Eleve]));
/// let typo = ProfileList::parse("personnel, enseignants").unwrap_err();
/// assert!(typo.contains("\"enseignants\""), "{typo}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileList {
    /// Everyone (`*`).
    Everyone,
    /// The holders of one of these profiles (at least one).
    Profiles(Vec<Profile>),
}

impl ProfileList {
    /// The profiles' names the list accepts, for messages.
    pub const NAMES: &'static str = "eleve, enseignant, parent, personnel, invite, admin";

    /// Read a list; a name the socle does not know (a typo, a profile of the
    /// établissement's own that the service cannot check), an empty list or `*` among
    /// names is refused with a message that names it.
    pub fn parse(value: &str) -> Result<ProfileList, String> {
        let words: Vec<&str> = value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            [] => Err(format!(
                "name at least one profile ({}), or * for everyone",
                Self::NAMES
            )),
            ["*"] => Ok(ProfileList::Everyone),
            _ => {
                let mut profiles = Vec::new();
                for word in words {
                    let profile = match word.parse::<Profile>() {
                        Ok(Profile::Other(_)) | Err(_) => {
                            let hint = if word == "*" {
                                "* (everyone) stands alone".to_string()
                            } else {
                                format!("the profiles are {}, or * for everyone", Self::NAMES)
                            };
                            return Err(format!("unknown profile {word:?}: {hint}"));
                        }
                        Ok(p) => p,
                    };
                    if !profiles.contains(&profile) {
                        profiles.push(profile);
                    }
                }
                Ok(ProfileList::Profiles(profiles))
            }
        }
    }

    /// Whether someone with these profiles is in the list.
    pub fn includes(&self, profiles: &[Profile]) -> bool {
        match self {
            ProfileList::Everyone => true,
            ProfileList::Profiles(listed) => listed.iter().any(|p| profiles.contains(p)),
        }
    }
}

impl PreferenceSpec {
    /// A free-text preference of at most 200 characters.
    pub fn new(name: &str, label: impl Into<LocalizedText>, default: &str) -> Self {
        PreferenceSpec {
            name: name.to_string(),
            label: label.into(),
            default: default.to_string(),
            choices: Vec::new(),
            max_len: 200,
            multiline: false,
            kind: PreferenceKind::Text,
        }
    }

    /// Its value is a [`ProfileList`] (who may do something, by profile): a name the
    /// socle does not know is refused by [`validate`](Self::validate).
    pub fn profiles(mut self) -> Self {
        self.kind = PreferenceKind::Profiles;
        self
    }

    /// Accept values up to `max_len` characters.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Edit it in a multi-line text area.
    pub fn multiline(mut self) -> Self {
        self.multiline = true;
        self
    }

    /// Restrict the values to a list.
    pub fn choices<I, S>(mut self, choices: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.choices = choices.into_iter().map(Into::into).collect();
        self
    }

    /// Check a value a user submitted.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        if value.chars().count() > self.max_len {
            return Err(format!("at most {} characters", self.max_len));
        }
        let allowed =
            |c: char| !c.is_control() || (self.multiline && matches!(c, '\n' | '\r' | '\t'));
        if !value.chars().all(allowed) {
            return Err("control characters are not allowed".into());
        }
        if !self.choices.is_empty() && !self.choices.iter().any(|c| c == value) {
            return Err(format!("must be one of: {}", self.choices.join(", ")));
        }
        match self.kind {
            PreferenceKind::Text => {}
            PreferenceKind::Profiles => {
                ProfileList::parse(value)?;
            }
        }
        Ok(())
    }
}

/// Everything the portal needs to know about a portlet before calling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Stable identifier, `[a-z0-9-]`, unique in the portal.
    pub id: String,
    /// Title of its windows.
    pub title: LocalizedText,
    /// A one-line description for the catalogue.
    pub description: LocalizedText,
    /// Supported modes; [`Mode::View`] is always supported.
    pub modes: Vec<Mode>,
    /// Supported window states; [`WindowState::Normal`] is always supported.
    pub states: Vec<WindowState>,
    /// Catalogue categories ("communication", "vie scolaire"…).
    pub categories: Vec<String>,
    /// Who may see it.
    pub audience: Audience,
    /// Fragment caching.
    pub cache: CachePolicy,
    /// The preferences it understands.
    pub preferences: Vec<PreferenceSpec>,
    /// Event names it wants to receive (see [`crate::Event`]).
    pub consumes: Vec<String>,
    /// The largest `multipart/form-data` body (files and fields) its actions and
    /// resources accept, in bytes ([`crate::upload::DEFAULT_UPLOAD_LIMIT`] unless set):
    /// a larger one is refused with `413` before anything is stored.
    pub upload_limit: u64,
    /// The tool it offers to groups, if it has a group mode ([`GroupTool`](crate::GroupTool)).
    pub group_tool: Option<crate::GroupTool>,
}

impl Descriptor {
    /// A descriptor with view mode, every window state, visible to everyone, no cache.
    ///
    /// # Panics
    /// If `id` is not made of `[a-z0-9-]`: identifiers are written by the portlet's
    /// author, so this is a programming error caught by the first test.
    pub fn new(id: &str, title: impl Into<LocalizedText>) -> Self {
        assert!(
            is_valid_id(id),
            "portlet id {id:?} must be non-empty lower-case [a-z0-9-]"
        );
        Descriptor {
            id: id.to_string(),
            title: title.into(),
            description: LocalizedText::default(),
            modes: vec![Mode::View],
            states: vec![
                WindowState::Normal,
                WindowState::Minimized,
                WindowState::Maximized,
            ],
            categories: Vec::new(),
            audience: Audience::Everyone,
            cache: CachePolicy::NoCache,
            preferences: Vec::new(),
            consumes: Vec::new(),
            upload_limit: crate::upload::DEFAULT_UPLOAD_LIMIT,
            group_tool: None,
        }
    }

    /// Set the catalogue description.
    pub fn description(mut self, text: impl Into<LocalizedText>) -> Self {
        self.description = text.into();
        self
    }

    /// Add a supported mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        if !self.modes.contains(&mode) {
            self.modes.push(mode);
        }
        self
    }

    /// Add a catalogue category.
    pub fn category(mut self, category: &str) -> Self {
        self.categories.push(category.to_string());
        self
    }

    /// Restrict to some profiles.
    pub fn profiles(mut self, profiles: impl IntoIterator<Item = Profile>) -> Self {
        self.audience = Audience::Profiles(profiles.into_iter().collect());
        self
    }

    /// Set the cache policy.
    pub fn cache(mut self, cache: CachePolicy) -> Self {
        self.cache = cache;
        self
    }

    /// Declare a preference; adds [`Mode::Edit`].
    pub fn preference(mut self, spec: PreferenceSpec) -> Self {
        self.preferences.push(spec);
        self.mode(Mode::Edit)
    }

    /// Declare an établissement setting: a preference the établissement sets in its
    /// configuration (`[portlets.<id>.preferences]`) and users never edit, so no
    /// [`Mode::Edit`] is added. Every door reads it the same way, a window's or not, with
    /// [`Services::etablissement_preferences`](crate::Services::etablissement_preferences).
    pub fn setting(mut self, spec: PreferenceSpec) -> Self {
        self.preferences.push(spec);
        self
    }

    /// Receive events with this name.
    pub fn consumes(mut self, event: &str) -> Self {
        self.consumes.push(event.to_string());
        self
    }

    /// Accept `multipart/form-data` bodies (files and fields) of up to `bytes` in its
    /// actions and resources (default [`crate::upload::DEFAULT_UPLOAD_LIMIT`], 20 MiB).
    pub fn upload_limit(mut self, bytes: u64) -> Self {
        self.upload_limit = bytes;
        self
    }

    /// Offer a tool to groups (its group mode): the portal lists it among the tools a
    /// group's managers choose (see [`GroupTool`](crate::GroupTool)).
    pub fn group_tool(mut self, tool: crate::GroupTool) -> Self {
        self.group_tool = Some(tool);
        self
    }

    /// Whether a mode is supported.
    pub fn supports_mode(&self, mode: Mode) -> bool {
        mode == Mode::View || self.modes.contains(&mode)
    }

    /// Whether a window state is supported.
    pub fn supports_state(&self, state: WindowState) -> bool {
        state == WindowState::Normal || self.states.contains(&state)
    }

    /// The spec of a preference by name.
    pub fn preference_spec(&self, name: &str) -> Option<&PreferenceSpec> {
        self.preferences.iter().find(|p| p.name == name)
    }
}

/// Whether a string is a valid portlet or window identifier (`[a-z0-9-]`, 1 to 64 long).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localized_text_falls_back_to_french() {
        let t = LocalizedText::fr("Bonjour").with("en", "Hello");
        assert_eq!(t.get("en-GB"), "Hello");
        assert_eq!(t.get("de"), "Bonjour");
        assert_eq!(t.get("fr"), "Bonjour");
    }

    #[test]
    fn localized_text_from_messages() {
        let messages = crate::i18n::Messages::new(
            "cartable-portlet-test",
            &[
                ("fr", "titre = Annuaire\n    .court = Ann.\nseul = Seul\n"),
                ("en", "titre = Directory\n    .court = Dir.\n"),
            ],
        );
        let t = LocalizedText::from_messages(&messages, "titre");
        assert_eq!(t, LocalizedText::fr("Annuaire").with("en", "Directory"));
        assert_eq!(t.get("en-GB"), "Directory");
        let short = LocalizedText::from_messages(&messages, "titre.court");
        assert_eq!(short.get("en"), "Dir.");
        assert_eq!(
            LocalizedText::from_messages(&messages, "seul").get("en"),
            "Seul"
        );
        assert_eq!(
            LocalizedText::from_messages(&messages, "absent").get("fr"),
            "absent"
        );
    }

    #[test]
    fn preference_validation() {
        let p = PreferenceSpec::new("n", "N", "5").choices(["5", "10"]);
        assert!(p.validate("5").is_ok());
        assert!(p.validate("7").is_err());
        let free = PreferenceSpec::new("t", "T", "");
        assert!(free.validate(&"x".repeat(201)).is_err());
        assert!(free.validate("a\u{0}").is_err());
        assert!(free.validate("a\nb").is_err(), "one line unless multiline");
        assert!(free.clone().multiline().validate("a\r\nb").is_ok());
        assert!(free.max_len(300).validate(&"x".repeat(300)).is_ok());
    }

    #[test]
    fn a_profiles_setting_refuses_what_the_socle_does_not_know() {
        let p = PreferenceSpec::new("readers", "Readers", "*").profiles();
        assert!(p.validate("*").is_ok());
        assert!(p.validate("personnel,enseignant admin").is_ok());
        assert!(p.validate("élève").is_ok(), "French names are understood");
        let typo = p.validate("personnel, enseignants").unwrap_err();
        assert!(
            typo.contains("unknown profile \"enseignants\"") && typo.contains("eleve, enseignant"),
            "{typo}"
        );
        assert!(p.validate("").unwrap_err().contains("at least one profile"));
        assert!(p.validate("eleve, *").unwrap_err().contains("stands alone"));
        assert_eq!(
            ProfileList::parse("enseignant, personnel, enseignant"),
            Ok(ProfileList::Profiles(vec![
                Profile::Enseignant,
                Profile::Personnel
            ]))
        );
        // A setting adds no edit mode; a preference does.
        let d = Descriptor::new("x", "X").setting(p.clone());
        assert!(!d.supports_mode(Mode::Edit) && d.preference_spec("readers").is_some());
        assert!(
            Descriptor::new("y", "Y")
                .preference(p)
                .supports_mode(Mode::Edit)
        );
    }

    #[test]
    fn modes_and_states_round_trip() {
        for m in [Mode::View, Mode::Edit, Mode::Help] {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
        }
        assert!("admin".parse::<Mode>().is_err());
        assert_eq!(
            "maximized".parse::<WindowState>().unwrap(),
            WindowState::Maximized
        );
    }

    #[test]
    #[should_panic(expected = "portlet id")]
    fn bad_ids_are_refused() {
        let _ = Descriptor::new("Bad Id", "x");
    }
}
