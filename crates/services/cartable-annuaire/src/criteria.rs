//! The search criteria, read from render parameters (`p.nom`…) or form fields (`nom`…).

use cartable_portlet::i18n::args;
use cartable_portlet::{PortletContext, Profile};
use serde::Serialize;

use crate::{MAX_INPUT_LEN, MESSAGES};

/// The profiles the search form offers: `(value, profile)`; `""` is any profile.
pub(crate) const PROFILE_CHOICES: [(&str, Option<Profile>); 5] = [
    ("", None),
    ("eleve", Some(Profile::Eleve)),
    ("enseignant", Some(Profile::Enseignant)),
    ("parent", Some(Profile::Parent)),
    ("personnel", Some(Profile::Personnel)),
];

/// The parameter names, in form order.
pub(crate) const NAMES: [&str; 4] = ["nom", "classe", "structure", "profil"];

/// What the user searched for, trimmed but not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Criteria {
    pub nom: String,
    pub classe: String,
    pub structure: String,
    pub profil: String,
}

impl Criteria {
    /// Read the criteria through `get` (a render parameter or a form field).
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Criteria {
        let field = |name: &str| get(name).map(str::trim).unwrap_or_default().to_string();
        Criteria {
            nom: field("nom"),
            classe: field("classe"),
            structure: field("structure"),
            profil: field("profil"),
        }
    }

    /// No criterion at all: show the form only.
    pub fn is_empty(&self) -> bool {
        self.nom.is_empty()
            && self.classe.is_empty()
            && self.structure.is_empty()
            && self.profil.is_empty()
    }

    /// `(name, value)` of each criterion, in form order.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            (NAMES[0], self.nom.as_str()),
            (NAMES[1], self.classe.as_str()),
            (NAMES[2], self.structure.as_str()),
            (NAMES[3], self.profil.as_str()),
        ]
    }

    /// The profile criterion (`None`: any profile, or an unknown value).
    pub fn profile(&self) -> Option<Profile> {
        PROFILE_CHOICES
            .iter()
            .find(|(value, _)| *value == self.profil)
            .and_then(|(_, p)| p.clone())
    }

    /// What is wrong with the criteria, as sentences for the user (empty when all is well).
    pub fn problems(&self, ctx: &PortletContext) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, value) in self.pairs() {
            let label = label(ctx, name);
            let len = value.chars().count();
            if len > MAX_INPUT_LEN {
                problems.push(ctx.t_args(
                    &MESSAGES,
                    "problem-too-long",
                    &args! { "label" => label.as_str(), "length" => len, "max" => MAX_INPUT_LEN },
                ));
            }
            if value.chars().any(char::is_control) {
                problems.push(ctx.t_args(
                    &MESSAGES,
                    "problem-control",
                    &args! { "label" => label.as_str() },
                ));
            }
        }
        if !PROFILE_CHOICES.iter().any(|(v, _)| *v == self.profil) {
            problems.push(ctx.t(&MESSAGES, "problem-profile"));
        }
        problems
    }

    /// The criteria as they can be shown again in the form: control characters removed,
    /// cut at the longest accepted length.
    pub fn for_display(&self) -> Criteria {
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_control())
                .take(MAX_INPUT_LEN)
                .collect()
        };
        Criteria {
            nom: clean(&self.nom),
            classe: clean(&self.classe),
            structure: clean(&self.structure),
            profil: clean(&self.profil),
        }
    }

    /// Only the valid criteria (invalid ones emptied), to carry them through an action.
    pub fn valid_only(&self) -> Criteria {
        let ok = |s: &str| {
            if s.chars().count() <= MAX_INPUT_LEN && !s.chars().any(char::is_control) {
                s.to_string()
            } else {
                String::new()
            }
        };
        Criteria {
            nom: ok(&self.nom),
            classe: ok(&self.classe),
            structure: ok(&self.structure),
            profil: if PROFILE_CHOICES.iter().any(|(v, _)| *v == self.profil) {
                self.profil.clone()
            } else {
                String::new()
            },
        }
    }
}

/// The label of a criterion (message `criterion-<name>`).
pub(crate) fn label(ctx: &PortletContext, name: &str) -> String {
    let id = match name {
        "nom" => "criterion-nom",
        "classe" => "criterion-classe",
        "structure" => "criterion-structure",
        _ => "criterion-profil",
    };
    ctx.t(&MESSAGES, id)
}
