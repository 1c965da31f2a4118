//! LDIF (RFC 2849) address books, as Thunderbird exports and imports them (the
//! `mozillaAbPersonAlpha` attributes beside the `inetOrgPerson` ones).
//!
//! Written by hand: the format is a few lines per record, and no crate of the registry
//! reads and writes LDIF content records as a library (the project's own `cartable-ldif`
//! is the embedded directory, a backend a service may not depend on).
//!
//! Read: `sn`, `givenName` (else `cn` split at its last space), `title`, `o` (else `ou`),
//! `mail`, `telephoneNumber` (else `mobile`), `postalAddress` (lines separated by `$`)
//! else Thunderbird's `street`, `mozillaWorkStreet2`, `postalCode`, `l`, `c`;
//! `description` → note; `cartableUid`, `cartablePerson`. Values in base64 (`::`) are
//! decoded; values from a URL (`:<`) and change records are skipped.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::model::Fields;
use crate::vcard::{Card, OutCard};

/// What reading an LDIF file gives: the cards, and the records skipped with why.
#[derive(Debug, Default)]
pub struct Read {
    /// The people records, in file order.
    pub cards: Vec<Card>,
    /// Records that are not people (containers, change records) or could not be read:
    /// (line of their `dn`, reason).
    pub skipped: Vec<(usize, &'static str)>,
}

/// Whether a text looks like LDIF: its first meaningful line is `version:` or `dn:`.
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("dn:") || l.starts_with("version:")
        })
}

/// Read the records of an LDIF text whose folded lines are already joined; stop after
/// `max` people (the others are counted in `more`).
pub fn read(text: &str, max: usize) -> (Read, usize) {
    let mut out = Read::default();
    let mut more = 0;
    let mut record: Vec<(String, String)> = Vec::new();
    let mut start = 0;
    let mut bad: Option<&'static str> = None;
    let flush = |record: &mut Vec<(String, String)>,
                 start: usize,
                 bad: &mut Option<&'static str>,
                 out: &mut Read,
                 more: &mut usize| {
        if record.is_empty() {
            *bad = None;
            return;
        }
        if let Some(why) = bad.take() {
            out.skipped.push((start, why));
        } else if record.iter().any(|(k, _)| k == "changetype") {
            out.skipped.push((start, "change"));
        } else if let Some(card) = card_of(record) {
            if out.cards.len() < max {
                out.cards.push(card);
            } else {
                *more += 1;
            }
        } else {
            out.skipped.push((start, "not-a-person"));
        }
        record.clear();
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            flush(&mut record, start, &mut bad, &mut out, &mut more);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            bad.get_or_insert("bad-line");
            continue;
        };
        let name = name
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if record.is_empty() {
            if name == "version" {
                continue;
            }
            start = n + 1;
        }
        let value = if let Some(b) = rest.strip_prefix(':') {
            match B64.decode(b.trim()) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => {
                    bad.get_or_insert("bad-base64");
                    continue;
                }
            }
        } else if rest.starts_with('<') {
            // A value from a URL: never fetched.
            continue;
        } else {
            rest.trim_start_matches(' ').to_string()
        };
        record.push((name, value));
    }
    flush(&mut record, start, &mut bad, &mut out, &mut more);
    (out, more)
}

fn card_of(record: &[(String, String)]) -> Option<Card> {
    let get = |name: &str| -> String {
        record
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut fields = Fields {
        nom: get("sn"),
        prenom: get("givenname"),
        fonction: get("title"),
        institution: get("o"),
        telephone: get("telephonenumber"),
        courriel: get("mail"),
        note: get("description"),
        ..Fields::default()
    };
    if fields.nom.is_empty() && fields.prenom.is_empty() {
        let cn = get("cn");
        match cn.rsplit_once(' ') {
            Some((g, f)) => {
                fields.prenom = g.trim().to_string();
                fields.nom = f.trim().to_string();
            }
            None => fields.nom = cn,
        }
    }
    if fields.institution.is_empty() {
        fields.institution = get("ou");
    }
    if fields.telephone.is_empty() {
        fields.telephone = get("mobile");
    }
    let postal = get("postaladdress");
    fields.adresse = if postal.is_empty() {
        let city = format!("{} {}", get("postalcode"), get("l"))
            .trim()
            .to_string();
        [
            get("street"),
            get("mozillaworkstreet2"),
            city,
            get("st"),
            get("c"),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
    } else {
        postal
            .split('$')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    if fields.nom.is_empty() && fields.prenom.is_empty() && fields.courriel.is_empty() {
        return None;
    }
    let had_photo = record.iter().any(|(k, _)| k == "jpegphoto" || k == "photo");
    Some(Card {
        uid: Some(get("cartableuid")).filter(|s| !s.is_empty()),
        person: Some(get("cartableperson")).filter(|s| !s.is_empty()),
        fields,
        had_photo,
    })
}

/// Whether a value may be written as it is (RFC 2849 SAFE-STRING).
fn is_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return true;
    };
    first != ' '
        && first != ':'
        && first != '<'
        && !value.ends_with(' ')
        && value
            .bytes()
            .all(|b| b.is_ascii() && b != 0 && b != b'\n' && b != b'\r')
}

/// One `name: value` line, base64 when needed, folded at 76 columns.
fn line(out: &mut String, name: &str, value: &str) {
    let raw = if is_safe(value) {
        format!("{name}: {value}")
    } else {
        format!("{name}:: {}", B64.encode(value.as_bytes()))
    };
    // Every character of `raw` is ASCII: fold at byte boundaries.
    let mut rest = raw.as_str();
    let mut first = true;
    while !rest.is_empty() {
        let width = if first { 76 } else { 75 };
        let (head, tail) = rest.split_at(rest.len().min(width));
        if !first {
            out.push(' ');
        }
        out.push_str(head);
        out.push('\n');
        rest = tail;
        first = false;
    }
}

/// The value of a `dn` attribute, its special characters escaped (RFC 4514).
fn rdn_value(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Cards as an LDIF file that Thunderbird imports.
pub fn write(cards: &[OutCard<'_>]) -> String {
    let mut out = String::from("version: 1\n\n");
    for c in cards {
        let f = c.fields;
        let name = f.display_name();
        let mut dn = format!("cn={}", rdn_value(&name));
        if !f.courriel.is_empty() {
            dn.push_str(&format!(",mail={}", rdn_value(&f.courriel)));
        }
        line(&mut out, "dn", &dn);
        for class in [
            "top",
            "person",
            "organizationalPerson",
            "inetOrgPerson",
            "mozillaAbPersonAlpha",
        ] {
            line(&mut out, "objectclass", class);
        }
        line(&mut out, "cn", &name);
        for (attr, value) in [
            ("givenName", &f.prenom),
            ("sn", &f.nom),
            ("title", &f.fonction),
            ("o", &f.institution),
            ("mail", &f.courriel),
            ("telephoneNumber", &f.telephone),
            ("description", &f.note),
        ] {
            if !value.is_empty() {
                line(&mut out, attr, value);
            }
        }
        if !f.adresse.is_empty() {
            line(&mut out, "postalAddress", &f.adresse.replace('\n', "$"));
            let first = f.adresse.lines().next().unwrap_or_default();
            line(&mut out, "street", first);
        }
        line(&mut out, "cartableUid", c.uid);
        if let Some(p) = c.person {
            line(&mut out, "cartablePerson", p);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_go_round() {
        let f = Fields {
            nom: "Martin".into(),
            prenom: "Léa".into(),
            fonction: "Professeure".into(),
            institution: "Lycée, Paris".into(),
            adresse: "12 rue des Écoles\n75005 Paris".into(),
            telephone: "01 23".into(),
            courriel: "lea@example.fr".into(),
            note: format!(" {} ", "long ".repeat(40).trim()),
        };
        let text = write(&[OutCard {
            uid: "u-1",
            person: None,
            fields: &f,
        }]);
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        assert!(looks_like(&text));
        let unfolded = text.replace("\n ", "");
        let (read, more) = read(&unfolded, 10);
        assert_eq!(more, 0);
        let card = &read.cards[0];
        let mut expected = f.clone();
        expected.note = expected.note.trim().to_string();
        assert_eq!(card.fields, expected);
        assert_eq!(card.uid.as_deref(), Some("u-1"));
    }

    #[test]
    fn thunderbird_records_are_read_and_others_skipped() {
        let text = "version: 1\n\ndn: ou=people,dc=x\nobjectclass: organizationalUnit\nou: people\n\n\
                    dn: cn=René Dupré,mail=rene@example.fr\ncn:: UmVuw6kgRHVwcsOp\nmail: rene@example.fr\n\
                    street: 1 rue A\npostalCode: 75001\nl: Paris\n\n\
                    dn: cn=x\nchangetype: delete\n\ndn: cn=y\nmail:: !!!\n";
        let (read, _) = read(text, 10);
        assert_eq!(read.cards.len(), 1);
        let c = &read.cards[0].fields;
        assert_eq!((c.prenom.as_str(), c.nom.as_str()), ("René", "Dupré"));
        assert_eq!(c.adresse, "1 rue A\n75001 Paris");
        let reasons: Vec<&str> = read.skipped.iter().map(|(_, r)| *r).collect();
        assert_eq!(reasons, ["not-a-person", "change", "bad-base64"]);
    }
}
