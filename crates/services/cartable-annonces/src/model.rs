//! What an announcement is, who it is for, and who reads it.

use cartable_portlet::{Person, Profile};
use serde::Serialize;

/// The directory attributes that say which classes a person is in: a pupil's
/// (`ENTEleveClasses`) and a teacher's (`ENTAuxEnsClasses`), as `cartable-annuaire`
/// reads them.
pub const CLASS_ATTRIBUTES: [&str; 2] = ["ENTEleveClasses", "ENTAuxEnsClasses"];

/// Who an announcement is for (a row of `annonces_target`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The whole établissement.
    Everyone,
    /// Everyone holding this profile.
    Profile(Profile),
    /// The people of this class (its code in the directory, `2nde-3`).
    Class(String),
    /// The members and owners of this group (its id).
    Group(String),
    /// One person (announcements of earlier releases published to named users).
    User(String),
}

impl Target {
    /// Its key in the table and in forms: `all`, `p:eleve`, `c:2nde-3`, `g:<id>`, `u:<id>`.
    pub fn key(&self) -> String {
        match self {
            Target::Everyone => "all".into(),
            Target::Profile(p) => format!("p:{}", p.as_str()),
            Target::Class(c) => format!("c:{c}"),
            Target::Group(g) => format!("g:{g}"),
            Target::User(u) => format!("u:{u}"),
        }
    }

    /// The target a key names, if it names one.
    pub fn parse(key: &str) -> Option<Target> {
        if key == "all" {
            return Some(Target::Everyone);
        }
        let (kind, value) = key.split_once(':')?;
        if value.is_empty() || value.chars().any(char::is_control) || value.len() > 256 {
            return None;
        }
        Some(match kind {
            "p" => Target::Profile(value.parse().ok()?),
            "c" => Target::Class(value.to_string()),
            "g" => Target::Group(value.to_string()),
            "u" => Target::User(value.to_string()),
            _ => return None,
        })
    }
}

/// An announcement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Its number in the établissement.
    pub id: i64,
    /// Who wrote it (user id), and her name when she did.
    pub author: String,
    /// The author's display name.
    pub author_name: String,
    /// One line.
    pub title: String,
    /// Plain text; paragraphs are separated by an empty line.
    pub body: String,
    /// Shown before the others.
    pub pinned: bool,
    /// Shown from (Unix seconds).
    pub shown_from: i64,
    /// Shown until (Unix seconds, excluded); `None`: no end.
    pub shown_until: Option<i64>,
    /// When it was written and last changed (Unix seconds).
    pub created_at: i64,
    /// When it was last changed (Unix seconds).
    pub updated_at: i64,
    /// Its version, for edits that must not overwrite another's.
    pub version: i64,
    /// Who it is for.
    pub targets: Vec<Target>,
}

impl Announcement {
    /// Whether it is in its display period at `now` (Unix seconds).
    pub fn is_current(&self, now: i64) -> bool {
        self.shown_from <= now && self.shown_until.is_none_or(|until| now < until)
    }

    /// The body's paragraphs (split on empty lines), each a list of lines.
    pub fn paragraphs(&self) -> Vec<Vec<String>> {
        paragraphs(&self.body)
    }
}

/// A text's paragraphs (split on empty lines), each a list of lines.
pub fn paragraphs(body: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.trim_end().to_string());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Who reads: a person, her classes and her groups. What she may see is what one of
/// her [`keys`](Viewer::keys) targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Viewer {
    /// Her id.
    pub id: String,
    /// Her profiles.
    pub profiles: Vec<Profile>,
    /// Her classes, from the directory ([`CLASS_ATTRIBUTES`]).
    pub classes: Vec<String>,
    /// The ids of the active groups she belongs to.
    pub groups: Vec<String>,
}

impl Viewer {
    /// A person with the ids of her groups.
    pub fn of(person: &Person, groups: impl IntoIterator<Item = String>) -> Viewer {
        Viewer {
            id: person.id.clone(),
            profiles: person.profiles.clone(),
            classes: classes_of(person),
            groups: groups.into_iter().collect(),
        }
    }

    /// The targets that reach her, as keys.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![Target::Everyone.key(), Target::User(self.id.clone()).key()];
        keys.extend(
            self.profiles
                .iter()
                .map(|p| Target::Profile(p.clone()).key()),
        );
        keys.extend(self.classes.iter().map(|c| Target::Class(c.clone()).key()));
        keys.extend(self.groups.iter().map(|g| Target::Group(g.clone()).key()));
        keys.sort();
        keys.dedup();
        keys
    }

    /// Whether an announcement's audience reaches her (its period aside).
    #[cfg(test)]
    pub fn is_reached_by(&self, targets: &[Target]) -> bool {
        let keys = self.keys();
        targets.iter().any(|t| keys.contains(&t.key()))
    }
}

/// The classes of a person, from the directory's class attributes, sorted.
pub fn classes_of(person: &Person) -> Vec<String> {
    let mut classes: Vec<String> = CLASS_ATTRIBUTES
        .iter()
        .filter_map(|a| person.attributes.get(*a))
        .flatten()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    classes.sort();
    classes.dedup();
    classes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn targets_read_back_from_their_keys() {
        for t in [
            Target::Everyone,
            Target::Profile(Profile::Eleve),
            Target::Class("2nde-3".into()),
            Target::Group("abc".into()),
            Target::User("lea".into()),
        ] {
            assert_eq!(Target::parse(&t.key()), Some(t));
        }
        for bad in ["", "x:1", "c:", "p:", "all:", "c:a\nb"] {
            assert_eq!(Target::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_pupil_is_reached_by_her_class_not_another() {
        let lea = Person {
            id: "lea".into(),
            display_name: "Léa".into(),
            profiles: vec![Profile::Eleve],
            attributes: BTreeMap::from([("ENTEleveClasses".into(), vec!["2nde-3".into()])]),
        };
        let v = Viewer::of(&lea, ["club".to_string()]);
        assert!(v.is_reached_by(&[Target::Class("2nde-3".into())]));
        assert!(v.is_reached_by(&[Target::Group("club".into())]));
        assert!(!v.is_reached_by(&[Target::Class("2nde-1".into())]));
        assert!(!v.is_reached_by(&[Target::Profile(Profile::Enseignant)]));
        assert!(v.is_reached_by(&[Target::Profile(Profile::Enseignant), Target::Everyone]));
    }

    #[test]
    fn paragraphs_split_on_empty_lines() {
        assert_eq!(
            paragraphs("a\nb\n\n\n  \nc\n"),
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["c".to_string()]
            ]
        );
        assert!(paragraphs("").is_empty());
    }
}
