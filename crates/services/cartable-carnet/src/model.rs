//! An address book and its entries as the service keeps them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest value of one field, in characters (an address or a note may be longer).
pub const MAX_FIELD_LEN: usize = 200;
/// The longest address or note, in characters.
pub const MAX_LONG_FIELD_LEN: usize = 1000;

/// Whose address book.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Book {
    /// A user's own (her uid).
    User(String),
    /// A group's (its id).
    Group(String),
}

impl Book {
    /// The key of the book in the tables: `u:<uid>` or `g:<group id>`.
    pub fn key(&self) -> String {
        match self {
            Book::User(u) => format!("u:{u}"),
            Book::Group(g) => format!("g:{g}"),
        }
    }

    /// The book of a key (`u:lea`, `g:abc`); `None` for anything else.
    pub fn parse(key: &str) -> Option<Book> {
        let (kind, id) = key.split_once(':')?;
        if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
            return None;
        }
        match kind {
            "u" => Some(Book::User(id.to_string())),
            "g" => Some(Book::Group(id.to_string())),
            _ => None,
        }
    }
}

impl fmt::Display for Book {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// The fields of an entry (the SDET's: nom, prénom, fonction, institution, adresse
/// professionnelle, téléphone, courrier électronique; and a note).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    /// Family name.
    pub nom: String,
    /// Given name.
    pub prenom: String,
    /// Function or title ("Professeure de mathématiques").
    pub fonction: String,
    /// Institution or organisation.
    pub institution: String,
    /// Postal address, lines separated by new lines.
    pub adresse: String,
    /// Telephone number.
    pub telephone: String,
    /// E-mail address.
    pub courriel: String,
    /// A note.
    pub note: String,
}

/// Why a field is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Neither a name nor an e-mail address: nothing to show.
    #[error("an entry needs a name or an e-mail address")]
    Empty,
    /// A field is too long.
    #[error("the field {field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// The e-mail address is not one.
    #[error("{0:?} is not an e-mail address")]
    BadEmail(String),
}

impl Fields {
    /// The fields trimmed, control characters removed (new lines kept in the address and
    /// the note), then checked.
    pub fn cleaned(mut self) -> Result<Fields, FieldError> {
        let one_line = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .trim()
                .to_string()
        };
        let lines = |s: &str| -> String {
            s.replace("\r\n", "\n")
                .chars()
                .filter(|c| *c == '\n' || !c.is_control())
                .collect::<String>()
                .trim()
                .to_string()
        };
        self.nom = one_line(&self.nom);
        self.prenom = one_line(&self.prenom);
        self.fonction = one_line(&self.fonction);
        self.institution = one_line(&self.institution);
        self.adresse = lines(&self.adresse);
        self.telephone = one_line(&self.telephone);
        self.courriel = one_line(&self.courriel);
        self.note = lines(&self.note);
        for (field, value, max) in [
            ("nom", &self.nom, MAX_FIELD_LEN),
            ("prénom", &self.prenom, MAX_FIELD_LEN),
            ("fonction", &self.fonction, MAX_FIELD_LEN),
            ("institution", &self.institution, MAX_FIELD_LEN),
            ("adresse", &self.adresse, MAX_LONG_FIELD_LEN),
            ("téléphone", &self.telephone, MAX_FIELD_LEN),
            ("courriel", &self.courriel, MAX_FIELD_LEN),
            ("note", &self.note, MAX_LONG_FIELD_LEN),
        ] {
            if value.chars().count() > max {
                return Err(FieldError::TooLong { field, max });
            }
        }
        if !self.courriel.is_empty() && !is_email(&self.courriel) {
            return Err(FieldError::BadEmail(self.courriel));
        }
        if self.nom.is_empty() && self.prenom.is_empty() && self.courriel.is_empty() {
            // An organisation's card (`ORG` only): its name is the institution's.
            if self.institution.is_empty() {
                return Err(FieldError::Empty);
            }
            self.nom.clone_from(&self.institution);
        }
        Ok(self)
    }

    /// The name shown: "Prénom Nom", else the e-mail address.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.prenom, self.nom).trim().to_string();
        if name.is_empty() {
            self.courriel.clone()
        } else {
            name
        }
    }
}

/// A plausible e-mail address: one `@`, something before it, a dot after it, no space.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// One entry of a book, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its book.
    pub book: Book,
    /// Its number in the book.
    pub id: u64,
    /// Its vCard UID.
    pub uid: String,
    /// The directory's uid of a person added from the annuaire (her details are read
    /// from the directory, as the reader may see them).
    pub person: Option<String>,
    /// Its own fields (for a person of the directory: her name only).
    pub fields: Fields,
    /// Last change, seconds since the Unix epoch.
    pub modified_at: i64,
    /// The book's revision at its last change (CardDAV).
    pub revision: i64,
    /// Its name in the clients' URLs, when a client chose it (CardDAV).
    pub href: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_have_keys_and_back() {
        for b in [Book::User("lea".into()), Book::Group("g-1:x".into())] {
            assert_eq!(Book::parse(&b.key()), Some(b));
        }
        for bad in ["", "u:", "x:lea", "lea", "u:a\nb"] {
            assert_eq!(Book::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_are_cleaned_and_checked() {
        let f = Fields {
            nom: " Martin\u{7} ".into(),
            adresse: "1 rue A\r\n75001 Paris\u{0}".into(),
            courriel: "lea@example.fr".into(),
            ..Fields::default()
        }
        .cleaned()
        .unwrap();
        assert_eq!(f.nom, "Martin");
        assert_eq!(f.adresse, "1 rue A\n75001 Paris");
        assert_eq!(f.display_name(), "Martin");
        assert_eq!(Fields::default().cleaned(), Err(FieldError::Empty));
        let org = Fields {
            institution: "Mairie de Paris".into(),
            ..Fields::default()
        }
        .cleaned()
        .unwrap();
        assert_eq!(org.display_name(), "Mairie de Paris");
        let bad = Fields {
            nom: "x".into(),
            courriel: "pas une adresse".into(),
            ..Fields::default()
        };
        assert!(matches!(bad.cleaned(), Err(FieldError::BadEmail(_))));
        let long = Fields {
            nom: "n".repeat(MAX_FIELD_LEN + 1),
            ..Fields::default()
        };
        assert!(matches!(long.cleaned(), Err(FieldError::TooLong { .. })));
        assert!(is_email("a.b@c.fr") && !is_email("a@b") && !is_email("@b.fr"));
    }
}
