//! Importing an address-book file (vCard 2.1, 3.0, 4.0 or LDIF) into a book: what the
//! window's form and "Mes données" share.
//!
//! Bad input never loses what is stored: a file over [`MAX_IMPORT_BYTES`] or with no
//! address book in it is refused whole; otherwise each card is kept or refused on its
//! own, with a reason, in one transaction, and at most what the book still has room for
//! is kept (the rest counted). Files that are not UTF-8 (Outlook's Windows-1252) are
//! read as Windows-1252 and said so; lines folded anywhere, even inside a character, are
//! joined before decoding; photos are not kept (and said so).

use calcard::{Entry as ParsedEntry, Parser};
use cartable_portlet::sqlx::AnyConnection;
use cartable_socle::{Directory, SocleError};

use crate::model::{Book, FieldError};
use crate::store::{self, NewEntry};
use crate::vcard::{self, Card};
use crate::{MAX_ENTRIES, ldif, new_uid};

/// The largest file read, in bytes (a vCard with a photo of 20 MB fits; 50 MB does not).
pub const MAX_IMPORT_BYTES: usize = 30 * 1024 * 1024;

/// Why a whole file is refused (nothing is imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file is larger than [`MAX_IMPORT_BYTES`].
    #[error(
        "the file has {size} bytes, more than the {max} an import reads: split it, or export it without photos"
    )]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Neither vCard nor LDIF.
    #[error("the file is neither a vCard (.vcf) nor an LDIF (.ldif) address book")]
    NotAddressBook,
}

/// A file's text, decoded.
#[derive(Debug)]
pub struct Decoded {
    /// The text, its folded lines joined.
    pub text: String,
    /// The encoding it was read in when it was not UTF-8.
    pub legacy: Option<&'static str>,
}

/// Join folded lines (a line break followed by a space or a tab), on the bytes, so that a
/// character cut by the fold is whole again.
fn unfold(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let skip = match bytes[i] {
            b'\r'
                if bytes.get(i + 1) == Some(&b'\n')
                    && matches!(bytes.get(i + 2), Some(b' ' | b'\t')) =>
            {
                3
            }
            b'\n' if matches!(bytes.get(i + 1), Some(b' ' | b'\t')) => 2,
            _ => 0,
        };
        if skip > 0 {
            i += skip;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Decode a file: UTF-8 (with or without a byte order mark), UTF-16 with one, else
/// Windows-1252.
pub fn decode(bytes: &[u8]) -> Result<Decoded, FileError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(FileError::TooLarge {
            size: bytes.len(),
            max: MAX_IMPORT_BYTES,
        });
    }
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes)
        && enc != encoding_rs::UTF_8
    {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        let joined = unfold(text.as_bytes());
        return Ok(Decoded {
            text: String::from_utf8_lossy(&joined).into_owned(),
            legacy: None,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let joined = unfold(bytes);
    match String::from_utf8(joined) {
        Ok(text) => Ok(Decoded { text, legacy: None }),
        Err(e) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(e.as_bytes());
            Ok(Decoded {
                text: text.into_owned(),
                legacy: Some("windows-1252"),
            })
        }
    }
}

/// The cards of a file, at most `max` (the others counted), and what was skipped.
#[derive(Debug, Default)]
pub struct Cards {
    /// The cards, in file order.
    pub cards: Vec<Card>,
    /// Cards beyond `max`, not read.
    pub more: usize,
    /// Parts that are not cards or could not be read: (where, reason message id).
    pub skipped: Vec<(String, &'static str)>,
    /// The format: `vcard` or `ldif`.
    pub format: &'static str,
}

/// Read the cards of a decoded text.
pub fn cards(text: &str, max: usize) -> Result<Cards, FileError> {
    let has_vcard = text.lines().any(|l| {
        l.trim_start_matches('\u{feff}')
            .trim()
            .eq_ignore_ascii_case("BEGIN:VCARD")
    });
    if has_vcard {
        let mut out = Cards {
            format: "vcard",
            ..Cards::default()
        };
        let mut parser = Parser::new(text);
        let mut n = 0;
        loop {
            match parser.entry() {
                ParsedEntry::VCard(card) => {
                    n += 1;
                    if out.cards.len() < max {
                        out.cards.push(vcard::read(&card));
                    } else {
                        out.more += 1;
                    }
                }
                ParsedEntry::Eof => break,
                ParsedEntry::ICalendar(_) => {
                    out.skipped.push((format!("#{}", n + 1), "import-not-card"));
                }
                ParsedEntry::TooManyComponents => {
                    out.skipped.push((format!("#{}", n + 1), "import-too-deep"));
                    break;
                }
                // Junk between cards, an END without BEGIN, a card cut short.
                _ => out.skipped.push((format!("#{}", n + 1), "import-bad-card")),
            }
        }
        return Ok(out);
    }
    if ldif::looks_like(text) {
        let (read, more) = ldif::read(text, max);
        return Ok(Cards {
            cards: read.cards,
            more,
            skipped: read
                .skipped
                .into_iter()
                .map(|(line, why)| {
                    let id = match why {
                        "change" => "import-ldif-change",
                        "not-a-person" => "import-ldif-not-person",
                        _ => "import-bad-card",
                    };
                    (format!("l. {line}"), id)
                })
                .collect(),
            format: "ldif",
        });
    }
    Err(FileError::NotAddressBook)
}

/// Why one card was not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its fields are refused.
    Invalid(FieldError),
    /// The book already has it (same `UID`, or the same person of the directory).
    Duplicate,
    /// The book is full.
    Full,
    /// A person of the directory the importer may not (or no longer) find.
    PersonUnknown,
}

/// One card's outcome.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its rank in the file, from 1.
    pub at: usize,
    /// Its name.
    pub label: String,
    /// Kept, or why not.
    pub result: Result<(), Refusal>,
    /// Whether it had a photo, not kept.
    pub photo_dropped: bool,
}

/// Add `cards` to `book` within the transaction `tx`: each kept or refused with a reason.
/// A person of the directory is kept as a reference (with the name the file gives her)
/// when she is in the directory: what the reader sees of her is decided at each display.
pub async fn apply(
    tx: &mut AnyConnection,
    directory: &dyn Directory,
    book: &Book,
    cards: Vec<Card>,
    now: i64,
) -> Result<Vec<Line>, SocleError> {
    let mut lines = Vec::with_capacity(cards.len());
    let mut full = store::count(tx, book).await? >= MAX_ENTRIES;
    for (i, card) in cards.into_iter().enumerate() {
        let label = card.fields.display_name();
        let photo_dropped = card.had_photo;
        let result = apply_one(tx, directory, book, card, now, &mut full).await?;
        lines.push(Line {
            at: i + 1,
            label,
            result,
            photo_dropped,
        });
    }
    Ok(lines)
}

async fn apply_one(
    tx: &mut AnyConnection,
    directory: &dyn Directory,
    book: &Book,
    card: Card,
    now: i64,
    full: &mut bool,
) -> Result<Result<(), Refusal>, SocleError> {
    if *full {
        return Ok(Err(Refusal::Full));
    }
    if let Some(uid) = &card.uid
        && store::by_uid(tx, book, uid).await?.is_some()
    {
        return Ok(Err(Refusal::Duplicate));
    }
    let uid = card.uid.clone().unwrap_or_else(new_uid);
    if let Some(person) = &card.person {
        // A person of the directory: her reference only (and the name the file gives).
        let Some(found) = directory.person(person).await? else {
            return Ok(Err(Refusal::PersonUnknown));
        };
        if store::by_person(tx, book, &found.id).await?.is_some() {
            return Ok(Err(Refusal::Duplicate));
        }
        let fields = crate::model::Fields {
            nom: card.fields.nom.clone(),
            prenom: card.fields.prenom.clone(),
            ..crate::model::Fields::default()
        };
        let new = NewEntry {
            uid: &uid,
            person: Some(&found.id),
            fields: &fields,
            now,
        };
        return Ok(match store::insert(tx, book, &new, MAX_ENTRIES).await? {
            Some(_) => Ok(()),
            None => {
                *full = true;
                Err(Refusal::Full)
            }
        });
    }
    let fields = match card.fields.cleaned() {
        Ok(f) => f,
        Err(e) => return Ok(Err(Refusal::Invalid(e))),
    };
    // A card without UID (Google's, Outlook's) is the same card when its name and
    // address are.
    if card.uid.is_none() && store::by_name_and_email(tx, book, &fields).await?.is_some() {
        return Ok(Err(Refusal::Duplicate));
    }
    let new = NewEntry {
        uid: &uid,
        person: None,
        fields: &fields,
        now,
    };
    Ok(match store::insert(tx, book, &new, MAX_ENTRIES).await? {
        Some(_) => Ok(()),
        None => {
            *full = true;
            Err(Refusal::Full)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_inside_a_character_and_legacy_encodings_are_read() {
        // "é" (C3 A9) cut by a fold.
        let d = decode(b"BEGIN:VCARD\r\nFN:Ren\xC3\r\n \xA9\r\nEND:VCARD\r\n").unwrap();
        assert!(d.text.contains("FN:René"), "{}", d.text);
        assert_eq!(d.legacy, None);
        let d = decode(b"BEGIN:VCARD\nFN:Ren\xE9\nEND:VCARD\n").unwrap();
        assert!(d.text.contains("FN:René"));
        assert_eq!(d.legacy, Some("windows-1252"));
        let d = decode(b"\xFF\xFEB\x00E\x00").unwrap();
        assert_eq!(d.text, "BE");
        assert!(matches!(
            decode(&vec![b'a'; MAX_IMPORT_BYTES + 1]),
            Err(FileError::TooLarge { .. })
        ));
        assert!(matches!(
            cards("\u{89}PNG garbage", 10),
            Err(FileError::NotAddressBook)
        ));
    }

    #[test]
    fn cards_beyond_the_limit_are_counted_not_read() {
        let text = "BEGIN:VCARD\nVERSION:3.0\nFN:A B\nEND:VCARD\n".repeat(5);
        let c = cards(&text, 3).unwrap();
        assert_eq!((c.cards.len(), c.more), (3, 2));
    }
}
