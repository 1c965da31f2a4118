//! Search filters (RFC 4515). Every value that comes from a user goes through [`escape`];
//! attribute names are checked by [`is_attribute_name`] before they are put in a filter.

use cartable_socle::Profile;

/// Escape a value for a filter assertion: `\`, `*`, `(`, `)` and NUL become `\5c`, `\2a`,
/// `\28`, `\29` and `\00` (RFC 4515 §3), so the value is matched literally.
pub fn escape(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// Whether `name` is an attribute description that may be put in a filter as it is: a
/// descriptor (`ENTEleveClasses`, `mail`) or a numeric OID, with optional `;options`.
pub fn is_attribute_name(name: &str) -> bool {
    let mut parts = name.split(';');
    let base = parts.next().unwrap_or_default();
    let descriptor = base.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !base.is_empty()
        && base
            .split('.')
            .all(|arc| !arc.is_empty() && arc.chars().all(|c| c.is_ascii_digit()));
    (descriptor || oid)
        && base.len() <= 128
        && parts.all(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// A configured filter, parenthesized, if ldap3 can parse it.
pub(crate) fn normalize_filter(filter: &str) -> Option<String> {
    let filter = filter.trim();
    let filter = if filter.starts_with('(') {
        filter.to_string()
    } else {
        format!("({filter})")
    };
    ldap3::parse_filter(&filter).ok().map(|_| filter)
}

/// `(&a b …)`, or the only part alone.
pub(crate) fn and(parts: &[String]) -> String {
    match parts {
        [one] => one.clone(),
        _ => format!("(&{})", parts.concat()),
    }
}

/// `(|a b …)`, or the only part alone.
pub(crate) fn or(parts: &[String]) -> String {
    match parts {
        [one] => one.clone(),
        _ => format!("(|{})", parts.concat()),
    }
}

/// `(attribute=value)`, the value escaped.
pub(crate) fn equals(attribute: &str, value: &str) -> String {
    format!("({attribute}={})", escape(value))
}

/// `(attribute=*value*)`, the value escaped: a substring match.
pub(crate) fn contains(attribute: &str, value: &str) -> String {
    format!("({attribute}=*{}*)", escape(value))
}

/// The display name contains `name` (matched by the server's rule for the attribute,
/// case-insensitive for `displayName` and `cn`). Entries without the display name
/// attribute are matched on `cn`, as [`cartable_socle::Person::display_name`] falls back to it.
pub(crate) fn name_contains(display_attribute: &str, name: &str) -> String {
    if display_attribute.eq_ignore_ascii_case("cn") {
        return contains("cn", name);
    }
    format!(
        "(|{}(&(!({display_attribute}=*)){}))",
        contains(display_attribute, name),
        contains("cn", name)
    )
}

/// The directory values that [`Profile::from_directory_value`] maps to `profile`: the ENT
/// codes (`National_ELV`…), the SUPANN affiliations (`student`…) and the plain names.
pub fn profile_values(profile: &Profile) -> Vec<String> {
    let candidates: &[&str] = match profile {
        Profile::Eleve => &["National_ELV", "eleve", "élève", "student", "pupil"],
        Profile::Enseignant => &["National_ENS", "enseignant", "teacher", "faculty"],
        Profile::Parent => &["National_TUT", "parent", "responsable"],
        Profile::Personnel => &[
            "National_DIR",
            "National_EVS",
            "National_ETA",
            "National_DOC",
            "National_COL",
            "National_PERS",
            "personnel",
            "staff",
            "employee",
        ],
        Profile::Invite => &["invite", "invité", "guest"],
        Profile::Admin => &["admin"],
        Profile::Other(name) => return vec![name.clone()],
    };
    candidates
        .iter()
        // Keep only what the socle really maps to this profile, should its table change.
        .filter(|v| Profile::from_directory_value(v).as_ref() == Some(profile))
        .map(|v| v.to_string())
        .collect()
}

/// Any of the profile attributes holds a value meaning `profile`.
pub(crate) fn has_profile(attributes: &[String], profile: &Profile) -> String {
    let values = profile_values(profile);
    let parts: Vec<String> = attributes
        .iter()
        .flat_map(|a| values.iter().map(move |v| equals(a, v)))
        .collect();
    if parts.is_empty() {
        // No value can mean this profile: a filter that matches nothing.
        return "(!(objectClass=*))".into();
    }
    or(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_metacharacters() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape("*)(uid=*)(|(cn=*"),
            "\\2a\\29\\28uid=\\2a\\29\\28|\\28cn=\\2a"
        );
        assert_eq!(escape("Gau\\lois\0"), "Gau\\5clois\\00");
        assert_eq!(escape("Zoé L'Hôte"), "Zoé L'Hôte");
        // The result always parses, and as a single equality assertion.
        for hostile in [
            "*)(uid=*)(|(cn=*",
            "\\",
            "(",
            ")",
            "*",
            "a\0b",
            "\\2a",
            "é)",
        ] {
            let filter = equals("cn", hostile);
            assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
            let filter = name_contains("displayName", hostile);
            assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn builds_filters() {
        assert_eq!(
            name_contains("displayName", "mar"),
            "(|(displayName=*mar*)(&(!(displayName=*))(cn=*mar*)))"
        );
        assert_eq!(name_contains("cn", "a*"), "(cn=*a\\2a*)");
        assert_eq!(and(&["(a=1)".into(), "(b=2)".into()]), "(&(a=1)(b=2))");
        assert_eq!(and(&["(a=1)".into()]), "(a=1)");
        assert_eq!(
            has_profile(&["ENTPersonProfils".into()], &Profile::Parent),
            "(|(ENTPersonProfils=National_TUT)(ENTPersonProfils=parent)(ENTPersonProfils=responsable))"
        );
        assert_eq!(has_profile(&["p".into()], &Profile::Admin), "(p=admin)");
        assert_eq!(
            has_profile(&["p".into()], &Profile::Other("c)pe".into())),
            "(p=c\\29pe)"
        );
        assert_eq!(has_profile(&[], &Profile::Admin), "(!(objectClass=*))");
    }

    #[test]
    fn profile_values_round_trip() {
        for profile in [
            Profile::Eleve,
            Profile::Enseignant,
            Profile::Parent,
            Profile::Personnel,
            Profile::Invite,
            Profile::Admin,
            Profile::Other("cpe".into()),
        ] {
            let values = profile_values(&profile);
            assert!(!values.is_empty(), "{profile}");
            for value in values {
                assert_eq!(
                    Profile::from_directory_value(&value),
                    Some(profile.clone()),
                    "{value}"
                );
            }
        }
        assert!(profile_values(&Profile::Eleve).contains(&"National_ELV".to_string()));
        assert!(profile_values(&Profile::Eleve).contains(&"student".to_string()));
        assert_eq!(profile_values(&Profile::Personnel).len(), 9);
    }

    #[test]
    fn attribute_names() {
        for ok in [
            "uid",
            "ENTEleveClasses",
            "x-1",
            "2.5.4.3",
            "cn;lang-fr",
            "a",
        ] {
            assert!(is_attribute_name(ok), "{ok}");
        }
        for bad in [
            "", "1uid", "uid)", "u id", "cn=", "2.5..4", "cn;", "*", "é", "-a",
        ] {
            assert!(!is_attribute_name(bad), "{bad}");
        }
    }

    #[test]
    fn normalizes_configured_filters() {
        assert_eq!(
            normalize_filter(" objectClass=ENTPerson ").as_deref(),
            Some("(objectClass=ENTPerson)")
        );
        assert_eq!(
            normalize_filter("(&(objectClass=a)(!(x=TRUE)))").as_deref(),
            Some("(&(objectClass=a)(!(x=TRUE)))")
        );
        assert_eq!(normalize_filter("(objectClass=a"), None);
        assert_eq!(normalize_filter("(a=1))(b=2"), None);
    }
}
