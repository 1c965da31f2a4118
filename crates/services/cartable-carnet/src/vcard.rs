//! vCard 3.0 (RFC 2426) and 4.0 (RFC 6350), read and written with the `calcard` crate.
//!
//! Why `calcard`: it is the parser and writer of a CardDAV server in production (Stalwart),
//! kept up to date, lenient in what it reads (vCard 2.1 with quoted-printable and
//! charsets as Outlook writes them, folded lines, missing `END`) and strict in what it
//! writes (folding at 75 octets, escaping); Apache-2.0 OR MIT, compatible with the
//! EUPL-1.2. The other crates on the registry read vCard 3 or 4 only, or are unmaintained.
//!
//! An entry maps to these properties (the first `WORK` one of each kind is read, else the
//! first): `N` (nom, prénom; else `FN` split at its last space), `TITLE` (else `ROLE`) →
//! fonction, `ORG` → institution, `ADR` → adresse, `TEL` → téléphone, `EMAIL` →
//! courriel, `NOTE`, `UID`. A person of the directory carries `X-CARTABLE-PERSON:<uid>`:
//! imported back, she is the directory's again, with nothing copied. Photos are not kept.

use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty,
    VCardType, VCardValue, VCardVersion,
};

use crate::model::Fields;

/// The property naming a person of the directory.
pub const PERSON_PROPERTY: &str = "X-CARTABLE-PERSON";

/// The vCard version of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// vCard 3.0 (RFC 2426).
    V3,
    /// vCard 4.0 (RFC 6350).
    V4,
}

impl Version {
    fn calcard(self) -> VCardVersion {
        match self {
            Version::V3 => VCardVersion::V3_0,
            Version::V4 => VCardVersion::V4_0,
        }
    }
}

/// One card read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Its `UID`, if it had one.
    pub uid: Option<String>,
    /// The directory's uid of a person of the ENT (`X-CARTABLE-PERSON`).
    pub person: Option<String>,
    /// Its fields, not yet checked.
    pub fields: Fields,
    /// Whether it had a photo or a logo, which is not kept.
    pub had_photo: bool,
}

/// One card to write.
#[derive(Debug, Clone)]
pub struct OutCard<'a> {
    /// Its `UID`.
    pub uid: &'a str,
    /// The directory's uid of a person of the ENT.
    pub person: Option<&'a str>,
    /// Its fields (for a person of the directory: what the reader may see).
    pub fields: &'a Fields,
}

fn text_of(value: &VCardValue) -> Option<String> {
    match value {
        VCardValue::Component(items) => Some(items.join(", ")),
        other => other.as_text().map(str::to_string),
    }
}

/// The values of an entry as text, one per component.
fn components(entry: &VCardEntry) -> Vec<String> {
    entry
        .values
        .iter()
        .map(|v| text_of(v).unwrap_or_default())
        .collect()
}

fn is_work(entry: &VCardEntry) -> bool {
    entry.params.iter().any(|p| {
        p.name == VCardParameterName::Type
            && match &p.value {
                VCardParameterValue::Type(t) => *t == VCardType::Work,
                VCardParameterValue::Text(s) => s.eq_ignore_ascii_case("work"),
                _ => false,
            }
    })
}

/// The work entry of a property, else its first.
fn pick<'a>(card: &'a VCard, prop: &VCardProperty) -> Option<&'a VCardEntry> {
    let mut all = card.entries.iter().filter(|e| &e.name == prop);
    let first = all.clone().next();
    all.find(|e| is_work(e)).or(first)
}

fn first_text(card: &VCard, prop: &VCardProperty) -> String {
    pick(card, prop)
        .map(|e| {
            components(e)
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The fields of a parsed card.
pub fn read(card: &VCard) -> Card {
    let mut fields = Fields::default();
    if let Some(n) = card.property(&VCardProperty::N) {
        let parts = components(n);
        fields.nom = parts.first().cloned().unwrap_or_default();
        fields.prenom = parts.get(1).cloned().unwrap_or_default();
    }
    if fields.nom.is_empty() && fields.prenom.is_empty() {
        let full = first_text(card, &VCardProperty::Fn);
        match full.trim().rsplit_once(' ') {
            Some((given, family)) => {
                fields.prenom = given.trim().to_string();
                fields.nom = family.trim().to_string();
            }
            None => fields.nom = full.trim().to_string(),
        }
    }
    fields.fonction = first_text(card, &VCardProperty::Title);
    if fields.fonction.is_empty() {
        fields.fonction = first_text(card, &VCardProperty::Role);
    }
    if let Some(org) = pick(card, &VCardProperty::Org) {
        fields.institution = components(org)
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
    }
    if let Some(adr) = pick(card, &VCardProperty::Adr) {
        // post office box, extended address, street, locality, region, postal code, country
        let p = components(adr);
        let at = |i: usize| p.get(i).map(|s| s.trim()).unwrap_or_default();
        let city = format!("{} {}", at(5), at(3)).trim().to_string();
        let lines: Vec<&str> = [at(0), at(1), at(2), city.as_str(), at(4), at(6)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        fields.adresse = lines.join("\n");
    }
    fields.telephone = first_text(card, &VCardProperty::Tel);
    if let Some(t) = fields.telephone.strip_prefix("tel:") {
        fields.telephone = t.to_string();
    }
    fields.courriel = first_text(card, &VCardProperty::Email);
    fields.note = first_text(card, &VCardProperty::Note);
    let person = card
        .entries
        .iter()
        .find(|e| matches!(&e.name, VCardProperty::Other(n) if n.eq_ignore_ascii_case(PERSON_PROPERTY)))
        .and_then(|e| e.values.first().and_then(text_of))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let had_photo = card
        .entries
        .iter()
        .any(|e| matches!(e.name, VCardProperty::Photo | VCardProperty::Logo));
    Card {
        uid: card
            .uid()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty()),
        person,
        fields,
        had_photo,
    }
}

fn text(prop: VCardProperty, value: &str) -> VCardEntry {
    VCardEntry::new(prop).with_value(value.to_string())
}

fn work(entry: VCardEntry) -> VCardEntry {
    entry.with_param(VCardParameter::typ(VCardType::Work))
}

/// One card as vCard text.
pub fn write_card(card: &OutCard<'_>, version: Version) -> String {
    let f = card.fields;
    let mut entries = vec![
        text(VCardProperty::Uid, card.uid),
        text(VCardProperty::Fn, &f.display_name()),
        VCardEntry::new(VCardProperty::N).with_values(
            [f.nom.as_str(), f.prenom.as_str(), "", "", ""]
                .into_iter()
                .map(|s| VCardValue::Text(s.to_string()))
                .collect(),
        ),
    ];
    if !f.fonction.is_empty() {
        entries.push(text(VCardProperty::Title, &f.fonction));
    }
    if !f.institution.is_empty() {
        entries.push(text(VCardProperty::Org, &f.institution));
    }
    if !f.adresse.is_empty() {
        // The address as typed, in the street component (its lines kept).
        entries.push(work(
            VCardEntry::new(VCardProperty::Adr).with_values(
                ["", "", f.adresse.as_str(), "", "", "", ""]
                    .into_iter()
                    .map(|s| VCardValue::Text(s.to_string()))
                    .collect(),
            ),
        ));
    }
    if !f.telephone.is_empty() {
        entries.push(work(text(VCardProperty::Tel, &f.telephone)));
    }
    if !f.courriel.is_empty() {
        entries.push(work(text(VCardProperty::Email, &f.courriel)));
    }
    if !f.note.is_empty() {
        entries.push(text(VCardProperty::Note, &f.note));
    }
    if let Some(p) = card.person {
        entries.push(text(VCardProperty::Other(PERSON_PROPERTY.into()), p));
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = VCard { entries }.write_to(&mut out, version.calcard());
    out
}

/// Cards as one vCard file.
pub fn write(cards: &[OutCard<'_>], version: Version) -> String {
    cards.iter().map(|c| write_card(c, version)).collect()
}

#[cfg(test)]
mod tests {
    use calcard::{Entry, Parser};

    use super::*;

    fn parse_one(text: &str) -> Card {
        match Parser::new(text).entry() {
            Entry::VCard(card) => read(&card),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_card_goes_round_in_both_versions() {
        let fields = Fields {
            nom: "Martin".into(),
            prenom: "Léa".into(),
            fonction: "Professeure; de maths".into(),
            institution: "Lycée Victor-Hugo, Paris".into(),
            adresse: "12 rue des Écoles\n75005 Paris".into(),
            telephone: "+33 1 23 45 67 89".into(),
            courriel: "lea.martin@example.fr".into(),
            note: "Réunion le jeudi".into(),
        };
        for version in [Version::V3, Version::V4] {
            let text = write_card(
                &OutCard {
                    uid: "abc-1",
                    person: Some("lmartin"),
                    fields: &fields,
                },
                version,
            );
            assert!(text.starts_with("BEGIN:VCARD\r\n"), "{text}");
            let back = parse_one(&text);
            assert_eq!(back.fields, fields, "{text}");
            assert_eq!(back.uid.as_deref(), Some("abc-1"));
            assert_eq!(back.person.as_deref(), Some("lmartin"));
        }
    }

    #[test]
    fn older_cards_and_folded_lines_are_read() {
        let card = parse_one(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Dupr=E9;Ren=E9\r\n\
             TEL;HOME:01\r\nTEL;WORK;VOICE:02 03\r\nEMAIL;PREF;INTERNET:rene@exa\r\n mple.fr\r\n\
             PHOTO;ENCODING=BASE64;TYPE=JPEG:AAAA\r\nEND:VCARD\r\n",
        );
        assert_eq!(card.fields.nom, "Dupré");
        assert_eq!(card.fields.prenom, "René");
        assert_eq!(card.fields.telephone, "02 03");
        assert_eq!(card.fields.courriel, "rene@example.fr");
        assert!(card.had_photo);
        let fn_only = parse_one("BEGIN:VCARD\nVERSION:3.0\nFN:Jean de La Fontaine\nEND:VCARD\n");
        assert_eq!(fn_only.fields.prenom, "Jean de La");
        assert_eq!(fn_only.fields.nom, "Fontaine");
    }
}
