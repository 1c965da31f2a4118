//! `docs/configuration.md`, the configuration reference, generated from the configuration
//! types themselves: every key, its type and its default come from the JSON schema that
//! `schemars` derives from the types (their doc comments are the descriptions, their serde
//! attributes the names and defaults), so the reference cannot drift from the code.
//!
//! The test fails when the file differs from what the types give; `UPDATE_DOCS=1 cargo
//! test --test config_reference` rewrites it. Each section's TOML example (below, in
//! [`EXAMPLES`]) is parsed by `EntConfig::from_toml` and must set (or name, in a comment)
//! every key of its section.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cartable::EntConfig;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// What the reference says before the sections.
const INTRO: &str = r#"# Configuration reference

<!-- Generated from the configuration types by tests/config_reference.rs: do not edit.
     Change the types' doc comments, or the examples in that file, then run
     `UPDATE_DOCS=1 cargo test --test config_reference`. -->

An ENT reads one TOML file, `cartable.toml` by convention, with
`cartable::EntConfig::load(path)` (and `config.apply_env()` for the environment overrides).
The portal types its own keys; each backend section (`[ldap]`, `[postgres]`, `[mail]`,
`[[feeds]]`, `[[remote]]`, `allowed_hosts`) is typed by its own crate and is read only when
the matching cargo feature of the `cartable` crate is on (all are, by default); a section
whose feature is off is refused with a message naming the feature.

- **Unknown keys are errors**, reported with their line: a misspelt key never goes unnoticed.
- **Relative paths** (`data_dir`, `theme_dir`, `directory`, `password_file`) are taken from
  the file's directory (`password_file` from `data_dir`).
- **`extends = "base.toml"`** starts from another file: the keys of this one replace the
  base's, tables are merged key by key (at most 4 levels of `extends`).
- **Environment overrides**: `CARTABLE_LISTEN` (`listen`), `CARTABLE_DATA_DIR` (`data_dir`,
  relative to the working directory) and `CARTABLE_POSTGRES_URL` (the `url` of `[postgres]`,
  which it creates if missing).
- A key marked *required* must be given whenever its section is; every other key may be
  left out and takes the default shown (*unset*: the feature it enables is off).

Every example below is parsed by the test that generates this page.
"#;

/// One TOML example per section, keyed by the section's title; each is a whole
/// configuration file that `EntConfig::from_toml` must accept.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "Top-level keys",
        r#"
listen = "0.0.0.0:8080"             # behind a reverse proxy; CARTABLE_LISTEN overrides it
data_dir = "/var/lib/cartable"      # the SQLite file (without [postgres])
etablissement = "Lycée Victor Hugo"
time_zone = "Europe/Paris"          # "America/Cayenne", "Indian/Reunion"… overseas
theme_dir = "theme"                 # files here override the default theme's
directory = "annuaire.ldif"         # the embedded directory (without [ldap])
password_file = "passwords.json"    # lets users change passwords without LDAP
base_path = "/ent"                  # served under https://…/ent/
deadline_ms = 3000
stream_pages = true
secure_cookies = true               # served over HTTPS
session_ttl_minutes = 480
"#,
    ),
    (
        "[accounts]",
        r#"
[accounts]
grace_days = 90
"#,
    ),
    (
        "[auth]",
        r#"
[auth]
method = "cas"                      # the académie's CAS server checks passwords
cas_server = "https://sso.ac-exemple.fr/cas"
public_url = "https://ent.lycee-hugo.fr"
"#,
    ),
    (
        "[cas]",
        r#"
[cas]
ticket_seconds = 10
"#,
    ),
    (
        "[[cas.services]]",
        r#"
[[cas.services]]
id = "cdi"
name = "CDI en ligne"
url = "https://cdi.lycee-hugo.fr/"
description = "Le catalogue du centre de documentation"
profiles = ["eleve", "enseignant"]
new_window = true
sso = true
attributes = ["displayName", "mail", "ENTEleveClasses"]

[[cas.services]]
id = "pronote"
name = "Vie scolaire"
url = "https://vie-scolaire.lycee-hugo.fr/"
sso = false                         # a plain link
"#,
    ),
    (
        "[delegation]",
        r#"
[delegation]
delegable = ["enseignant", "personnel"]
max_days = 30
"#,
    ),
    (
        "[groups]",
        r#"
[groups]
creators = ["enseignant", "personnel", "admin"]
max_per_profile = { enseignant = 30, personnel = 10 }
default_max = 20
max_days = 400
max_members = 500
file_quota_mb = 100                 # a new group's shared file space
max_file_quota_mb = 1024            # the most its managers may give it
# profiles: [groups.profiles.<profile>]; users: [groups.users.<uid>] (below)
"#,
    ),
    (
        "[groups.profiles.<profile>]",
        r#"
[groups.profiles.enseignant]
max_groups = 30
max_members = 200
max_days = 365
tools = ["documents", "agenda", "forum"]   # among the services' group tools
max_file_quota_mb = 500
tool_limits = { forum = 5000 }      # at most 5,000 messages per group's forum

[groups.profiles.personnel]
tools = ["documents"]
"#,
    ),
    (
        "[groups.users.<uid>]",
        r#"
[groups.users.delegue-2nde3]        # a pupils' delegate, without a creator profile
max_groups = 1
max_members = 40
max_days = 180
tools = ["forum"]
max_file_quota_mb = 20
tool_limits = { forum = 500 }
"#,
    ),
    (
        "[[layouts.<profile>.tabs]]",
        r#"
[[layouts.eleve.tabs]]
id = "accueil"
title = "Accueil"
title_en = "Home"
columns = [
  [{ portlet = "annonces", locked = true }, { portlet = "bloc-notes" }],
  [{ portlet = "liens", id = "liens-cdi" }],
]

[[layouts.eleve.tabs]]
id = "outils"
title = "Outils"
columns = [[{ portlet = "annuaire" }]]

[[layouts.default.tabs]]            # profiles without a layout of their own
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "annonces" }]]
"#,
    ),
    (
        "[files]",
        r#"
[files]
store = "local"                     # or "s3" with [files.s3] (the `s3` cargo feature)
dir = "/srv/cartable/fichiers"      # default: files in data_dir
# s3: see [files.s3]
"#,
    ),
    (
        "[files.s3]",
        r#"
[files]
store = "s3"                        # several nodes share the bucket

[files.s3]
bucket = "ent-fichiers"
region = "fr-par"
endpoint = "https://s3.fr-par.scw.cloud"   # MinIO, Garage, Scaleway, OVH…; none for AWS
access_key_id = "SCWXXXXXXXXXXXXXXXXX"
secret_access_key_env = "CARTABLE_S3_SECRET"  # read at start
# secret_access_key = "…"           # or written here
allow_http = false                  # true for a MinIO on http://127.0.0.1:9000
prefix = "lycee-hugo"               # établissements sharing the bucket
"#,
    ),
    (
        "[password]",
        r#"
[password]
min_length = 12
min_classes = 3
forbid_login = true
"#,
    ),
    (
        "[portability]",
        r#"
[portability]
only_trusted = true                 # refuse archives of établissements not listed below
# trusted = [ … ]                   # see [[portability.trusted]]
"#,
    ),
    (
        "[[portability.trusted]]",
        r#"
[[portability.trusted]]
etablissement = "Collège Jules Ferry"
public_key = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="   # its <portal>/donnees/cle
"#,
    ),
    (
        "[portlets.<id>]",
        r#"
[portlets.bloc-notes]
deadline_ms = 1500
preferences = { lignes = "10", couleur = { value = "bleu", locked = true } }
# maintenance = "Le bloc-notes revient à 14 h."

# A service's settings are preferences too: who reads and who writes the
# établissement's agenda (profile names, or * for everyone).
[portlets.agenda.preferences]
etab_readers = { value = "personnel, enseignant", locked = true }
etab_writers = { value = "personnel, admin", locked = true }
"#,
    ),
    (
        "[quarantine]",
        r#"
[quarantine]
after_timeouts = 3
for_seconds = 60
"#,
    ),
    (
        "[server]",
        r#"
[server]
header_read_timeout_ms = 10000
idle_timeout_ms = 75000             # longer than the reverse proxy's keep-alive
body_read_timeout_ms = 60000
max_connections = 4096
"#,
    ),
    (
        "[throttle]",
        r#"
[throttle]
max_failures = 5
max_failures_per_address = 100
max_failures_per_account = 100
window_seconds = 900
max_delay_seconds = 300
"#,
    ),
    (
        "[ldap]",
        r#"
[ldap]
url = "ldaps://annuaire.ac-exemple.fr"   # or ldap://… with starttls = true
people_base = "ou=people,dc=lycee-hugo,dc=fr"
bind_dn = "cn=cartable,ou=services,dc=lycee-hugo,dc=fr"
bind_password = "…"
tls_ca_file = "/etc/ssl/certs/ac-exemple.pem"
schema = "ent"                      # or "supann"
timeout_ms = 3000
pool_size = 4
# starttls = false
# Attribute overrides (the schema's defaults shown):
id_attribute = "uid"
login_attribute = "uid"
display_name_attribute = "displayName"
profile_attributes = ["ENTPersonProfils"]
person_filter = "(objectClass=ENTPerson)"
disabled_attribute = "cartableAccountDisabled"
account_end_attribute = "cartableAccountEnd"
"#,
    ),
    (
        "[postgres]",
        r#"
[postgres]
url = "postgres://cartable:secret@db.ac-exemple.fr:5432/ent"
schema = "lycee_hugo"               # created if missing
pool_size = 16
connect_timeout_ms = 3000
statement_timeout_ms = 5000
"#,
    ),
    (
        "[mail]",
        r#"
[mail]
smtp_host = "smtp.ac-exemple.fr"
smtp_port = 587
from = "ENT du lycée Victor Hugo <ne-pas-repondre@lycee-hugo.fr>"
starttls = "starttls"               # "none" | "starttls" | "tls"
username = "ent-hugo"
password = "…"
digest_hour = 6                     # every day at 6:00 UTC…
# interval_minutes = 60             # …or every hour instead
portal_url = "https://ent.lycee-hugo.fr"
timeout_ms = 10000
max_items = 50
"#,
    ),
    (
        "[[feeds]]",
        r#"
allowed_hosts = ["www.ac-lyon.fr", "eduscol.education.fr"]

[[feeds]]
id = "actualites"
title = "Actualités de l’académie"
title_en = "Academy news"
feeds = [
  { name = "Académie de Lyon", url = "https://www.ac-lyon.fr/rss.xml" },
  { name = "Éduscol", url = "https://eduscol.education.fr/feed.atom" },
]
refresh_seconds = 900
timeout_ms = 2500
max_bytes = 1048576
default_items = 5
"#,
    ),
    (
        "[[feeds.feeds]]",
        r#"
allowed_hosts = ["www.ac-lyon.fr", "eduscol.education.fr"]

[[feeds]]
id = "actualites"
title = "Actualités"

[[feeds.feeds]]                     # the default feed
name = "Académie de Lyon"
url = "https://www.ac-lyon.fr/rss.xml"

[[feeds.feeds]]
name = "Éduscol"
url = "https://eduscol.education.fr/feed.atom"
"#,
    ),
    (
        "[[remote]]",
        r#"
allowed_hosts = ["ent.lycee-lumiere.fr"]

[[remote]]
id = "lumiere"                      # local ids become "lumiere-<portlet>"
url = "https://ent.lycee-lumiere.fr/remote/"
key_id = "ent-hugo"                 # names this ENT to the producer
key = "a shared secret of at least 32 bytes!!"
trusted = false                     # sanitize its markup
timeout_ms = 2000                   # under the portal's deadline_ms
failures_before_open = 3
open_seconds = 30
portlets = ["cantine", "bienvenue"]
local_ids = { cantine = "cantine-lumiere" }
attributes = ["mail", "ENTEleveClasses"]
max_resource_bytes = 2097152
"#,
    ),
    (
        "allowed_hosts",
        r#"
allowed_hosts = [
  "*.ac-lyon.fr",                   # any sub-domain
  "eduscol.education.fr",
  "ent.lycee-lumiere.fr:8443",      # that port only
  "127.0.0.1:9100",                 # a loopback producer: an IP literal only
]
"#,
    ),
];

/// Where a section's keys are written in the file.
#[derive(Debug, Clone)]
enum Header {
    /// Keys at the top of the file, before any `[section]`.
    Root,
    /// `[path]`.
    Table(String),
    /// `[[path]]`.
    Array(String),
    /// Inline tables in `key = [[{ … }]]` of the section `parent`.
    Inline { parent: String, key: String },
    /// A top-level key whose value is not a table (`allowed_hosts = […]`).
    Key(String),
}

impl Header {
    /// The section's title, which is also its key in [`EXAMPLES`].
    fn title(&self) -> String {
        match self {
            Header::Root => "Top-level keys".into(),
            Header::Table(p) => format!("[{p}]"),
            Header::Array(p) => format!("[[{p}]]"),
            Header::Inline { parent, key } => format!("{parent} {key}"),
            Header::Key(k) => k.clone(),
        }
    }

    /// The heading in the page.
    fn heading(&self) -> String {
        match self {
            Header::Root => "Top-level keys".into(),
            Header::Inline { parent, key } => {
                format!("`{key} = [[{{ … }}]]` in `{parent}`")
            }
            other => format!("`{}`", other.title()),
        }
    }

    /// The path of a child table under this header.
    fn child(&self, key: &str) -> String {
        match self {
            Header::Root => key.to_string(),
            Header::Table(p) | Header::Array(p) => format!("{p}.{key}"),
            Header::Inline { parent, .. } => format!("{parent}.{key}"),
            Header::Key(k) => format!("{k}.{key}"),
        }
    }
}

/// A section of the reference.
struct Section {
    header: Header,
    intro: String,
    /// The cargo feature that reads it, for backend sections.
    feature: Option<&'static str>,
    rows: Vec<Row>,
}

/// One key of a section.
struct Row {
    key: String,
    ty: String,
    default: String,
    description: String,
}

/// One type's schema, with its definitions.
struct Doc {
    schema: Value,
}

impl Doc {
    fn of<T: JsonSchema>() -> Doc {
        let schema: Schema = schemars::schema_for!(T);
        Doc {
            schema: schema.to_value(),
        }
    }

    /// Follow `$ref`s to the definition.
    fn resolve<'a>(&'a self, mut s: &'a Value) -> &'a Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default();
            s = &self.schema["$defs"][name];
        }
        s
    }

    /// The schema without its `null` alternative (an `Option`), resolved.
    fn strip_option(&self, s: &Value) -> Value {
        let s = self.resolve(s);
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let not_null: Vec<&Value> = any.iter().filter(|v| !is_null(v)).collect();
            if not_null.len() == 1 && any.len() == 2 {
                return self.strip_option(not_null[0]);
            }
        }
        if let Some(types) = s.get("type").and_then(Value::as_array) {
            let not_null: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            if not_null.len() == 1 {
                let mut s = s.clone();
                s["type"] = not_null[0].clone();
                return s;
            }
        }
        s.clone()
    }

    fn kind(&self, s: &Value) -> Kind {
        let s = self.strip_option(s);
        if s.get("properties").is_some() {
            return Kind::Struct(s);
        }
        match s.get("type").and_then(Value::as_str) {
            Some("array") => {
                let items = self.strip_option(&s["items"]);
                match self.kind(&items) {
                    Kind::Struct(inner) => Kind::ArrayOfStructs(inner),
                    Kind::ArrayOfStructs(inner) => Kind::ArrayOfArraysOfStructs(inner),
                    _ => Kind::Leaf,
                }
            }
            Some("object") => match s.get("additionalProperties") {
                Some(v) if v.is_object() => match self.kind(v) {
                    Kind::Struct(inner) => Kind::MapOfStructs(inner),
                    _ => Kind::Leaf,
                },
                _ => Kind::Leaf,
            },
            _ => Kind::Leaf,
        }
    }

    /// How a value's type reads in the reference.
    fn type_name(&self, s: &Value) -> String {
        let s = self.strip_option(s);
        if let Some(values) = enum_values(&s) {
            return values.join(" or ");
        }
        if let Some(any) = s.get("anyOf").or(s.get("oneOf")).and_then(Value::as_array) {
            let names: Vec<String> = any
                .iter()
                .filter(|v| !is_null(v))
                .map(|v| self.type_name(v))
                .collect();
            return names.join(" or ");
        }
        if let Some(properties) = s.get("properties").and_then(Value::as_object) {
            let fields: Vec<String> = properties
                .iter()
                .map(|(k, v)| format!("{k} = {}", self.type_name(v)))
                .collect();
            return format!("{{ {} }}", fields.join(", "));
        }
        match s.get("type").and_then(Value::as_str) {
            Some("array") => format!("array of {}", plural(&self.type_name(&s["items"]))),
            Some("object") => match s.get("additionalProperties") {
                Some(v) if v.is_object() => {
                    format!("table of {}", plural(&self.type_name(v)))
                }
                _ => "table".into(),
            },
            Some("number") => "number".into(),
            Some(t) => t.into(),
            None => "any".into(),
        }
    }

    /// The sections of a struct and of the tables under it, depth first.
    /// `intro` comes before the struct's own description, unless `own` is false (the
    /// field that holds the table already says more).
    fn sections(
        &self,
        header: Header,
        intro: String,
        own: bool,
        feature: Option<&'static str>,
        s: &Value,
        out: &mut Vec<Section>,
    ) {
        let s = self.strip_option(s);
        let required: BTreeSet<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut rows = Vec::new();
        let mut children = Vec::new();
        let mut keys: Vec<(&String, &Value)> = s
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        // Required keys first, then the others, each in alphabetical order.
        keys.sort_by_key(|(k, _)| (!required.contains(k.as_str()), k.to_string()));
        for (key, field) in keys {
            let field_doc = description(field);
            match self.kind(field) {
                // A table is described by the field that holds it (`groups`: "who may
                // create groups…") or by its type ("when a portlet that keeps missing its
                // deadline…"), whichever says more.
                Kind::Struct(inner) => {
                    let child = Header::Table(header.child(key));
                    if field_doc.len() > description(&inner).len() {
                        children.push((child, field_doc, false, inner))
                    } else {
                        children.push((child, String::new(), true, inner))
                    }
                }
                // An array's or a map's field says what the entries are for or keyed by.
                Kind::ArrayOfStructs(inner) => {
                    let child = Header::Array(header.child(key));
                    // A required one is a key of this section too (`feeds` in `[[feeds]]`).
                    if required.contains(key.as_str()) {
                        rows.push(Row {
                            key: key.clone(),
                            ty: format!("array of tables, `{}`", child.title()),
                            default: default_of(field, true),
                            description: field_doc.clone(),
                        });
                    }
                    children.push((child, field_doc, true, inner))
                }
                Kind::MapOfStructs(inner) => children.push((
                    Header::Table(format!("{}.{}", header.child(key), placeholder(key))),
                    field_doc,
                    true,
                    inner,
                )),
                kind => {
                    let ty = match kind {
                        Kind::ArrayOfArraysOfStructs(ref inner) => {
                            let inline = Header::Inline {
                                parent: header.title(),
                                key: key.clone(),
                            };
                            children.push((inline, String::new(), true, inner.clone()));
                            "array of arrays of tables (below)".to_string()
                        }
                        _ => self.type_name(field),
                    };
                    rows.push(Row {
                        key: key.clone(),
                        ty,
                        default: default_of(field, required.contains(key.as_str())),
                        description: field_doc,
                    });
                }
            }
        }
        // A table with no keys of its own (`[layouts.<profile>]` holds only `tabs`) is not
        // a section: what it says goes to the sections under it.
        let skip = rows.iter().all(|r| r.ty.starts_with("array of tables, "))
            && !matches!(header, Header::Root);
        if !skip {
            // The root's own description is about the Rust type; the page has its own.
            let own = match header {
                Header::Root => String::new(),
                _ if !own => String::new(),
                _ => description(&s),
            };
            out.push(Section {
                header,
                intro: join_sentences(&intro, &own),
                feature,
                rows,
            });
        }
        for (child, doc, own, inner) in children {
            let inherited = if skip {
                join_sentences(&intro, &doc)
            } else {
                doc
            };
            self.sections(child, inherited, own, None, &inner, out);
        }
    }
}

enum Kind {
    Leaf,
    Struct(Value),
    ArrayOfStructs(Value),
    ArrayOfArraysOfStructs(Value),
    MapOfStructs(Value),
}

fn is_null(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// The values of an enum of strings (`"form" or "cas"`), however schemars wrote it.
fn enum_values(s: &Value) -> Option<Vec<String>> {
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(|v| format!("`{v}`")).collect());
    }
    let variants = s.get("oneOf").or(s.get("anyOf"))?.as_array()?;
    variants
        .iter()
        .map(
            |v| match (v.get("const"), v.get("enum").and_then(Value::as_array)) {
                (Some(c), _) => Some(vec![format!("`{c}`")]),
                (None, Some(values)) => Some(values.iter().map(|v| format!("`{v}`")).collect()),
                _ => None,
            },
        )
        .collect::<Option<Vec<Vec<String>>>>()
        .map(|v| v.concat())
}

fn plural(name: &str) -> String {
    match name {
        "string" | "integer" | "boolean" | "number" | "table" => format!("{name}s"),
        _ if name.starts_with("array of ") => format!("arrays of {}", &name[9..]),
        _ if name.starts_with("table of ") => format!("tables of {}", &name[9..]),
        _ => format!("({name})"),
    }
}

/// What a map's keys are, in its section's header.
fn placeholder(key: &str) -> &'static str {
    match key {
        "portlets" => "<id>",
        "layouts" => "<profile>",
        "profiles" => "<profile>",
        "users" => "<uid>",
        _ => "<name>",
    }
}

fn default_of(field: &Value, required: bool) -> String {
    match field.get("default") {
        _ if required => "*required*".into(),
        Some(Value::Null) => "*unset*".into(),
        Some(v) => format!("`{}`", toml_literal(v)),
        None => "—".into(),
    }
}

/// A JSON value as TOML.
fn toml_literal(v: &Value) -> String {
    match v {
        Value::Null => "unset".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} = {}", toml_literal(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

/// A schema's description as Markdown: rustdoc links made plain, code blocks dropped
/// (the section has its own example), paragraphs kept.
fn description(s: &Value) -> String {
    let Some(text) = s.get("description").and_then(Value::as_str) else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            kept.push(line.trim());
        }
    }
    let paragraphs: Vec<String> = kept
        .split(|l| l.is_empty())
        .filter(|p| !p.is_empty())
        .map(|p| plain_links(&p.join(" ")))
        .collect();
    paragraphs.join("\n\n")
}

/// `[`Duration`]` and `[text](Self::x)` (rustdoc links) as `` `Duration` `` and `text`;
/// links to pages (`http…`, `….md`) are kept.
fn plain_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let tail = &after[close + 1..];
        if let Some(target) = tail.strip_prefix('(')
            && let Some(end) = target.find(')')
        {
            let link = &target[..end];
            if link.starts_with("http") || link.ends_with(".md") || link.contains(".md#") {
                out.push_str(&rest[open..open + 1 + close + 1 + 1 + end + 1]);
            } else {
                out.push_str(inner);
            }
            rest = &target[end + 1..];
        } else if inner.starts_with('`') && inner.ends_with('`') && inner.len() > 1 {
            out.push_str(inner);
            rest = tail;
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn join_sentences(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ if a == b => a.to_string(),
        _ => format!("{a} {b}"),
    }
}

/// Text in a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace("\n\n", "<br>")
        .replace('\n', " ")
        .replace('|', "\\|")
}

/// Every section, in the order of the page.
fn all_sections() -> Vec<Section> {
    let mut out = Vec::new();
    let portal = Doc::of::<cartable::portal::Config>();
    portal.sections(
        Header::Root,
        "The portal's own settings: where it listens and keeps its data, the \
         établissement, pages and deadlines. The tables under it follow."
            .into(),
        true,
        None,
        &portal.schema,
        &mut out,
    );
    let backend = |doc: Doc, header: Header, feature, out: &mut Vec<Section>| {
        doc.sections(header, String::new(), true, Some(feature), &doc.schema, out)
    };
    backend(
        Doc::of::<cartable::ldap::LdapConfig>(),
        Header::Table("ldap".into()),
        "ldap",
        &mut out,
    );
    backend(
        Doc::of::<cartable::postgres::PostgresConfig>(),
        Header::Table("postgres".into()),
        "postgres",
        &mut out,
    );
    backend(
        Doc::of::<cartable::mail::MailConfig>(),
        Header::Table("mail".into()),
        "mail",
        &mut out,
    );
    backend(
        Doc::of::<cartable::feed::FeedConfig>(),
        Header::Array("feeds".into()),
        "feed",
        &mut out,
    );
    backend(
        Doc::of::<cartable::remote::RemoteConfig>(),
        Header::Array("remote".into()),
        "remote",
        &mut out,
    );
    // `allowed_hosts` is a list, not a table: one row, its type's description above it.
    let hosts = Doc::of::<cartable::fetch::HostPolicy>();
    out.push(Section {
        header: Header::Key("allowed_hosts".into()),
        intro: description(&hosts.schema),
        feature: Some("feed` or `remote"),
        rows: vec![Row {
            key: "allowed_hosts".into(),
            ty: hosts.type_name(&hosts.schema),
            // What `EntConfig` takes when the key is missing (checked below).
            default: "`[]`".into(),
            description: "The hosts `[[feeds]]` and `[[remote]]` may be fetched from.".into(),
        }],
    });
    out
}

fn example(title: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(t, _)| *t == title).map(|(_, e)| *e)
}

/// The example a section's keys must appear in: its own, or its parent's for inline tables.
fn example_for(section: &Section) -> Option<&'static str> {
    match &section.header {
        Header::Inline { parent, .. } => example(parent),
        header => example(&header.title()),
    }
}

/// The whole page.
fn reference() -> String {
    let mut md = String::from(INTRO);
    for section in all_sections() {
        let _ = write!(md, "\n## {}\n\n", section.header.heading());
        if !section.intro.is_empty() {
            let _ = write!(md, "{}\n\n", section.intro);
        }
        if let Some(feature) = section.feature {
            let _ = write!(
                md,
                "Read when the `{feature}` feature of the `cartable` crate is on (the default).\n\n"
            );
        }
        md.push_str("| key | type | default | description |\n|---|---|---|---|\n");
        for row in &section.rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                row.key,
                cell(&row.ty),
                cell(&row.default),
                cell(&row.description)
            );
        }
        if !matches!(section.header, Header::Inline { .. })
            && let Some(example) = example(&section.header.title())
        {
            let _ = write!(md, "\n```toml\n{}\n```\n", example.trim());
        }
    }
    md
}

fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md")
}

#[test]
fn the_reference_is_up_to_date() {
    let generated = reference();
    let path = reference_path();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("cannot write docs/configuration.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != generated {
        let line = current
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| current.lines().count().min(generated.lines().count()));
        panic!(
            "docs/configuration.md is not what the configuration types give (first difference \
             at line {}: {:?} should be {:?}); regenerate it with\n\n    \
             UPDATE_DOCS=1 cargo test --test config_reference\n",
            line + 1,
            current.lines().nth(line).unwrap_or("<end of file>"),
            generated.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn every_example_parses() {
    let dir = tempfile::tempdir().unwrap();
    for (title, text) in EXAMPLES {
        let config = EntConfig::from_toml(text, dir.path())
            .unwrap_or_else(|e| panic!("the example of {title} does not parse: {e}"));
        // Feeds are checked when their portlet is built; the example's hosts are allowed.
        for feed in &config.feeds {
            let fetcher = cartable::fetch::Fetcher::new(config.allowed_hosts.clone());
            if let Err(e) = cartable::feed::FeedPortlet::new(feed.clone(), fetcher) {
                panic!("the example of {title}: [[feeds]] {}: {e}", feed.id);
            }
        }
    }
}

#[test]
fn every_section_has_an_example_that_names_each_of_its_keys() {
    let sections = all_sections();
    let titles: BTreeSet<String> = sections.iter().map(|s| s.header.title()).collect();
    for (title, _) in EXAMPLES {
        assert!(
            titles.contains(*title),
            "an example for no section: {title}"
        );
    }
    for section in &sections {
        let title = section.header.title();
        let example = example_for(section)
            .unwrap_or_else(|| panic!("no example for {title}: add one to EXAMPLES"));
        for row in &section.rows {
            assert!(
                names_key(example, &row.key),
                "the example of {title} does not set `{}` (set it, or name it in a comment: \
                 `# {} = …`)",
                row.key,
                row.key
            );
        }
    }
}

/// Whether `key = ` is written in the example (at the start of a line, in a comment or in
/// an inline table).
fn names_key(example: &str, key: &str) -> bool {
    let needle = format!("{key} =");
    example.match_indices(&needle).any(|(i, _)| {
        let before = example[..i].chars().next_back();
        matches!(before, None | Some('\n' | ' ' | '{' | ',' | '#'))
    })
}

#[test]
fn sections_left_out_take_the_defaults_shown() {
    let config = EntConfig::from_toml("", Path::new(".")).unwrap();
    assert!(config.ldap.is_none() && config.postgres.is_none() && config.mail.is_none());
    assert!(config.feeds.is_empty() && config.remote.is_empty());
    assert_eq!(config.allowed_hosts, cartable::fetch::HostPolicy::new());
}

#[test]
fn rustdoc_links_read_as_plain_text() {
    assert_eq!(
        plain_links("see [`Duration`], [the id](crate::Person::id) and [docs](a.md)"),
        "see `Duration`, the id and [docs](a.md)"
    );
    assert_eq!(plain_links("[a] [b"), "[a] [b");
}
