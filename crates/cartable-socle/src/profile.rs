use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user profile in the ENT (SDET §8.5: profiles are cumulative; a teacher may also be a
/// parent). The portal decides what a user sees from the union of her profiles.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(into = "String", try_from = "String")]
pub enum Profile {
    /// A pupil or student (élève, étudiant).
    Eleve,
    /// A teacher (enseignant).
    Enseignant,
    /// A parent or legal guardian (responsable légal).
    Parent,
    /// Non-teaching staff (personnel administratif, technique, de direction…).
    Personnel,
    /// A guest with limited access.
    Invite,
    /// An administrator of the ENT.
    Admin,
    /// A profile defined by the établissement (lower-case identifier).
    Other(String),
}

impl Profile {
    /// The identifier used in configuration and in the directory, e.g. `"enseignant"`.
    pub fn as_str(&self) -> &str {
        match self {
            Profile::Eleve => "eleve",
            Profile::Enseignant => "enseignant",
            Profile::Parent => "parent",
            Profile::Personnel => "personnel",
            Profile::Invite => "invite",
            Profile::Admin => "admin",
            Profile::Other(s) => s,
        }
    }

    /// A profile from a directory value: the ENT schema's `ENTPersonProfils`
    /// (`National_ELV`, `National_ENS`, `National_TUT`, `National_DIR`/`EVS`/`ETA`/`DOC`/
    /// `COL`/`PERS`), a SUPANN `eduPersonAffiliation` (`student`, `faculty`, `staff`,
    /// `employee`…) or a plain profile name. Every directory backend maps values this way.
    pub fn from_directory_value(value: &str) -> Option<Profile> {
        let value = value.trim();
        let national = value
            .get(..9)
            .filter(|p| p.eq_ignore_ascii_case("national_"))
            .and_then(|_| value.get(9..));
        if let Some(code) = national {
            match code.to_ascii_uppercase().as_str() {
                "ELV" => return Some(Profile::Eleve),
                "ENS" => return Some(Profile::Enseignant),
                "TUT" => return Some(Profile::Parent),
                "DIR" | "EVS" | "ETA" | "DOC" | "COL" | "PERS" => return Some(Profile::Personnel),
                _ => {}
            }
        }
        value.parse().ok()
    }

    /// A French label for pages.
    pub fn label_fr(&self) -> &str {
        match self {
            Profile::Eleve => "Élève",
            Profile::Enseignant => "Enseignant",
            Profile::Parent => "Parent",
            Profile::Personnel => "Personnel",
            Profile::Invite => "Invité",
            Profile::Admin => "Administrateur",
            Profile::Other(s) => s,
        }
    }

    /// An English label for pages.
    pub fn label_en(&self) -> &str {
        match self {
            Profile::Eleve => "Pupil",
            Profile::Enseignant => "Teacher",
            Profile::Parent => "Parent",
            Profile::Personnel => "Staff",
            Profile::Invite => "Guest",
            Profile::Admin => "Administrator",
            Profile::Other(s) => s,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is empty or not made of `[a-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid profile name {0:?}: use lower-case letters, digits, '-' or '_'")]
pub struct InvalidProfile(pub String);

impl FromStr for Profile {
    type Err = InvalidProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "eleve" | "élève" | "student" | "pupil" => Profile::Eleve,
            "enseignant" | "teacher" | "faculty" => Profile::Enseignant,
            "parent" | "responsable" => Profile::Parent,
            "personnel" | "staff" | "employee" => Profile::Personnel,
            "invite" | "invité" | "guest" => Profile::Invite,
            "admin" => Profile::Admin,
            other => {
                if other.is_empty()
                    || !other
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(InvalidProfile(s.to_string()));
                }
                Profile::Other(other.to_string())
            }
        })
    }
}

impl From<Profile> for String {
    fn from(p: Profile) -> String {
        p.as_str().to_string()
    }
}

impl TryFrom<String> for Profile {
    type Error = InvalidProfile;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_custom_profiles() {
        assert_eq!(
            "Enseignant".parse::<Profile>().unwrap(),
            Profile::Enseignant
        );
        assert_eq!("élève".parse::<Profile>().unwrap(), Profile::Eleve);
        assert_eq!(
            "cpe".parse::<Profile>().unwrap(),
            Profile::Other("cpe".into())
        );
        assert!("".parse::<Profile>().is_err());
        assert!("a b".parse::<Profile>().is_err());
    }
}
