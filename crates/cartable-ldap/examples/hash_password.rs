//! Print `userPassword` hashes for an LDAP directory or an LDIF file: argon2id PHC strings
//! that OpenLDAP checks with its `argon2` module and that `LdifDirectory` reads.
//!
//! ```text
//! cargo run --release -p cartable-ldap --example hash_password -- 'the password'
//! {ARGON2}$argon2id$v=19$m=19456,t=2,p=1$…$…
//! ```
//!
//! With `--stdin`, it reads one line per password and prints one hash per line (used by
//! `scripts/gen-lycee-fixture.py`). A line `SALT_HEX<TAB>PASSWORD` hashes with that
//! 16-byte salt instead of a random one, so that a generated fixture is the same on every
//! run: use that for test fixtures only, never for real accounts.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use argon2::{Argon2, PasswordHasher};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--stdin" => from_stdin(),
        [password] if !password.starts_with("--") => {
            println!("{{ARGON2}}{}", cartable_ldif::hash_password(password));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: hash_password PASSWORD\n       hash_password --stdin   \
                 (one PASSWORD or SALT_HEX<TAB>PASSWORD per line)"
            );
            ExitCode::from(2)
        }
    }
}

fn from_stdin() -> ExitCode {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for (number, line) in stdin.lock().lines().enumerate() {
        let Ok(line) = line else {
            eprintln!("line {}: not UTF-8 text", number + 1);
            return ExitCode::FAILURE;
        };
        let hash = match line.split_once('\t') {
            Some((salt, password)) => match salted(salt, password) {
                Some(hash) => hash,
                None => {
                    eprintln!(
                        "line {}: the salt must be 32 hexadecimal digits (16 bytes)",
                        number + 1
                    );
                    return ExitCode::FAILURE;
                }
            },
            None => cartable_ldif::hash_password(&line),
        };
        if writeln!(out, "{{ARGON2}}{hash}")
            .and_then(|_| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// argon2id with the default parameters (as `cartable_ldif::hash_password`) and a given salt.
fn salted(salt_hex: &str, password: &str) -> Option<String> {
    if salt_hex.len() != 32 {
        return None;
    }
    let salt: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(salt_hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .ok()
        .map(|hash| hash.to_string())
}
