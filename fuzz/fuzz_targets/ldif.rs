//! The LDIF reader (`cartable_ldif::LdifDirectory`): any text gives people or a typed
//! error with a line number inside the text, never a panic.
//!
//! What is read obeys the directory's rules: one non-empty uid per person, unique
//! without regard to case; a non-empty display name; no `userPassword` among the
//! attributes shown; people sorted by folded display name.

#![no_main]

use std::collections::HashSet;

use cartable_ldif::{LdifDirectory, LdifError};
use cartable_socle::fold_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files are read with `read_to_string`: bytes that are not UTF-8 never reach the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match LdifDirectory::fuzz_parse(text) {
        Ok(people) => {
            let mut uids = HashSet::new();
            for person in &people {
                assert!(!person.id.is_empty(), "empty uid accepted");
                assert!(
                    uids.insert(person.id.to_lowercase()),
                    "duplicate uid {:?} accepted",
                    person.id
                );
                assert!(!person.display_name.is_empty(), "empty display name");
                assert!(
                    !person
                        .attributes
                        .keys()
                        .any(|k| k.eq_ignore_ascii_case("userPassword")),
                    "the password hash is among the attributes"
                );
            }
            for pair in people.windows(2) {
                assert!(
                    fold_name(&pair[0].display_name) <= fold_name(&pair[1].display_name),
                    "people are not sorted"
                );
            }
        }
        Err(e) => {
            let line = match &e {
                LdifError::Io { .. } => panic!("parsing text reported an I/O error: {e}"),
                LdifError::Syntax { line, .. }
                | LdifError::Base64 { line, .. }
                | LdifError::DuplicateUid { line, .. }
                | LdifError::PasswordScheme { line, .. }
                | LdifError::Entry { line, .. } => *line,
            };
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(&line),
                "error at line {line} of a {lines}-line text: {e}"
            );
            let _ = e.to_string();
        }
    }
});
