//! Who may find whom, and which of a person's fields a viewer may see.
//!
//! Two sets of établissement preferences, one per viewer profile:
//! - `fields_<profile>`: the directory attributes a viewer holding that profile may see
//!   (comma-separated LDAP attribute names);
//! - `people_<profile>`: the profiles of the people she may find (`*` for everyone).
//!
//! A viewer with several profiles gets the union. A value counts as it is only when the
//! établissement locked it; an unlocked value (which the user may have changed herself in
//! the generic preference form) can only narrow the built-in default, never widen it.

use cartable_portlet::{
    LocalizedText, Person, PortletContext, PreferenceSpec, Preferences, Profile,
};
use cartable_socle::SocleError;

use crate::MESSAGES;

/// The attributes the portlet knows how to label, in the order of the table's columns;
/// the label of each is the message `field-<attribute>` (`field-mail`: "Courriel",
/// "Email"). Other attributes named in a preference are shown under their LDAP name,
/// after these.
pub const KNOWN_FIELDS: &[&str] = &[
    "mail",
    "telephoneNumber",
    "mobile",
    "title",
    "ENTEleveClasses",
    "ENTEleveNivFormation",
    "ENTAuxEnsClasses",
    "ENTAuxEnsMatiereEnseignEtab",
    "ENTPersonStructRattach",
];

/// The class attribute searched by the "classe" criterion.
pub const CLASS_ATTRIBUTE: &str = "ENTEleveClasses";
/// The structure attribute searched by the "structure" criterion.
pub const STRUCTURE_ATTRIBUTE: &str = "ENTPersonStructRattach";

/// The label of a known attribute in a locale (`mail` → "Courriel" in `fr`, "Email" in
/// `en`); `None` for others.
pub fn field_label(attribute: &str, locale: &str) -> Option<String> {
    KNOWN_FIELDS
        .iter()
        .find(|name| name.eq_ignore_ascii_case(attribute))
        .map(|name| MESSAGES.get(locale, &format!("field-{name}")))
}

/// The label of any attribute: the known label, else the attribute's own name.
pub(crate) fn label_or_name(attribute: &str, locale: &str) -> String {
    field_label(attribute, locale).unwrap_or_else(|| attribute.to_string())
}

/// The visibility rules of one viewer profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityRule {
    /// The viewer's profile.
    pub profile: Profile,
    /// The preference listing the fields she may see.
    pub fields_preference: &'static str,
    /// Its default.
    pub fields_default: &'static str,
    /// The preference listing the profiles of the people she may find.
    pub people_preference: &'static str,
}

/// Fields élèves and parents see by default: no telephone numbers.
const PUPIL_FIELDS: &str =
    "mail,title,ENTEleveClasses,ENTAuxEnsMatiereEnseignEtab,ENTPersonStructRattach";
/// Fields teachers see by default: no telephone numbers.
const TEACHER_FIELDS: &str = "mail,title,ENTEleveClasses,ENTEleveNivFormation,ENTAuxEnsClasses,ENTAuxEnsMatiereEnseignEtab,ENTPersonStructRattach";
/// Fields the staff sees by default: the teachers' and the office telephone.
const STAFF_FIELDS: &str = "mail,telephoneNumber,title,ENTEleveClasses,ENTEleveNivFormation,ENTAuxEnsClasses,ENTAuxEnsMatiereEnseignEtab,ENTPersonStructRattach";
/// Fields administrators see by default: every known field.
const ADMIN_FIELDS: &str = "mail,telephoneNumber,mobile,title,ENTEleveClasses,ENTEleveNivFormation,ENTAuxEnsClasses,ENTAuxEnsMatiereEnseignEtab,ENTPersonStructRattach";
/// Default of every `people_*` preference: everyone may be found.
pub const EVERYONE: &str = "*";

/// The rules, one per viewer profile that may use the portlet.
pub fn rules() -> [VisibilityRule; 5] {
    let rule = |profile, fields_preference, fields_default, people_preference| VisibilityRule {
        profile,
        fields_preference,
        fields_default,
        people_preference,
    };
    [
        rule(Profile::Eleve, "fields_eleve", PUPIL_FIELDS, "people_eleve"),
        rule(
            Profile::Parent,
            "fields_parent",
            PUPIL_FIELDS,
            "people_parent",
        ),
        rule(
            Profile::Enseignant,
            "fields_enseignant",
            TEACHER_FIELDS,
            "people_enseignant",
        ),
        rule(
            Profile::Personnel,
            "fields_personnel",
            STAFF_FIELDS,
            "people_personnel",
        ),
        rule(Profile::Admin, "fields_admin", ADMIN_FIELDS, "people_admin"),
    ]
}

/// The preference specs of the rules, for the descriptor.
pub(crate) fn preference_specs() -> Vec<PreferenceSpec> {
    let mut specs = Vec::new();
    // Each label is the message `pref-<preference name>`.
    let label = |name: &str| LocalizedText::from_messages(&MESSAGES, &format!("pref-{name}"));
    for rule in rules() {
        specs.push(
            PreferenceSpec::new(
                rule.fields_preference,
                label(rule.fields_preference),
                rule.fields_default,
            )
            .max_len(1000),
        );
        specs.push(
            PreferenceSpec::new(
                rule.people_preference,
                label(rule.people_preference),
                EVERYONE,
            )
            .max_len(200),
        );
    }
    specs
}

/// Whether a name can be an LDAP attribute the portlet may show: a letter, then letters,
/// digits or `-`, at most 64; never a password or `objectClass`.
fn is_showable_attribute(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !lower.contains("password")
        && lower != "objectclass"
}

/// Parse a field list ("mail, telephoneNumber;title"): known names get their usual
/// spelling, invalid names are dropped, duplicates removed (case-insensitively).
pub fn parse_fields(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in value
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|n| is_showable_attribute(n))
    {
        let name = KNOWN_FIELDS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(name))
            .map_or_else(|| name.to_string(), |known| (*known).to_string());
        if !contains(&out, &name) {
            out.push(name);
        }
    }
    out
}

/// Which profiles a `people_*` value lets one find.
#[derive(Debug, Clone, PartialEq, Eq)]
enum People {
    Everyone,
    Profiles(Vec<Profile>),
}

impl People {
    fn parse(value: &str) -> People {
        let mut profiles = Vec::new();
        for word in value
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            if word == "*" {
                return People::Everyone;
            }
            if let Ok(p) = word.parse::<Profile>()
                && !profiles.contains(&p)
            {
                profiles.push(p);
            }
        }
        People::Profiles(profiles)
    }
}

/// Case-insensitive membership of an attribute name.
pub(crate) fn contains(list: &[String], name: &str) -> bool {
    list.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// The fields of one rule in effect for this window (see the module documentation).
pub(crate) fn effective_fields(prefs: &Preferences, rule: &VisibilityRule) -> Vec<String> {
    let default = parse_fields(rule.fields_default);
    match prefs.get(rule.fields_preference) {
        None => default,
        Some(value) if prefs.is_locked(rule.fields_preference) => parse_fields(value),
        Some(value) => parse_fields(value)
            .into_iter()
            .filter(|f| contains(&default, f))
            .collect(),
    }
}

fn effective_people(prefs: &Preferences, rule: &VisibilityRule) -> People {
    match prefs.get(rule.people_preference) {
        None => People::Everyone,
        // The default is everyone, so an unlocked value can only narrow it.
        Some(value) => People::parse(value),
    }
}

/// The profiles of the people a rule's viewers may find (`None`: everyone).
pub(crate) fn findable_profiles(
    prefs: &Preferences,
    rule: &VisibilityRule,
) -> Option<Vec<Profile>> {
    match effective_people(prefs, rule) {
        People::Everyone => None,
        People::Profiles(p) => Some(p),
    }
}

/// Column order: known fields first, in [`KNOWN_FIELDS`] order, then the others.
fn sort_fields(fields: &mut [String]) {
    fields.sort_by_key(|f| {
        KNOWN_FIELDS
            .iter()
            .position(|known| known.eq_ignore_ascii_case(f))
            .unwrap_or(KNOWN_FIELDS.len())
    });
}

/// What the current user may see.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// Her uid.
    pub id: String,
    /// Administrators see every field of their `fields_admin` list, whatever people hid.
    pub admin: bool,
    /// The fields she may see, in column order.
    pub fields: Vec<String>,
    /// Whom she may find (`None`: everyone).
    people: Option<Vec<Profile>>,
}

impl Viewer {
    pub fn new(ctx: &PortletContext) -> Viewer {
        Viewer::of(ctx.user(), &ctx.preferences)
    }

    /// What `user` may see under the preferences `prefs` (a window's, or the
    /// établissement's for the ENT-wide search).
    pub fn of(user: &Person, prefs: &Preferences) -> Viewer {
        let mut fields: Vec<String> = Vec::new();
        let mut people = People::Profiles(Vec::new());
        for rule in rules().iter().filter(|r| user.has_profile(&r.profile)) {
            for f in effective_fields(prefs, rule) {
                if !contains(&fields, &f) {
                    fields.push(f);
                }
            }
            people = match (people, effective_people(prefs, rule)) {
                (People::Everyone, _) | (_, People::Everyone) => People::Everyone,
                (People::Profiles(mut a), People::Profiles(b)) => {
                    for p in b {
                        if !a.contains(&p) {
                            a.push(p);
                        }
                    }
                    People::Profiles(a)
                }
            };
        }
        sort_fields(&mut fields);
        Viewer {
            id: user.id.clone(),
            admin: user.has_profile(&Profile::Admin),
            fields,
            people: match people {
                People::Everyone => None,
                People::Profiles(p) => Some(p),
            },
        }
    }

    /// The profiles of the people she may find; `None`: everyone (administrators too).
    pub fn findable(&self) -> Option<&[Profile]> {
        if self.admin {
            None
        } else {
            self.people.as_deref()
        }
    }

    /// Whether some people are out of her reach (results are then filtered after the
    /// directory search).
    pub fn restricted(&self) -> bool {
        !self.admin && self.people.is_some()
    }

    /// Whether this is the viewer herself.
    pub fn is_self(&self, person: &Person) -> bool {
        person.id.eq_ignore_ascii_case(&self.id)
    }

    /// Whether she may find this person (herself always; administrators everyone).
    pub fn may_find(&self, person: &Person) -> bool {
        self.admin
            || self.is_self(person)
            || self
                .people
                .as_ref()
                .is_none_or(|allowed| person.profiles.iter().any(|p| allowed.contains(p)))
    }

    /// The values of a field of this person she may see (empty when none).
    pub fn values<'p>(&self, person: &'p Person, hidden: &Hidden, field: &str) -> &'p [String] {
        if !contains(&self.fields, field)
            || (!self.admin && !self.is_self(person) && hidden.hides(field))
        {
            return &[];
        }
        attribute_values(person, field)
    }
}

/// The values of an attribute, its name compared without case.
pub(crate) fn attribute_values<'p>(person: &'p Person, field: &str) -> &'p [String] {
    person
        .attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map_or(&[], |(_, v)| v.as_slice())
}

/// The fields a person can choose to hide: those some non-administrator profile may see
/// and that she has, in column order.
pub(crate) fn hideable_fields(prefs: &Preferences, person: &Person) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for rule in rules().iter().filter(|r| r.profile != Profile::Admin) {
        for f in effective_fields(prefs, rule) {
            if !contains(&out, &f) && !attribute_values(person, &f).is_empty() {
                out.push(f);
            }
        }
    }
    sort_fields(&mut out);
    out
}

/// What a person hid from others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Hidden {
    /// Nothing.
    #[default]
    Nothing,
    /// These fields.
    Fields(Vec<String>),
    /// Her setting cannot be read: hide everything (fail closed).
    All,
}

impl Hidden {
    pub fn hides(&self, field: &str) -> bool {
        match self {
            Hidden::Nothing => false,
            Hidden::Fields(f) => contains(f, field),
            Hidden::All => true,
        }
    }
}

/// The shared-data key holding what `uid` hid: `hidden/<uid in lower case>`.
pub fn hidden_key(uid: &str) -> String {
    format!("{}{}", crate::HIDDEN_PREFIX, uid.to_lowercase())
}

/// Read what a person hid; an unreadable value hides everything.
pub(crate) async fn load_hidden(
    shared: &cartable_portlet::PortletData,
    uid: &str,
) -> Result<Hidden, SocleError> {
    match shared.get_json::<Vec<String>>(&hidden_key(uid)).await {
        Ok(None) => Ok(Hidden::Nothing),
        Ok(Some(list)) if list.is_empty() => Ok(Hidden::Nothing),
        Ok(Some(list)) => Ok(Hidden::Fields(list)),
        Err(SocleError::Corrupt { .. }) => Ok(Hidden::All),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_are_parsed_strictly() {
        assert_eq!(
            parse_fields(
                " MAIL, telephoneNumber;;title x-custom mail userPassword objectClass 1bad a=b"
            ),
            ["mail", "telephoneNumber", "title", "x-custom"]
        );
        assert!(parse_fields("").is_empty());
    }

    #[test]
    fn pupils_do_not_see_telephones_by_default() {
        let [eleve, parent, enseignant, personnel, admin] = rules();
        for r in [&eleve, &parent, &enseignant] {
            assert!(!contains(
                &parse_fields(r.fields_default),
                "telephoneNumber"
            ));
        }
        for r in [&personnel, &admin] {
            assert!(contains(&parse_fields(r.fields_default), "telephoneNumber"));
        }
    }

    #[test]
    fn people_lists() {
        assert_eq!(People::parse("* eleve"), People::Everyone);
        assert_eq!(
            People::parse("eleve, Enseignant;name!"),
            People::Profiles(vec![Profile::Eleve, Profile::Enseignant])
        );
    }

    #[test]
    fn labels() {
        assert_eq!(field_label("MAIL", "fr").as_deref(), Some("Courriel"));
        assert_eq!(
            field_label("telephoneNumber", "en").as_deref(),
            Some("Telephone")
        );
        assert_eq!(label_or_name("x-custom", "fr"), "x-custom");
        assert_eq!(hidden_key("Lea"), "hidden/lea");
    }
}
