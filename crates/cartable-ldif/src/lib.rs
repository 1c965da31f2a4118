//! An embedded [`Directory`] read from an LDIF file (RFC 2849), with argon2id password hashes.
//!
//! It suits a demonstration, a test bench or a small établissement: the people are loaded
//! once, kept in memory and never written back. Entries having a `uid` attribute are people;
//! the others (`ou=` containers, groups…) are ignored.
//!
//! ```text
//! version: 1
//!
//! # A teacher.
//! dn: uid=lmartin,ou=people,dc=example,dc=fr
//! objectClass: inetOrgPerson
//! uid: lmartin
//! cn: Léa Martin
//! displayName:: TMOpYSBNYXJ0aW4=
//! ENTPersonProfils: National_ENS
//! mail: lea.martin@example.fr
//! userPassword: {ARGON2}$argon2id$v=19$m=19456,t=2,p=1$…$…
//! ```
//!
//! Passwords must be argon2id PHC strings, as made by [`hash_password`]; any other scheme
//! (`{SSHA}`, `{CRYPT}`, plain text…) is refused when the file is loaded.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use argon2::{
    Argon2, CustomizedPasswordHasher, Params, PasswordHash, PasswordHasher, PasswordVerifier,
};
use async_trait::async_trait;
use base64::Engine as _;

use cartable_socle::{AuthError, Directory, Person, PersonQuery, Profile, SocleError, fold_name};

/// Results returned by [`LdifDirectory::search`] when the query's limit is 0.
const DEFAULT_LIMIT: usize = 50;
/// The most results [`LdifDirectory::search`] ever returns.
const MAX_LIMIT: usize = 500;
/// The backend name used in [`SocleError::Unavailable`].
const BACKEND: &str = "ldif directory";

/// Attributes the directory interprets, by lower-case name, with the spelling kept in
/// [`Person::attributes`].
const SPECIAL_ATTRIBUTES: &[(&str, &str)] = &[
    ("uid", "uid"),
    ("cn", "cn"),
    ("sn", "sn"),
    ("givenname", "givenName"),
    ("displayname", "displayName"),
    ("entpersonprofils", "ENTPersonProfils"),
    ("edupersonaffiliation", "eduPersonAffiliation"),
    ("userpassword", "userPassword"),
    ("cartableaccountdisabled", "cartableAccountDisabled"),
];

/// Hash a password for a `userPassword` attribute: an argon2id PHC string
/// (`$argon2id$v=19$…`) with a fresh random salt and the recommended parameters.
///
/// Store it in the LDIF file as `userPassword: {ARGON2}$argon2id$…` (the `{ARGON2}` prefix
/// is optional). Hashing is deliberately slow (tens of milliseconds in release builds).
///
/// # Panics
///
/// Never in practice: argon2id with the default parameters accepts any password shorter
/// than 4 GiB.
pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .expect("argon2id with default parameters accepts any password shorter than 4 GiB")
}

/// An LDIF file could not be loaded. Each message says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum LdifError {
    /// The file could not be read.
    #[error("cannot read LDIF file {}: {source}; check the path and its permissions", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A line does not follow the LDIF syntax.
    #[error("LDIF line {line}: {message}")]
    Syntax {
        /// The line (counting from 1) where the problem starts.
        line: usize,
        /// What was found and what was expected.
        message: String,
    },
    /// A base64 value (`attr:: …`) does not decode to UTF-8 text.
    #[error(
        "LDIF line {line}: the base64 value of {attribute} is invalid ({detail}); \
         encode the UTF-8 text with standard base64 (RFC 4648) after `::`"
    )]
    Base64 {
        /// The line of the value.
        line: usize,
        /// The attribute holding the value.
        attribute: String,
        /// What the decoder said.
        detail: String,
    },
    /// Two people have the same `uid` (compared without regard to case, as LDAP does).
    #[error(
        "LDIF line {line}: uid {uid:?} of {dn:?} is already used by {first_dn:?} (line {first_line}); \
         give each person a distinct uid"
    )]
    DuplicateUid {
        /// The uid.
        uid: String,
        /// The entry that repeats it.
        dn: String,
        /// The line of the repeated `uid:`.
        line: usize,
        /// The entry that used it first.
        first_dn: String,
        /// The line of the first `uid:`.
        first_line: usize,
    },
    /// A `userPassword` is not an argon2id hash.
    #[error(
        "LDIF line {line}: the userPassword of {dn:?} is {scheme}, which Cartable does not accept; \
         hash the password with argon2id (cartable_ldif::hash_password) and store it as \
         `userPassword: {{ARGON2}}$argon2id$v=19$…`"
    )]
    PasswordScheme {
        /// The line of the `userPassword:`.
        line: usize,
        /// The entry.
        dn: String,
        /// The scheme found, e.g. `{SSHA}` or "a plain-text password" (never the value).
        scheme: String,
    },
    /// An entry is well-formed LDIF but its content is refused (invalid profile, several
    /// uids, malformed hash…).
    #[error("LDIF line {line}: entry {dn:?}: {message}")]
    Entry {
        /// The line of the offending attribute.
        line: usize,
        /// The entry.
        dn: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl From<LdifError> for SocleError {
    fn from(e: LdifError) -> Self {
        SocleError::Unavailable {
            backend: BACKEND,
            detail: e.to_string(),
        }
    }
}

/// A person of the directory with what only the directory needs to know.
struct Entry {
    /// Shared with the callers of `shared_person` (the portal's per-session cache).
    person: Arc<Person>,
    /// The argon2id hash; `None` when the entry has no `userPassword` (cannot log in).
    password: Option<PasswordHash>,
    disabled: bool,
    /// The display name folded for searching (lower case, without accents).
    search_name: String,
}

/// A [`Directory`] loaded from an LDIF file and kept in memory.
///
/// Logins and [`Directory::person`] identifiers are matched without regard to case, as the
/// LDAP `uid` attribute is. Password checks run on the blocking thread pool.
pub struct LdifDirectory {
    /// Sorted by display name.
    entries: Vec<Entry>,
    /// Lower-case uid → index in `entries`.
    by_uid: HashMap<String, usize>,
    /// Checked for unknown logins so they take as long as a wrong password.
    dummy: PasswordHash,
    /// Passwords changed since the file was written (lower-case uid → hash).
    overrides: std::sync::RwLock<HashMap<String, PasswordHash>>,
    /// Where changed passwords are kept across restarts (JSON uid → PHC string).
    password_file: Option<PathBuf>,
}

impl fmt::Debug for LdifDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print password hashes.
        f.debug_struct("LdifDirectory")
            .field("people", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl LdifDirectory {
    /// Load the directory from an LDIF file (UTF-8).
    ///
    /// This computes one argon2 hash (see [`LdifDirectory::parse`]): call it at start-up,
    /// not on an async task that must stay responsive.
    pub fn from_file(path: &Path) -> Result<Self, LdifError> {
        let text = std::fs::read_to_string(path).map_err(|source| LdifError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let directory = Self::parse(&text)?;
        tracing::info!(
            path = %path.display(),
            people = directory.entries.len(),
            "LDIF directory loaded"
        );
        Ok(directory)
    }

    /// Parse LDIF text: content records separated by blank lines, `#` comments, folded
    /// lines (continued by a line starting with one space), `attr: value` and
    /// `attr:: base64` values, and an optional `version: 1` first line.
    ///
    /// URL values (`attr:< file://…`) and change records (`changetype:`) are refused.
    /// Plain values lose their leading and trailing spaces; base64 values are kept as they are.
    ///
    /// It computes one argon2 hash, checked for unknown logins so that they take as long as
    /// wrong passwords.
    pub fn parse(text: &str) -> Result<Self, LdifError> {
        let entries = parse_entries(text)?;
        let by_uid = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.person.id.to_lowercase(), i))
            .collect();
        let dummy = dummy_hash(entries.iter().find_map(|e| e.password.as_ref()));
        Ok(LdifDirectory {
            entries,
            by_uid,
            dummy,
            overrides: std::sync::RwLock::new(HashMap::new()),
            password_file: None,
        })
    }

    /// What [`LdifDirectory::parse`] checks, without the argon2 hash it computes: the
    /// people read, sorted. For the fuzz targets (`fuzz/`), not part of the API.
    #[doc(hidden)]
    pub fn fuzz_parse(text: &str) -> Result<Vec<Person>, LdifError> {
        Ok(parse_entries(text)?
            .into_iter()
            .map(|e| Arc::unwrap_or_clone(e.person))
            .collect())
    }

    /// Make passwords changeable: changed passwords (argon2id hashes) are kept in `path`
    /// (JSON, created when the first password changes) and win over the LDIF's.
    pub fn with_password_file(mut self, path: &Path) -> Result<Self, LdifError> {
        let io = |source| LdifError::Io {
            path: path.to_path_buf(),
            source,
        };
        let stored: BTreeMap<String, String> = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not a JSON map of uid to argon2 hash: {e}"),
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io(e)),
        };
        let mut overrides = HashMap::new();
        for (uid, phc) in stored {
            let hash = PasswordHash::new(&phc).map_err(|e| {
                io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad hash for {uid}: {e}"),
                ))
            })?;
            overrides.insert(uid.to_lowercase(), hash);
        }
        self.overrides = std::sync::RwLock::new(overrides);
        self.password_file = Some(path.to_path_buf());
        Ok(self)
    }

    fn current_hash(&self, entry: &Entry) -> Option<PasswordHash> {
        let overrides = self.overrides.read().unwrap_or_else(|e| e.into_inner());
        overrides
            .get(&entry.person.id.to_lowercase())
            .cloned()
            .or_else(|| entry.password.clone())
    }

    /// How many people the directory holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory holds nobody.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_uid
            .get(&id.to_lowercase())
            .and_then(|&i| self.entries.get(i))
    }
}

#[async_trait]
impl Directory for LdifDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> Result<Person, AuthError> {
        if password.is_empty() {
            // An empty password never logs in (LDAP would treat it as an anonymous bind).
            return Err(AuthError::InvalidCredentials);
        }
        let entry = self.entry(login);
        // Unknown logins and entries without password are checked against the dummy hash,
        // so that the answer takes the same time and tells nothing about who exists.
        let (hash, real) = match entry.and_then(|e| self.current_hash(e)) {
            Some(hash) => (hash, true),
            None => (self.dummy.clone(), false),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .await
        .map_err(|e| SocleError::Unavailable {
            backend: BACKEND,
            detail: format!("password check failed: {e}"),
        })?;
        match entry {
            Some(entry) if real && matches => {
                // Only someone who knows the password learns that the account is disabled.
                if entry.disabled {
                    tracing::info!(user = %entry.person.id, "login refused: account disabled");
                    Err(AuthError::AccountDisabled)
                } else {
                    Ok((*entry.person).clone())
                }
            }
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError> {
        Ok(self.entry(id).map(|e| (*e.person).clone()))
    }

    async fn shared_person(&self, id: &str) -> Result<Option<Arc<Person>>, SocleError> {
        Ok(self.entry(id).map(|e| e.person.clone()))
    }

    fn can_set_passwords(&self) -> bool {
        self.password_file.is_some()
    }

    async fn set_password(&self, uid: &str, new_password: &str) -> Result<(), SocleError> {
        let Some(file) = &self.password_file else {
            return Err(SocleError::Invalid(
                "this LDIF directory is read-only: configure a password file to change passwords"
                    .into(),
            ));
        };
        let entry = self
            .entry(uid)
            .ok_or_else(|| SocleError::Invalid(format!("no person {uid:?}")))?;
        let key = entry.person.id.to_lowercase();
        let new_password = new_password.to_owned();
        let phc = tokio::task::spawn_blocking(move || crate::hash_password(&new_password))
            .await
            .map_err(|e| SocleError::Unavailable {
                backend: BACKEND,
                detail: format!("password hashing failed: {e}"),
            })?;
        let hash = PasswordHash::new(&phc).map_err(|e| SocleError::Invalid(e.to_string()))?;
        let (snapshot, previous): (BTreeMap<String, String>, _) = {
            let mut overrides = self.overrides.write().unwrap_or_else(|e| e.into_inner());
            let previous = overrides.insert(key.clone(), hash);
            let snapshot = overrides
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect();
            (snapshot, previous)
        };
        let json =
            serde_json::to_vec_pretty(&snapshot).map_err(|e| SocleError::Invalid(e.to_string()))?;
        let file = file.clone();
        let saved = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            // The data directory may not exist yet (storage elsewhere, e.g. PostgreSQL).
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            // Write then rename, so a crash never leaves half a file.
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, &file)
        })
        .await
        .map_err(|e| SocleError::Unavailable {
            backend: BACKEND,
            detail: e.to_string(),
        })
        .and_then(|written| {
            written.map_err(|e| SocleError::Unavailable {
                backend: BACKEND,
                detail: format!("cannot save the password file: {e}"),
            })
        });
        if saved.is_err() {
            // Not saved: the old password stays the one that works, as after a restart.
            let mut overrides = self.overrides.write().unwrap_or_else(|e| e.into_inner());
            match previous {
                Some(old) => overrides.insert(key, old),
                None => overrides.remove(&key),
            };
        }
        saved
    }

    async fn search(&self, query: &PersonQuery) -> Result<Vec<Person>, SocleError> {
        let limit = match query.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let name = query.name.as_deref().map(|n| fold_name(n.trim()));
        let attribute = query
            .attribute
            .as_ref()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        Ok(self
            .entries
            .iter()
            .filter(|e| name.as_deref().is_none_or(|n| e.search_name.contains(n)))
            .filter(|e| {
                query
                    .profile
                    .as_ref()
                    .is_none_or(|p| e.person.has_profile(p))
            })
            .filter(|e| {
                attribute.as_ref().is_none_or(|(name, value)| {
                    e.person
                        .attributes
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .any(|(_, values)| values.iter().any(|v| v == value))
                })
            })
            .take(limit)
            .map(|e| (*e.person).clone())
            .collect())
    }
}

/// The hash checked for unknown logins: made with the parameters of `like` (the first
/// password of the file) so that it costs the same, else with the default parameters.
fn dummy_hash(like: Option<&PasswordHash>) -> PasswordHash {
    let salt: [u8; 16] = rand::random();
    let password: [u8; 16] = rand::random();
    let argon2 = Argon2::default();
    like.and_then(|like| {
        let params = Params::try_from(like).ok()?;
        argon2
            .hash_password_customized(
                &password,
                &salt,
                Some(like.algorithm.as_str()),
                like.version,
                params,
            )
            .ok()
    })
    .or_else(|| argon2.hash_password_with_salt(&password, &salt).ok())
    .unwrap_or_else(|| like.cloned().unwrap_or_else(fallback_hash))
}

/// A fixed valid hash, used only if hashing itself failed (it does not in practice).
fn fallback_hash() -> PasswordHash {
    // `hash_password` would panic where this is reached; a parse of a constant never fails.
    PasswordHash::new(
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
         2Jv2JfGH3o5DP+YyGWHk4TQ7XaqAoLP4sZ8zNXxGBUo",
    )
    .unwrap_or_else(|_| unreachable!("the fallback hash is a valid PHC string"))
}

/// One `attr: value` of a record, decoded.
struct RawAttr {
    name: String,
    value: String,
    line: usize,
}

/// One record of the file: its dn and its attributes in file order.
struct Record {
    dn: String,
    attrs: Vec<RawAttr>,
}

/// The people of LDIF text, sorted by display name (see [`LdifDirectory::parse`]).
fn parse_entries(text: &str) -> Result<Vec<Entry>, LdifError> {
    let records = parse_records(text)?;
    let mut spellings: HashMap<String, String> = SPECIAL_ATTRIBUTES
        .iter()
        .map(|(lower, canonical)| ((*lower).to_string(), (*canonical).to_string()))
        .collect();
    let mut first_uid: HashMap<String, (String, usize)> = HashMap::new();
    let mut entries = Vec::new();
    for record in records {
        let Some(entry) = build_entry(record, &mut spellings, &mut first_uid)? else {
            continue;
        };
        entries.push(entry);
    }
    entries.sort_by(|a, b| {
        (&a.search_name, &a.person.display_name, &a.person.id).cmp(&(
            &b.search_name,
            &b.person.display_name,
            &b.person.id,
        ))
    });
    Ok(entries)
}

/// Split the text into records of logical (unfolded) lines and decode them.
fn parse_records(text: &str) -> Result<Vec<Record>, LdifError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Each group is the logical lines of one record, with the line number where each starts.
    let mut groups: Vec<Vec<(usize, String)>> = Vec::new();
    let mut group: Vec<(usize, String)> = Vec::new();
    // The logical line being assembled; `None` inside a comment or between records.
    let mut current: Option<(usize, String)> = None;
    let mut in_comment = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            // A blank line (spaces alone count as blank) ends the record.
            group.extend(current.take());
            in_comment = false;
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(' ') {
            if in_comment {
                continue;
            }
            match current.as_mut() {
                Some((_, logical)) => logical.push_str(rest),
                None => {
                    return Err(LdifError::Syntax {
                        line: number,
                        message: "a line starting with a space continues the previous line, \
                                  but there is none to continue; remove the leading space"
                            .into(),
                    });
                }
            }
            continue;
        }
        group.extend(current.take());
        in_comment = line.starts_with('#');
        if !in_comment {
            current = Some((number, line.to_string()));
        }
    }
    group.extend(current.take());
    if !group.is_empty() {
        groups.push(group);
    }

    let mut records = Vec::with_capacity(groups.len());
    for (index, group) in groups.into_iter().enumerate() {
        let mut attrs = Vec::with_capacity(group.len());
        for (line, text) in group {
            attrs.push(parse_attr_line(line, &text)?);
        }
        if index == 0 {
            skip_version(&mut attrs)?;
            if attrs.is_empty() {
                continue;
            }
        }
        records.push(make_record(attrs)?);
    }
    Ok(records)
}

/// Drop an initial `version: 1` line, refusing other versions.
fn skip_version(attrs: &mut Vec<RawAttr>) -> Result<(), LdifError> {
    if let Some(first) = attrs.first()
        && first.name.eq_ignore_ascii_case("version")
    {
        if first.value != "1" {
            return Err(LdifError::Syntax {
                line: first.line,
                message: format!(
                    "unsupported LDIF version {:?}; expected `version: 1`",
                    first.value
                ),
            });
        }
        attrs.remove(0);
    }
    Ok(())
}

/// Check that a record starts with `dn:` and is a plain content record.
fn make_record(mut attrs: Vec<RawAttr>) -> Result<Record, LdifError> {
    // Groups are never empty, but do not rely on it.
    let Some(first) = attrs.first() else {
        return Err(LdifError::Syntax {
            line: 1,
            message: "expected `dn:` to start an entry".into(),
        });
    };
    if !first.name.eq_ignore_ascii_case("dn") {
        return Err(LdifError::Syntax {
            line: first.line,
            message: format!(
                "expected `dn:` as the first line of an entry, found `{}:`; \
                 start each entry with its dn and separate entries with a blank line",
                first.name
            ),
        });
    }
    let first = attrs.remove(0);
    if first.value.is_empty() {
        return Err(LdifError::Syntax {
            line: first.line,
            message: "empty dn; give the entry a distinguished name such as \
                      `dn: uid=lmartin,ou=people,dc=example,dc=fr`"
                .into(),
        });
    }
    for attr in &attrs {
        if attr.name.eq_ignore_ascii_case("dn") {
            return Err(LdifError::Syntax {
                line: attr.line,
                message: "a second `dn:` in the same entry; separate entries with a blank line"
                    .into(),
            });
        }
        if attr.name.eq_ignore_ascii_case("changetype") || attr.name.eq_ignore_ascii_case("control")
        {
            return Err(LdifError::Syntax {
                line: attr.line,
                message: format!(
                    "change records (`{}:`) are not supported; write the entries as plain \
                     content records (dn and attributes)",
                    attr.name
                ),
            });
        }
    }
    Ok(Record {
        dn: first.value,
        attrs,
    })
}

/// Decode one logical `attr: value`, `attr:: base64` line.
fn parse_attr_line(line: usize, text: &str) -> Result<RawAttr, LdifError> {
    let Some((name, rest)) = text.split_once(':') else {
        return Err(LdifError::Syntax {
            line,
            message: "expected `attribute: value` (no ':' found); to continue the previous \
                      line, start this one with a single space"
                .into(),
        });
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ';' | '.'))
    {
        return Err(LdifError::Syntax {
            line,
            message: format!(
                "invalid attribute name {name:?}; expected letters, digits and '-' before ':'"
            ),
        });
    }
    let value = if let Some(encoded) = rest.strip_prefix(':') {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| LdifError::Base64 {
                line,
                attribute: name.to_string(),
                detail: e.to_string(),
            })?;
        String::from_utf8(bytes).map_err(|_| LdifError::Base64 {
            line,
            attribute: name.to_string(),
            detail: "the decoded bytes are not UTF-8 text".into(),
        })?
    } else if rest.starts_with('<') {
        return Err(LdifError::Syntax {
            line,
            message: format!(
                "URL values (`{name}:<`) are not supported; write the value inline, \
                 base64-encoded after `{name}::` if needed"
            ),
        });
    } else {
        rest.trim().to_string()
    };
    Ok(RawAttr {
        name: name.to_string(),
        value,
        line,
    })
}

/// The values of one attribute of an entry, with the line of each.
struct Values {
    name: String,
    values: Vec<(String, usize)>,
}

/// Turn a record into a person, or `None` if it has no `uid` (not a person).
fn build_entry(
    record: Record,
    spellings: &mut HashMap<String, String>,
    first_uid: &mut HashMap<String, (String, usize)>,
) -> Result<Option<Entry>, LdifError> {
    // Group values by attribute name, without regard to case; the first spelling met in the
    // file is kept (the canonical one for the attributes the directory interprets).
    let mut attrs: Vec<Values> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for attr in record.attrs {
        let lower = attr.name.to_ascii_lowercase();
        let name = spellings
            .entry(lower.clone())
            .or_insert_with(|| attr.name.clone())
            .clone();
        let i = *index.entry(lower).or_insert_with(|| {
            attrs.push(Values {
                name,
                values: Vec::new(),
            });
            attrs.len() - 1
        });
        attrs[i].values.push((attr.value, attr.line));
    }
    let get = |name: &str| attrs.iter().find(|a| a.name == name).map(|a| &a.values[..]);
    let dn = record.dn;
    let entry_error = |line: usize, message: String| LdifError::Entry {
        line,
        dn: dn.clone(),
        message,
    };

    let Some(uids) = get("uid") else {
        tracing::debug!(dn = %dn, "LDIF entry without uid ignored (not a person)");
        return Ok(None);
    };
    let (uid, uid_line) = match uids {
        [(uid, line)] if !uid.is_empty() => (uid.clone(), *line),
        [(_, line)] => {
            return Err(entry_error(
                *line,
                "empty uid; give the person an identifier".into(),
            ));
        }
        [_, (_, line), ..] => {
            return Err(entry_error(
                *line,
                "several uid values; a person has exactly one uid".into(),
            ));
        }
        [] => return Ok(None),
    };
    if let Some((first_dn, first_line)) = first_uid.get(&uid.to_lowercase()) {
        return Err(LdifError::DuplicateUid {
            uid,
            dn,
            line: uid_line,
            first_dn: first_dn.clone(),
            first_line: *first_line,
        });
    }
    first_uid.insert(uid.to_lowercase(), (dn.clone(), uid_line));

    let first_value = |name: &str| {
        get(name)
            .into_iter()
            .flatten()
            .map(|(v, _)| v.as_str())
            .find(|v| !v.is_empty())
    };
    let display_name = first_value("displayName")
        .or_else(|| first_value("cn"))
        .map(str::to_string)
        .or_else(|| {
            let parts: Vec<&str> = [first_value("givenName"), first_value("sn")]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .unwrap_or_else(|| uid.clone());

    let mut profiles = Vec::new();
    for attribute in ["ENTPersonProfils", "eduPersonAffiliation"] {
        for (value, line) in get(attribute).into_iter().flatten() {
            let profile = parse_profile(value).ok_or_else(|| {
                entry_error(
                    *line,
                    format!(
                        "invalid profile {value:?} in {attribute}; use a French ENT code such \
                         as National_ELV, National_ENS, National_TUT, National_DIR, a SUPANN \
                         affiliation (student, faculty, staff…) or a lower-case identifier \
                         such as `eleve` or `admin`"
                    ),
                )
            })?;
            if !profiles.contains(&profile) {
                profiles.push(profile);
            }
        }
    }

    let password = match get("userPassword") {
        None => None,
        Some([(value, line)]) => Some(parse_password(value, *line, &dn)?),
        Some([_, (_, line), ..]) => {
            return Err(entry_error(
                *line,
                "several userPassword values; keep exactly one argon2id hash".into(),
            ));
        }
        Some([]) => None,
    };

    let disabled = match get("cartableAccountDisabled") {
        None | Some([]) => false,
        Some([(value, line)]) => match value.to_ascii_uppercase().as_str() {
            "TRUE" => true,
            "FALSE" => false,
            _ => {
                return Err(entry_error(
                    *line,
                    format!("cartableAccountDisabled is {value:?}; expected TRUE or FALSE"),
                ));
            }
        },
        Some([_, (_, line), ..]) => {
            return Err(entry_error(
                *line,
                "several cartableAccountDisabled values; keep one, TRUE or FALSE".into(),
            ));
        }
    };

    let attributes: BTreeMap<String, Vec<String>> = attrs
        .into_iter()
        .filter(|a| a.name != "userPassword")
        .map(|a| (a.name, a.values.into_iter().map(|(v, _)| v).collect()))
        .collect();
    let search_name = fold_name(&display_name);
    Ok(Some(Entry {
        person: Arc::new(Person {
            id: uid,
            display_name,
            profiles,
            attributes,
        }),
        password,
        disabled,
        search_name,
    }))
}

/// A profile from an `ENTPersonProfils` or `eduPersonAffiliation` value.
fn parse_profile(value: &str) -> Option<Profile> {
    Profile::from_directory_value(value)
}

/// Check a `userPassword` value: an argon2id PHC string, optionally prefixed by `{ARGON2}`.
fn parse_password(value: &str, line: usize, dn: &str) -> Result<PasswordHash, LdifError> {
    let scheme_error = |scheme: String| LdifError::PasswordScheme {
        line,
        dn: dn.to_string(),
        scheme,
    };
    let phc = if let Some(rest) = value.strip_prefix('{') {
        let Some((scheme, hash)) = rest.split_once('}') else {
            return Err(scheme_error(
                "a plain-text password (or an unknown scheme)".into(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("ARGON2") {
            // Show the scheme only if it looks like one, never a piece of a password.
            let scheme = if !scheme.is_empty()
                && scheme.len() <= 16
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                format!("{{{scheme}}}")
            } else {
                "a plain-text password (or an unknown scheme)".into()
            };
            return Err(scheme_error(scheme));
        }
        hash
    } else {
        value
    };
    if !phc.starts_with("$argon2id$") {
        let scheme = match phc.strip_prefix('$').and_then(|r| r.split_once('$')) {
            Some((id, _))
                if !id.is_empty()
                    && id.len() <= 16
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                format!("a ${id}$ hash")
            }
            _ => "a plain-text password (or an unknown scheme)".into(),
        };
        return Err(scheme_error(scheme));
    }
    let hash = PasswordHash::new(phc).map_err(|e| LdifError::Entry {
        line,
        dn: dn.to_string(),
        message: format!(
            "userPassword is not a valid argon2id PHC string ({e}); regenerate it with \
             cartable_ldif::hash_password"
        ),
    })?;
    if hash.salt.is_none() || hash.hash.is_none() || Params::try_from(&hash).is_err() {
        return Err(LdifError::Entry {
            line,
            dn: dn.to_string(),
            message: "userPassword is an incomplete argon2id hash (parameters, salt or output \
                      missing or invalid); regenerate it with cartable_ldif::hash_password"
                .into(),
        });
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real argon2id hash with tiny parameters, so tests stay fast in debug builds.
    fn cheap_hash(password: &str) -> String {
        let params = Params::new(Params::MIN_M_COST, 1, 1, None).expect("valid parameters");
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_with_salt(password.as_bytes(), b"saltsaltsaltsalt")
            .expect("hash")
            .to_string()
    }

    fn sample() -> String {
        format!(
            "version: 1\n\
             \n\
             # The root of the people.\n\
             dn: ou=people,dc=example,dc=fr\n\
             objectClass: organizationalUnit\n\
             ou: people\n\
             \n\
             dn: uid=lmartin,ou=people,dc=example,dc=fr\n\
             objectClass: inetOrgPerson\n\
             uid: lmartin\n\
             cn: Lea Martin\n\
             displayName:: TMOpYSBNYXJ0aW4=\n\
             ENTPersonProfils: National_ENS\n\
             ENTPersonProfils: National_TUT\n\
             Mail: lea.martin@example.fr\n\
             description: a long description that is\n  folded over two lines\n\
             userPassword: {{ARGON2}}{lea}\n\
             \n\
             dn: uid=tdurand,ou=people,dc=example,dc=fr\n\
             uid: tdurand\n\
             givenName: Théo\n\
             sn: Durand\n\
             eduPersonAffiliation: student\n\
             eduPersonAffiliation: member\n\
             entpersonprofils: National_ELV\n\
             mail: theo.durand@example.fr\n\
             ENTEleveClasses: 6A\n\
             userPassword: {theo}\n\
             \n\
             dn: uid=gone,ou=people,dc=example,dc=fr\n\
             uid: gone\n\
             cn: Ancien Élève\n\
             ENTPersonProfils: eleve\n\
             cartableAccountDisabled: TRUE\n\
             userPassword: {gone}\n\
             \n\
             dn: uid=nopass,ou=people,dc=example,dc=fr\n\
             uid: nopass\n\
             ENTPersonProfils: National_DOC\n\
             # comment inside an entry\n\
             \n\
             dn: uid=weird,ou=people,dc=example,dc=fr\n\
             uid: weird\n\
             displayName: Zoé *)(uid=*\n\
             ENTPersonProfils: admin\n",
            lea = cheap_hash("secret-lea"),
            theo = cheap_hash("secret-theo"),
            gone = cheap_hash("secret-gone"),
        )
    }

    fn directory() -> LdifDirectory {
        LdifDirectory::parse(&sample()).expect("sample parses")
    }

    #[test]
    fn hash_password_makes_argon2id_phc_with_random_salt() {
        let a = hash_password("correct horse");
        let b = hash_password("correct horse");
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        let parsed = PasswordHash::new(&a).expect("PHC string");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_changed_password_is_saved_even_in_a_new_directory_or_not_at_all() {
        let ldif = format!(
            "dn: uid=lea,dc=test\nuid: lea\nuserPassword: {{ARGON2}}{}\n",
            crate::hash_password("old-pw")
        );
        let tmp = tempfile::tempdir().unwrap();
        // The data directory does not exist yet: it is created with the file.
        let file = tmp.path().join("data/passwords.json");
        let dir = LdifDirectory::parse(&ldif)
            .unwrap()
            .with_password_file(&file)
            .unwrap();
        dir.set_password("lea", "new-pw").await.unwrap();
        assert!(file.exists());
        assert!(dir.authenticate("lea", "new-pw").await.is_ok());

        // A file that cannot be written: an error, and the password that works is still
        // the one saved (nothing half-changed).
        let blocker = tmp.path().join("gone");
        let dir = LdifDirectory::parse(&ldif)
            .unwrap()
            .with_password_file(&blocker.join("passwords.json"))
            .unwrap();
        // A file where its directory should be: nothing can be saved there.
        std::fs::write(&blocker, b"").unwrap();
        assert!(dir.set_password("lea", "newer-pw").await.is_err());
        assert!(dir.authenticate("lea", "old-pw").await.is_ok());
        assert!(dir.authenticate("lea", "newer-pw").await.is_err());
    }

    #[tokio::test]
    async fn parses_folding_base64_comments_and_attributes() {
        let dir = directory();
        assert_eq!(dir.len(), 5, "the ou entry is not a person");
        let lea = dir.person("lmartin").await.unwrap().expect("lea");
        assert_eq!(lea.display_name, "Léa Martin", "displayName:: is base64");
        assert_eq!(
            lea.attribute("description"),
            Some("a long description that is folded over two lines")
        );
        assert_eq!(lea.attribute("Mail"), Some("lea.martin@example.fr"));
        assert_eq!(lea.attribute("objectClass"), Some("inetOrgPerson"));
        assert!(
            !lea.attributes
                .keys()
                .any(|k| k.eq_ignore_ascii_case("userPassword")),
            "the password hash is never exposed"
        );

        let theo = dir.person("tdurand").await.unwrap().expect("theo");
        assert_eq!(theo.display_name, "Théo Durand", "givenName sn");
        // "mail" takes the spelling of its first occurrence in the file.
        assert_eq!(theo.attribute("Mail"), Some("theo.durand@example.fr"));
        assert_eq!(
            theo.attributes.get("ENTPersonProfils"),
            Some(&vec!["National_ELV".to_string()])
        );
        assert_eq!(theo.attribute("ENTEleveClasses"), Some("6A"));

        let nopass = dir
            .person("NOPASS")
            .await
            .unwrap()
            .expect("case-insensitive uid");
        assert_eq!(nopass.display_name, "nopass", "falls back to the uid");
        assert_eq!(dir.person("nobody").await.unwrap(), None);
        // Shared: the directory's own copy, not a clone per look-up.
        let a = dir.shared_person("lmartin").await.unwrap().expect("lea");
        let b = dir.shared_person("LMARTIN").await.unwrap().expect("lea");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, dir.person("lmartin").await.unwrap().unwrap());
        assert_eq!(dir.shared_person("nobody").await.unwrap(), None);
    }

    #[tokio::test]
    async fn maps_profiles() {
        let dir = directory();
        let profiles = |id: &'static str| {
            let dir = &dir;
            async move { dir.person(id).await.unwrap().unwrap().profiles }
        };
        assert_eq!(
            profiles("lmartin").await,
            vec![Profile::Enseignant, Profile::Parent]
        );
        assert_eq!(
            profiles("tdurand").await,
            vec![Profile::Eleve, Profile::Other("member".into())],
            "student and National_ELV are the same profile"
        );
        assert_eq!(profiles("nopass").await, vec![Profile::Personnel]);
        assert_eq!(profiles("weird").await, vec![Profile::Admin]);

        for (value, expected) in [
            ("National_DIR", Profile::Personnel),
            ("national_evs", Profile::Personnel),
            ("National_ETA", Profile::Personnel),
            ("National_COL", Profile::Personnel),
            ("National_PERS", Profile::Personnel),
            ("faculty", Profile::Enseignant),
            ("teacher", Profile::Enseignant),
            ("staff", Profile::Personnel),
            ("employee", Profile::Personnel),
            ("cpe", Profile::Other("cpe".into())),
        ] {
            assert_eq!(parse_profile(value), Some(expected), "{value}");
        }
    }

    #[test]
    fn invalid_profile_names_dn_and_line() {
        let text = "dn: uid=a,dc=x\nuid: a\nENTPersonProfils: Chef d'établissement\n";
        let err = LdifDirectory::parse(text).unwrap_err();
        match &err {
            LdifError::Entry { line, dn, .. } => {
                assert_eq!(*line, 3);
                assert_eq!(dn, "uid=a,dc=x");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[tokio::test]
    async fn authenticates() {
        let dir = directory();
        let lea = dir
            .authenticate("lmartin", "secret-lea")
            .await
            .expect("login");
        assert_eq!(lea.id, "lmartin");
        let theo = dir
            .authenticate("TDurand", "secret-theo")
            .await
            .expect("login");
        assert_eq!(theo.id, "tdurand");
    }

    #[tokio::test]
    async fn refuses_bad_credentials() {
        let dir = directory();
        for (login, password) in [
            ("lmartin", "secret-theo"),
            ("lmartin", ""),
            ("unknown", "secret-lea"),
            ("nopass", ""),
            ("nopass", "anything"),
            ("weird", "anything"),
            ("*", "secret-lea"),
        ] {
            let err = dir.authenticate(login, password).await.unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidCredentials),
                "{login}/{password}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn disabled_account_is_refused_only_with_the_right_password() {
        let dir = directory();
        let err = dir.authenticate("gone", "secret-gone").await.unwrap_err();
        assert!(matches!(err, AuthError::AccountDisabled), "{err:?}");
        let err = dir.authenticate("gone", "wrong").await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    }

    #[test]
    fn other_password_schemes_are_rejected() {
        for (value, scheme) in [
            ("{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SSHA}"),
            ("{CRYPT}$6$abc$def", "{CRYPT}"),
            ("hunter2", "plain-text"),
            ("$6$salt$hash", "$6$"),
            (
                "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
                "$argon2i$",
            ),
        ] {
            let text = format!("dn: uid=a,dc=x\nuid: a\nuserPassword: {value}\n");
            let err = LdifDirectory::parse(&text).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, LdifError::PasswordScheme { line: 3, .. }),
                "{value}: {err:?}"
            );
            assert!(message.contains(scheme), "{message}");
            assert!(message.contains("hash_password"), "{message}");
            if value == "hunter2" {
                assert!(!message.contains("hunter2"), "never print a password");
            }
        }
        // A bare PHC string is accepted as well as the {ARGON2} prefix.
        let text = format!(
            "dn: uid=a,dc=x\nuid: a\nuserPassword: {}\n",
            cheap_hash("p")
        );
        assert!(LdifDirectory::parse(&text).is_ok());
        // A truncated argon2id hash is refused.
        let text = "dn: uid=a,dc=x\nuid: a\nuserPassword: $argon2id$v=19$m=8\n";
        assert!(matches!(
            LdifDirectory::parse(text),
            Err(LdifError::Entry { line: 3, .. })
        ));
    }

    #[tokio::test]
    async fn searches() {
        let dir = directory();
        let ids = |people: Vec<Person>| people.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let all = dir.search(&PersonQuery::default()).await.unwrap();
        assert_eq!(
            ids(all),
            ["gone", "lmartin", "nopass", "tdurand", "weird"],
            "sorted by display name: Ancien Élève, Léa Martin, nopass, Théo Durand, Zoé"
        );

        let query = |name: &str| PersonQuery {
            name: Some(name.into()),
            ..PersonQuery::default()
        };
        assert_eq!(
            ids(dir.search(&query("MARTIN")).await.unwrap()),
            ["lmartin"]
        );
        assert_eq!(
            ids(dir.search(&query("lea")).await.unwrap()),
            ["lmartin"],
            "accent-insensitive"
        );
        assert_eq!(ids(dir.search(&query("élève")).await.unwrap()), ["gone"]);
        assert_eq!(
            ids(dir.search(&query("*)(uid=*")).await.unwrap()),
            ["weird"],
            "LDAP metacharacters are literal"
        );
        assert!(dir.search(&query("*")).await.unwrap().len() == 1);
        assert!(dir.search(&query("%")).await.unwrap().is_empty());

        let by_profile = PersonQuery {
            profile: Some(Profile::Eleve),
            ..PersonQuery::default()
        };
        assert_eq!(
            ids(dir.search(&by_profile).await.unwrap()),
            ["gone", "tdurand"]
        );

        let by_attribute = PersonQuery {
            attribute: Some(("enteleveclasses".into(), "6A".into())),
            ..PersonQuery::default()
        };
        assert_eq!(ids(dir.search(&by_attribute).await.unwrap()), ["tdurand"]);
        let partial = PersonQuery {
            attribute: Some(("ENTEleveClasses".into(), "6".into())),
            ..PersonQuery::default()
        };
        assert!(
            dir.search(&partial).await.unwrap().is_empty(),
            "exact match"
        );

        let combined = PersonQuery {
            name: Some("o".into()),
            profile: Some(Profile::Eleve),
            limit: 1,
            ..PersonQuery::default()
        };
        assert_eq!(ids(dir.search(&combined).await.unwrap()), ["tdurand"]);
        let limited = PersonQuery {
            limit: 2,
            ..PersonQuery::default()
        };
        assert_eq!(dir.search(&limited).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn search_limit_defaults_and_caps() {
        let mut text = String::new();
        for i in 0..600 {
            text.push_str(&format!("dn: uid=u{i},dc=x\nuid: u{i}\n\n"));
        }
        let dir = LdifDirectory::parse(&text).unwrap();
        let count = |limit| {
            let dir = &dir;
            async move {
                dir.search(&PersonQuery {
                    limit,
                    ..PersonQuery::default()
                })
                .await
                .unwrap()
                .len()
            }
        };
        assert_eq!(count(0).await, DEFAULT_LIMIT);
        assert_eq!(count(10_000).await, MAX_LIMIT);
        assert_eq!(count(7).await, 7);
    }

    #[test]
    fn duplicate_uid_is_an_error() {
        let text = "dn: uid=a,dc=x\nuid: a\n\ndn: uid=b,dc=x\nuid: A\n";
        let err = LdifDirectory::parse(text).unwrap_err();
        match &err {
            LdifError::DuplicateUid {
                line, first_line, ..
            } => {
                assert_eq!((*line, *first_line), (5, 2));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("distinct uid"), "{err}");
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("uid: a\n", 1, "expected `dn:`"),
            ("dn: uid=a,dc=x\nuid a\n", 2, "attribute: value"),
            ("dn: uid=a,dc=x\ndn: uid=b,dc=x\n", 2, "blank line"),
            (" folded\n", 1, "continue"),
            ("dn: uid=a,dc=x\nchangetype: add\n", 2, "change records"),
            ("dn: uid=a,dc=x\njpegPhoto:< file:///x.jpg\n", 2, "URL"),
            ("version: 2\ndn: uid=a,dc=x\n", 1, "version"),
            ("dn:\nuid: a\n", 1, "empty dn"),
        ];
        for (text, expected_line, needle) in cases {
            match LdifDirectory::parse(text) {
                Err(LdifError::Syntax { line, message }) => {
                    assert_eq!(line, *expected_line, "{text:?}: {message}");
                    assert!(message.contains(needle), "{text:?}: {message}");
                }
                other => panic!("{text:?}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn bad_base64_is_an_error() {
        let err = LdifDirectory::parse("dn: uid=a,dc=x\nuid: a\ncn:: ***\n").unwrap_err();
        assert!(matches!(err, LdifError::Base64 { line: 3, .. }), "{err:?}");
        // Valid base64 of bytes that are not UTF-8.
        let err = LdifDirectory::parse("dn: uid=a,dc=x\nuid: a\ncn:: /w==\n").unwrap_err();
        assert!(matches!(err, LdifError::Base64 { line: 3, .. }), "{err:?}");
    }

    #[test]
    fn crlf_bom_and_whitespace_lines() {
        let text =
            "\u{feff}dn: uid=a,dc=x\r\nuid: a\r\ncn: A\r\n  \r\ndn: uid=b,dc=x\r\nuid: b\r\n";
        let dir = LdifDirectory::parse(text).unwrap();
        assert_eq!(dir.len(), 2);
        assert!(LdifDirectory::parse("").unwrap().is_empty());
        assert!(
            LdifDirectory::parse("# only a comment\n\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn from_file_reports_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.ldif");
        let err = LdifDirectory::from_file(&missing).unwrap_err();
        assert!(matches!(err, LdifError::Io { .. }));
        assert!(err.to_string().contains("missing.ldif"), "{err}");

        let file = dir.path().join("people.ldif");
        std::fs::write(&file, sample()).unwrap();
        assert_eq!(LdifDirectory::from_file(&file).unwrap().len(), 5);
    }

    #[test]
    fn fallback_hash_is_valid() {
        let hash = fallback_hash();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(Params::try_from(&hash).is_ok());
    }
}
