//! "Mes données": a user's data out and back in (réversibilité, issue 15).
//!
//! - **Export**: `/compte` enqueues the job [`EXPORT_JOB`]; its handler asks every service
//!   that implements [`Portable`] for its files, writes them into a ZIP spooled to a
//!   temporary file, adds `manifest.json` (each file's service, path, media type, format,
//!   size and SHA-256; the user, the établissement, the date) and `manifest.json.sig`
//!   (the manifest's Ed25519 signature by the établissement's key, base64), and keeps the
//!   archive in the file store (service [`FILE_SERVICE`], the user's space). The row of
//!   `cartable_exports` says where it is (queued, running, ready, failed); the periodic
//!   job [`EXPIRE_JOB`] deletes archives [`KEEP`] after they were made.
//! - **Import**: [`Portability::verify`] checks the archive before anything is written:
//!   the signature of the manifest with the key it names, then every file's size and
//!   SHA-256, and that the ZIP holds nothing the manifest does not list. Then
//!   [`Portability::import`] gives each service its folder, all of them in **one database
//!   transaction**: an error of any service rolls everything back.
//! - **The key**: made at first start (32 random bytes) and kept in the socle's storage
//!   (shared data of `socle-export`, key `signing-key`), so every node of the
//!   établissement signs with the same key. Its public half is published at
//!   `GET <base>/donnees/cle` (see docs/data.md), so another Cartable can check that an
//!   archive's key is that établissement's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use cartable_portlet::export::{
    DataContext, ExportBody, ExportFile, ExportSink, ImportFile, ImportReport, PortabilityError,
    Portable, check_path,
};
use cartable_portlet::{Portlet, Services};
use cartable_socle::files::{FileId, FileStore, NewFile, Space};
use cartable_socle::jobs::{Job, JobError, JobId, JobState, Jobs};
use cartable_socle::{DataScope, Person, ServiceSchema, SocleError, Storage, Version};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The job that builds a user's archive (payload `{"user": …, "locale": …}`).
pub const EXPORT_JOB: &str = "socle.export";
/// The periodic job that deletes expired archives.
pub const EXPIRE_JOB: &str = "socle.expire-exports";
/// How often [`EXPIRE_JOB`] runs.
pub const EXPIRE_EVERY: Duration = Duration::from_secs(3600);
/// How long an archive is kept once made.
pub const KEEP: Duration = Duration::from_secs(3 * 24 * 3600);
/// The file store's service name of the archives, and the storage's name of the key.
pub const FILE_SERVICE: &str = "socle-export";
/// The service name under which the table's migration is recorded.
pub const SCHEMA_SERVICE: &str = "socle-exports";
/// The largest archive an import reads.
pub const MAX_ARCHIVE: u64 = 64 << 20;
/// The largest file of an archive an import reads into memory.
const MAX_ENTRY: u64 = 32 << 20;
/// The manifest's name in the archive.
pub const MANIFEST: &str = "manifest.json";
/// The signature's name in the archive.
pub const SIGNATURE: &str = "manifest.json.sig";
/// The manifest's `format`.
const FORMAT: &str = "cartable-mes-donnees";
const KEY_NAME: &str = "signing-key";

/// The table of the exports, migrated with the socle's.
pub fn schema() -> ServiceSchema {
    ServiceSchema::new(SCHEMA_SERVICE).sql(cartable_socle::migration!("0001_exports"))
}

/// The établissement's signing key: read from the storage, or made and stored at first
/// start (a conditional write: of two nodes starting together, both keep the first).
pub async fn signing_key(storage: &dyn Storage) -> Result<SigningKey, SocleError> {
    let scope = DataScope::Shared;
    for _ in 0..3 {
        let stored = storage
            .data_versioned(FILE_SERVICE, &scope, KEY_NAME)
            .await?;
        if let Some(bytes) = stored.value {
            let seed: [u8; 32] = B64
                .decode(&bytes)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| SocleError::Corrupt {
                    what: "export signing key",
                    detail: "not 32 bytes of base64".into(),
                })?;
            return Ok(SigningKey::from_bytes(&seed));
        }
        let seed: [u8; 32] = rand::random();
        match storage
            .set_data_if(
                FILE_SERVICE,
                &scope,
                KEY_NAME,
                B64.encode(seed).as_bytes(),
                Version::NEW,
            )
            .await
        {
            Ok(_) => {
                tracing::info!("made the établissement's key for signing export archives");
                return Ok(SigningKey::from_bytes(&seed));
            }
            Err(SocleError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SocleError::Invalid(
        "could not read or make the export signing key".into(),
    ))
}

/// A public key's fingerprint: the SHA-256 of its 32 bytes, hex.
pub fn fingerprint(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// `2026-12-07T09:35:06Z`.
fn rfc3339(t: SystemTime) -> String {
    let g = cartable_socle::format_generalized_time(t);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &g[0..4],
        &g[4..6],
        &g[6..8],
        &g[8..10],
        &g[10..12],
        &g[12..14]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Its path in the archive, `<service>/<path>`.
    pub path: String,
    /// The service whose data it is.
    pub service: String,
    /// Its media type.
    pub media_type: String,
    /// Its format's name.
    pub format: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// Who signed the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The public key, 32 bytes in base64.
    pub public_key: String,
    /// Its SHA-256, hex.
    pub fingerprint: String,
}

/// Whose data it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestUser {
    /// Her id in the exporting établissement.
    pub id: String,
    /// Her name.
    pub display_name: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `cartable-mes-donnees`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// The exporting établissement's name.
    pub etablissement: String,
    /// Its portal's public URL, where its key is published (`<portal>/donnees/cle`).
    pub portal: Option<String>,
    /// The key that signed the manifest.
    pub signer: Signer,
    /// Whose data it is.
    pub user: ManifestUser,
    /// When the archive was made, RFC 3339 UTC.
    pub created: String,
    /// Every file, in the archive's order.
    pub files: Vec<ManifestFile>,
}

/// Why an archive was refused before anything was imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Not a ZIP file.
    #[error("this file is not a ZIP archive ({0})")]
    NotZip(String),
    /// No manifest or no signature.
    #[error("the archive has no {0}: it was not made by « Mes données » of a Cartable")]
    Missing(&'static str),
    /// The manifest cannot be read.
    #[error("the archive's manifest cannot be read: {0}")]
    BadManifest(String),
    /// The signature does not match the manifest.
    #[error(
        "the archive's signature does not match its manifest: the archive was changed after it was made, nothing was imported"
    )]
    BadSignature,
    /// A file listed is missing.
    #[error(
        "the file {0} listed in the manifest is missing from the archive; nothing was imported"
    )]
    FileMissing(String),
    /// A file's bytes do not match the manifest.
    #[error(
        "the file {0} was changed after the archive was made (its SHA-256 or its size differ from the manifest's); nothing was imported"
    )]
    Tampered(String),
    /// The archive is signed by a key this établissement does not trust
    /// (`[portability] only_trusted`).
    #[error(
        "the archive is signed by {etablissement:?} with the key {fingerprint}, which this ENT does not trust; nothing was imported (an administrator adds the établissement's key to [portability] trusted)"
    )]
    Untrusted {
        /// The établissement the manifest names.
        etablissement: String,
        /// Its key's fingerprint.
        fingerprint: String,
    },
    /// A file is not listed.
    #[error("the archive holds {0}, which its manifest does not list; nothing was imported")]
    Unlisted(String),
    /// A path is not acceptable.
    #[error("the archive names an invalid path {0:?}; nothing was imported")]
    BadPath(String),
    /// Too large.
    #[error("the archive or one of its files is too large (at most {0} bytes)")]
    TooLarge(u64),
    /// Reading failed.
    #[error("the archive could not be read: {0}")]
    Io(#[from] std::io::Error),
}

/// An archive whose signature and files were checked.
#[derive(Debug)]
pub struct Verified {
    /// Its manifest.
    pub manifest: Manifest,
    /// Every file, by service.
    pub files: BTreeMap<String, Vec<ImportFile>>,
}

/// What an import did, for the page.
#[derive(Debug, Default)]
pub struct ImportOutcome {
    /// Each service's report, by service (`None`: not installed here).
    pub reports: Vec<(String, Option<ImportReport>)>,
}

/// Where a user's export is, for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportStatus {
    /// Never asked, or expired.
    None,
    /// Waiting for a node.
    Queued,
    /// Being built.
    Running,
    /// An attempt failed; it is tried again later (the error).
    Retrying(String),
    /// Ready: its size, and until when (ms since 1970).
    Ready {
        /// Bytes.
        size: u64,
        /// When it is deleted.
        expires_at: i64,
    },
    /// Every attempt failed.
    Failed(String),
}

/// `[portability]`: whose archives an import recognises.
///
/// ```toml
/// [portability]
/// only_trusted = true
/// trusted = [
///   { etablissement = "Collège Jean Moulin", public_key = "…" },  # from its /donnees/cle
/// ]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PortabilityConfig {
    /// The other établissements whose archives are recognised: each one's name and the
    /// public key its portal publishes at `<base>/donnees/cle` (`public_key`, base64).
    pub trusted: Vec<TrustedKey>,
    /// Refuse an archive signed by a key that is neither this établissement's nor one of
    /// `trusted` (off: such an archive is imported and its report says the signer is
    /// unknown).
    pub only_trusted: bool,
}

/// Another établissement's key, as its portal publishes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// Its name, shown on the import's report.
    pub etablissement: String,
    /// Its Ed25519 public key: 32 bytes in base64, as `/donnees/cle` gives it.
    #[schemars(with = "String")]
    pub public_key: PublicKey,
}

/// An Ed25519 public key read from base64 (a configuration value that is not one is
/// refused when the configuration is read).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct PublicKey(VerifyingKey);

impl TryFrom<String> for PublicKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        B64.decode(text.trim())
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .map(PublicKey)
            .ok_or_else(|| {
                "not an Ed25519 public key: give the `public_key` of the établissement's \
                 <portal>/donnees/cle (32 bytes in base64)"
                    .to_string()
            })
    }
}

/// Whose key signed an archive, as this établissement knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// This établissement's own key.
    Own,
    /// The key of a trusted établissement (its name as configured).
    Trusted(String),
    /// A key this établissement does not know.
    Unknown,
}

/// The export and import engine of a portal.
pub struct Portability {
    portables: Vec<Arc<dyn Portlet>>,
    services: Services,
    files: FileStore,
    etablissement: String,
    portal: Option<String>,
    key: SigningKey,
    trust: PortabilityConfig,
    indicators: Option<cartable_socle::indicators::Indicators>,
}

/// The portal's own folder of an archive: what the ENT keeps of the user's activity.
pub const ACTIVITY_SERVICE: &str = "portail";
/// Its file.
pub const ACTIVITY_FILE: &str = "activite.json";
/// Its format.
pub const ACTIVITY_FORMAT: &str = "cartable-activite+json;version=1";

/// `portail/activite.json`: what the ENT keeps of the user's activity when she exports.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Activity {
    format: String,
    version: u32,
    /// Her sessions still open: when each ends, RFC 3339 UTC.
    sessions: Vec<String>,
    /// The services she used on the days the usage indicators have not closed yet.
    services_used: Vec<ServiceUsed>,
    /// What the rest of her activity became.
    retention: String,
}

/// A service used on a day.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ServiceUsed {
    day: String,
    service: String,
}

impl std::fmt::Debug for Portability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portability")
            .field("services", &self.service_names())
            .field("key", &fingerprint(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

/// Milliseconds since 1970.
fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn job_error(e: impl std::fmt::Display) -> JobError {
    e.to_string().into()
}

impl Portability {
    /// The engine over the portlets that are [`Portable`] (one per service).
    pub fn new(
        portlets: impl IntoIterator<Item = Arc<dyn Portlet>>,
        services: Services,
        files: FileStore,
        etablissement: &str,
        portal: Option<String>,
        key: SigningKey,
    ) -> Self {
        let mut portables: Vec<Arc<dyn Portlet>> = Vec::new();
        for p in portlets {
            if let Some(service) = p.portable().map(|x| x.service().to_string())
                && !portables
                    .iter()
                    .any(|q| q.portable().is_some_and(|x| x.service() == service))
            {
                portables.push(p);
            }
        }
        Portability {
            portables,
            services,
            files,
            etablissement: etablissement.to_string(),
            portal,
            key,
            trust: PortabilityConfig::default(),
            indicators: None,
        }
    }

    /// Put what `indicators` still say of the user in her archive (`portail/activite.json`).
    pub fn with_indicators(mut self, indicators: cartable_socle::indicators::Indicators) -> Self {
        self.indicators = Some(indicators);
        self
    }

    /// The user's activity as the ENT keeps it: her open sessions, the services she used
    /// on the days not closed yet.
    async fn activity(&self, user: &str) -> Result<Vec<u8>, PortabilityError> {
        let other = |e: &dyn std::fmt::Display| PortabilityError::Other(e.to_string());
        let sessions: Vec<(i64,)> = cartable_db::sqlx::query_as(
            "SELECT expires_unix FROM cartable_sessions WHERE user_id = $1 ORDER BY expires_unix",
        )
        .bind(user)
        .fetch_all(self.db().pool())
        .await
        .map_err(|e| other(&e))?;
        let services_used = match &self.indicators {
            Some(ind) => ind.used_by(user).await.map_err(|e| other(&e))?,
            None => Vec::new(),
        };
        let activity = Activity {
            format: "cartable-activite".into(),
            version: 1,
            sessions: sessions
                .into_iter()
                .map(|(secs,)| {
                    rfc3339(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
                })
                .collect(),
            services_used: services_used
                .into_iter()
                .map(|(day, service)| ServiceUsed { day, service })
                .collect(),
            retention: "The usage indicators keep who used which service only until the day \
                after next; then only counts remain, and nothing says who. Sessions end at \
                logout or when they expire."
                .into(),
        };
        serde_json::to_vec_pretty(&activity).map_err(|e| other(&e))
    }

    /// Recognise the archives of the établissements of `trust`.
    pub fn trusting(mut self, trust: PortabilityConfig) -> Self {
        self.trust = trust;
        self
    }

    /// Whose key signed `manifest`.
    pub fn origin(&self, manifest: &Manifest) -> Origin {
        let key = manifest.signer.public_key.as_str();
        if key == self.signer().public_key {
            return Origin::Own;
        }
        self.trust
            .trusted
            .iter()
            .find(|t| B64.encode(t.public_key.0.as_bytes()) == key)
            .map_or(Origin::Unknown, |t| {
                Origin::Trusted(t.etablissement.clone())
            })
    }

    /// `Err` when `[portability] only_trusted` refuses an archive of this origin.
    pub fn admit(&self, manifest: &Manifest) -> Result<Origin, ArchiveError> {
        match self.origin(manifest) {
            Origin::Unknown if self.trust.only_trusted => Err(ArchiveError::Untrusted {
                etablissement: manifest.etablissement.clone(),
                fingerprint: manifest.signer.fingerprint.clone(),
            }),
            origin => Ok(origin),
        }
    }

    /// The services whose data goes into an archive.
    pub fn service_names(&self) -> Vec<String> {
        self.portables
            .iter()
            .filter_map(|p| p.portable().map(|x| x.service().to_string()))
            .collect()
    }

    fn portable(&self, service: &str) -> Option<&dyn Portable> {
        self.portables
            .iter()
            .filter_map(|p| p.portable())
            .find(|x| x.service() == service)
    }

    /// The public key as published at `<base>/donnees/cle`.
    pub fn signer(&self) -> Signer {
        let public = self.key.verifying_key();
        Signer {
            algorithm: "Ed25519".into(),
            public_key: B64.encode(public.as_bytes()),
            fingerprint: fingerprint(&public),
        }
    }

    /// The établissement's name.
    pub fn etablissement(&self) -> &str {
        &self.etablissement
    }

    fn db(&self) -> &cartable_db::Database {
        self.services
            .db
            .as_ref()
            .expect("the portal always gives a database")
    }

    fn now(&self) -> i64 {
        millis(self.services.clock.now())
    }

    /// Ask for `user`'s archive (nothing new while one is queued or running).
    pub async fn request(&self, jobs: &Jobs, user: &str, locale: &str) -> Result<(), SocleError> {
        if matches!(
            self.status(jobs, user).await?,
            ExportStatus::Queued | ExportStatus::Running | ExportStatus::Retrying(_)
        ) {
            return Ok(());
        }
        self.forget(user).await?;
        // The row first (its job not yet known), then the job, which may run at once:
        // its handler takes the row whose job is its own or not yet written.
        cartable_db::sqlx::query(
            "INSERT INTO cartable_exports (owner, job_id, state, requested_at) \
             VALUES ($1, '', 'queued', $2)",
        )
        .bind(user)
        .bind(self.now())
        .execute(self.db().pool())
        .await
        .map_err(cartable_db::DbError::Query)?;
        let payload = serde_json::json!({ "user": user, "locale": locale }).to_string();
        let id = jobs.enqueue(EXPORT_JOB, &payload).await?;
        cartable_db::sqlx::query(
            "UPDATE cartable_exports SET job_id = $2 WHERE owner = $1 AND job_id = ''",
        )
        .bind(user)
        .bind(id.as_str())
        .execute(self.db().pool())
        .await
        .map_err(cartable_db::DbError::Query)?;
        Ok(())
    }

    /// Delete `user`'s archive and its row.
    async fn forget(&self, user: &str) -> Result<(), SocleError> {
        let row: Option<(Option<String>,)> =
            cartable_db::sqlx::query_as("SELECT file_id FROM cartable_exports WHERE owner = $1")
                .bind(user)
                .fetch_optional(self.db().pool())
                .await
                .map_err(cartable_db::DbError::Query)?;
        if let Some((Some(file),)) = row
            && let Some(id) = FileId::parse(&file)
        {
            self.files
                .delete(&id)
                .await
                .map_err(|e| SocleError::Invalid(e.to_string()))?;
        }
        cartable_db::sqlx::query("DELETE FROM cartable_exports WHERE owner = $1")
            .bind(user)
            .execute(self.db().pool())
            .await
            .map_err(cartable_db::DbError::Query)?;
        Ok(())
    }

    /// Where `user`'s export is.
    pub async fn status(&self, jobs: &Jobs, user: &str) -> Result<ExportStatus, SocleError> {
        type Row = (String, String, Option<i64>, Option<String>, Option<i64>);
        let row: Option<Row> = cartable_db::sqlx::query_as(
            "SELECT job_id, state, size, error, expires_at FROM cartable_exports WHERE owner = $1",
        )
        .bind(user)
        .fetch_optional(self.db().pool())
        .await
        .map_err(cartable_db::DbError::Query)?;
        let Some((job, state, size, error, expires)) = row else {
            return Ok(ExportStatus::None);
        };
        if state == "ready" {
            return Ok(ExportStatus::Ready {
                size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                expires_at: expires.unwrap_or(0),
            });
        }
        if state == "failed" {
            return Ok(ExportStatus::Failed(error.unwrap_or_default()));
        }
        if job.is_empty() {
            return Ok(ExportStatus::Queued);
        }
        Ok(match jobs.get(&JobId::new(job)).await? {
            Some(r) if r.state == JobState::Failed => {
                ExportStatus::Failed(r.last_error.unwrap_or_default())
            }
            None => ExportStatus::Failed(error.unwrap_or_default()),
            Some(r) if r.state == JobState::Running || state == "running" => ExportStatus::Running,
            Some(r) => match r.last_error {
                Some(e) if r.attempts > 0 => ExportStatus::Retrying(e),
                _ => ExportStatus::Queued,
            },
        })
    }

    /// `user`'s ready archive.
    pub async fn archive(
        &self,
        user: &str,
    ) -> Result<Option<cartable_socle::StoredFile>, SocleError> {
        let row: Option<(Option<String>,)> = cartable_db::sqlx::query_as(
            "SELECT file_id FROM cartable_exports WHERE owner = $1 AND state = 'ready'",
        )
        .bind(user)
        .fetch_optional(self.db().pool())
        .await
        .map_err(cartable_db::DbError::Query)?;
        let Some(id) = row.and_then(|(f,)| f).and_then(|f| FileId::parse(&f)) else {
            return Ok(None);
        };
        self.files
            .get(&id)
            .await
            .map_err(|e| SocleError::Invalid(e.to_string()))
    }

    /// The file store (downloads).
    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// The handler of [`EXPORT_JOB`].
    pub async fn run_export(&self, job: &Job) -> Result<(), JobError> {
        #[derive(Deserialize)]
        struct Payload {
            user: String,
            #[serde(default)]
            locale: String,
        }
        let p: Payload = job.payload_json()?;
        let marked = cartable_db::sqlx::query(
            "UPDATE cartable_exports SET state = 'running', job_id = $2 \
             WHERE owner = $1 AND (job_id = $2 OR job_id = '')",
        )
        .bind(&p.user)
        .bind(job.id.as_str())
        .execute(self.db().pool())
        .await?;
        if marked.rows_affected() == 0 {
            // Asked again since, or expired: nothing to do.
            return Ok(());
        }
        let Some(person) = self.services.directory.person(&p.user).await? else {
            cartable_db::sqlx::query(
                "UPDATE cartable_exports SET state = 'failed', error = $3 WHERE owner = $1 AND job_id = $2",
            )
            .bind(&p.user)
            .bind(job.id.as_str())
            .bind("this account is no longer in the directory")
            .execute(self.db().pool())
            .await?;
            return Ok(());
        };
        let (spool, size) = self
            .build(Arc::new(person), &p.locale)
            .await
            .map_err(job_error)?;
        let stored = self.store(&p.user, spool).await.map_err(job_error)?;
        let now = self.now();
        let done = cartable_db::sqlx::query(
            "UPDATE cartable_exports SET state = 'ready', file_id = $3, size = $4, error = NULL, \
             ready_at = $5, expires_at = $6 WHERE owner = $1 AND job_id = $2",
        )
        .bind(&p.user)
        .bind(job.id.as_str())
        .bind(stored.id.as_str())
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(now)
        .bind(now.saturating_add(i64::try_from(KEEP.as_millis()).unwrap_or(i64::MAX)))
        .execute(self.db().pool())
        .await?;
        if done.rows_affected() == 0 {
            self.files.delete(&stored.id).await?;
        }
        tracing::info!(user = %p.user, bytes = size, "export archive ready");
        Ok(())
    }

    /// Write the archive of `person` into a temporary file; its size.
    pub async fn build(
        &self,
        person: Arc<Person>,
        locale: &str,
    ) -> Result<(std::fs::File, u64), PortabilityError> {
        self.build_reporting(person, locale, &|_| {}).await
    }

    /// [`build`](Self::build), calling `progress` with each service's name before its
    /// part is written (`cartable export`'s progress bar).
    pub async fn build_reporting(
        &self,
        person: Arc<Person>,
        locale: &str,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(std::fs::File, u64), PortabilityError> {
        let cx = DataContext::new(person.clone(), self.services.clone(), locale);
        let io = |source| PortabilityError::Io {
            path: "(archive)".into(),
            source,
        };
        let spool = tempfile::tempfile().map_err(io)?;
        let mut sink = ZipSink {
            zip: zip::ZipWriter::new(spool),
            service: String::new(),
            listed: Vec::new(),
        };
        for p in &self.portables {
            let Some(portable) = p.portable() else {
                continue;
            };
            sink.service = portable.service().to_string();
            progress(&sink.service);
            portable.export(&cx, &mut sink).await?;
        }
        sink.service = ACTIVITY_SERVICE.to_string();
        let activity = self.activity(&person.id).await?;
        sink.file(ExportFile::bytes(
            ACTIVITY_FILE,
            "application/json",
            ACTIVITY_FORMAT,
            activity,
        ))
        .await?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: 1,
            etablissement: self.etablissement.clone(),
            portal: self.portal.clone(),
            signer: self.signer(),
            user: ManifestUser {
                id: person.id.clone(),
                display_name: person.display_name.clone(),
            },
            created: rfc3339(self.services.clock.now()),
            files: sink.listed,
        };
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PortabilityError::Other(e.to_string()))?;
        let signature = self.key.sign(&text);
        let mut zip = sink.zip;
        let options = options();
        let zerr = |e: zip::result::ZipError| io(std::io::Error::other(e));
        zip.start_file(MANIFEST, options).map_err(zerr)?;
        zip.write_all(&text).map_err(io)?;
        zip.start_file(SIGNATURE, options).map_err(zerr)?;
        zip.write_all(B64.encode(signature.to_bytes()).as_bytes())
            .map_err(io)?;
        let mut file = zip.finish().map_err(zerr)?;
        let size = file.seek(SeekFrom::End(0)).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok((file, size))
    }

    /// Keep the spooled archive in the file store, the user's space.
    async fn store(
        &self,
        user: &str,
        spool: std::fs::File,
    ) -> Result<cartable_socle::StoredFile, cartable_socle::FileError> {
        let date = rfc3339(self.services.clock.now())[..10].to_string();
        let new = NewFile {
            service: FILE_SERVICE.into(),
            space: Space::User(user.to_string()),
            name: format!("mes-donnees-{user}-{date}.zip"),
            content_type: "application/zip".into(),
            max_size: u64::MAX >> 1,
        };
        let body = futures::stream::unfold(Some(spool), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        // The archive is the user's own data: it does not count against a quota.
        self.files.upload(new, u64::MAX >> 1, body).await
    }

    /// The handler of [`EXPIRE_JOB`]: delete the archives past their time.
    pub async fn expire(&self) -> Result<u64, JobError> {
        let rows: Vec<(String, Option<String>)> = cartable_db::sqlx::query_as(
            "SELECT owner, file_id FROM cartable_exports WHERE expires_at IS NOT NULL AND expires_at < $1",
        )
        .bind(self.now())
        .fetch_all(self.db().pool())
        .await?;
        let mut n = 0;
        for (owner, file) in rows {
            if let Some(id) = file.as_deref().and_then(FileId::parse) {
                self.files.delete(&id).await?;
            }
            cartable_db::sqlx::query(
                "DELETE FROM cartable_exports WHERE owner = $1 AND expires_at < $2",
            )
            .bind(&owner)
            .bind(self.now())
            .execute(self.db().pool())
            .await?;
            n += 1;
        }
        if n > 0 {
            tracing::info!(archives = n, "expired export archives deleted");
        }
        Ok(n)
    }

    /// Check an archive: its manifest's signature, then every file against it. Nothing is
    /// written.
    pub fn verify(file: std::fs::File) -> Result<Verified, ArchiveError> {
        let mut zip =
            zip::ZipArchive::new(file).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        let manifest_bytes = read_entry(&mut zip, MANIFEST, 1 << 20)?
            .ok_or(ArchiveError::Missing("manifest.json"))?;
        let signature = read_entry(&mut zip, SIGNATURE, 1 << 10)?
            .ok_or(ArchiveError::Missing("manifest.json.sig"))?;
        // The key the manifest names, checked before anything of the manifest is trusted.
        let raw: serde_json::Value = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| ArchiveError::BadManifest(e.to_string()))?;
        let key = raw
            .pointer("/signer/public_key")
            .and_then(|k| k.as_str())
            .and_then(|k| B64.decode(k).ok())
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(|| ArchiveError::BadManifest("no Ed25519 key in signer".into()))?;
        let signature = B64
            .decode(String::from_utf8_lossy(&signature).trim())
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .map(|s| ed25519_dalek::Signature::from_bytes(&s))
            .ok_or(ArchiveError::BadSignature)?;
        key.verify(&manifest_bytes, &signature)
            .map_err(|_| ArchiveError::BadSignature)?;
        let manifest: Manifest =
            serde_json::from_value(raw).map_err(|e| ArchiveError::BadManifest(e.to_string()))?;
        if manifest.format != FORMAT || manifest.version != 1 {
            return Err(ArchiveError::BadManifest(format!(
                "format {:?} version {}",
                manifest.format, manifest.version
            )));
        }
        let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        let names: Vec<String> = zip
            .file_names()
            .map(|n| {
                n.map(std::borrow::Cow::into_owned)
                    .map_err(|e| ArchiveError::NotZip(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        for name in names {
            if name != MANIFEST && name != SIGNATURE && !listed.contains(name.as_str()) {
                return Err(ArchiveError::Unlisted(name));
            }
        }
        let mut files: BTreeMap<String, Vec<ImportFile>> = BTreeMap::new();
        for f in &manifest.files {
            let inner = f
                .path
                .strip_prefix(&format!("{}/", f.service))
                .filter(|p| check_path(p).is_ok() && check_path(&f.service).is_ok())
                .ok_or_else(|| ArchiveError::BadPath(f.path.clone()))?;
            if f.size > MAX_ENTRY {
                return Err(ArchiveError::TooLarge(MAX_ENTRY));
            }
            let bytes = read_entry(&mut zip, &f.path, MAX_ENTRY)?
                .ok_or_else(|| ArchiveError::FileMissing(f.path.clone()))?;
            if bytes.len() as u64 != f.size || hex(&Sha256::digest(&bytes)) != f.sha256 {
                return Err(ArchiveError::Tampered(f.path.clone()));
            }
            files
                .entry(f.service.clone())
                .or_default()
                .push(ImportFile::new(inner, &f.media_type, &f.format, bytes));
        }
        Ok(Verified { manifest, files })
    }

    /// Give each service its files, all in one transaction: an error of any rolls back
    /// everything.
    pub async fn import(
        &self,
        person: Arc<Person>,
        locale: &str,
        verified: Verified,
    ) -> Result<ImportOutcome, PortabilityError> {
        self.import_reporting(person, locale, verified, &|_| {})
            .await
    }

    /// [`import`](Self::import), calling `progress` with each service's name before its
    /// files are given to it (`cartable import`'s progress bar).
    pub async fn import_reporting(
        &self,
        person: Arc<Person>,
        locale: &str,
        verified: Verified,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ImportOutcome, PortabilityError> {
        let cx = DataContext::new(person, self.services.clone(), locale);
        let mut tx = self
            .db()
            .begin()
            .await
            .map_err(|e| PortabilityError::Other(e.to_string()))?;
        let mut outcome = ImportOutcome::default();
        for (service, files) in verified.files {
            progress(&service);
            if service == ACTIVITY_SERVICE {
                // Another ENT's record of her activity is hers to keep, not this ENT's.
                let mut report = ImportReport::default();
                for f in &files {
                    report.refuse(
                        &f.path,
                        "",
                        &f.path,
                        cx.t(&crate::i18n::MESSAGES, "mydata_activity_not_restored"),
                    );
                }
                outcome.reports.push((service, Some(report)));
                continue;
            }
            match self.portable(&service) {
                Some(portable) => {
                    let report = portable.import(&cx, &mut tx, files).await?;
                    outcome.reports.push((service, Some(report)));
                }
                None => outcome.reports.push((service, None)),
            }
        }
        tx.commit().await?;
        // What was restored becomes searchable: each service that kept something has its
        // part of the index rebuilt (a job; an import is rare, a service knows no "the
        // documents of one user").
        if let Some(search) = &self.services.search {
            for (service, report) in &outcome.reports {
                if report.as_ref().is_some_and(|r| r.accepted() > 0)
                    && let Err(e) = search.service_changed(service).await
                {
                    tracing::warn!(%service, error = %e, "imported data not indexed yet");
                }
            }
        }
        Ok(outcome)
    }
}

/// Read one entry whole, at most `max` bytes (`None`: no such entry).
fn read_entry(
    zip: &mut zip::ZipArchive<std::fs::File>,
    name: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, ArchiveError> {
    let entry = match zip.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(ArchiveError::NotZip(e.to_string())),
    };
    let mut bytes = Vec::new();
    entry.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ArchiveError::TooLarge(max));
    }
    Ok(Some(bytes))
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644)
}

/// The archive being written: each service's files under its folder, listed for the
/// manifest with their SHA-256.
struct ZipSink {
    zip: zip::ZipWriter<std::fs::File>,
    service: String,
    listed: Vec<ManifestFile>,
}

#[async_trait::async_trait]
impl ExportSink for ZipSink {
    async fn file(&mut self, file: ExportFile) -> Result<(), PortabilityError> {
        check_path(&file.path)?;
        let path = format!("{}/{}", self.service, file.path);
        if self.listed.iter().any(|f| f.path == path) {
            return Err(PortabilityError::BadPath(path));
        }
        let io = |source| PortabilityError::Io {
            path: path.clone(),
            source,
        };
        self.zip
            .start_file(path.as_str(), options())
            .map_err(|e| io(std::io::Error::other(e)))?;
        let mut hash = Sha256::new();
        let mut size = 0u64;
        match file.body {
            ExportBody::Bytes(b) => {
                hash.update(&b);
                size += b.len() as u64;
                self.zip.write_all(&b).map_err(io)?;
            }
            ExportBody::Stream(mut s) => {
                while let Some(chunk) = s.next().await {
                    let chunk = chunk.map_err(io)?;
                    hash.update(&chunk);
                    size += chunk.len() as u64;
                    self.zip.write_all(&chunk).map_err(io)?;
                }
            }
        }
        self.listed.push(ManifestFile {
            path: path.clone(),
            service: self.service.clone(),
            media_type: file.media_type,
            format: file.format,
            size,
            sha256: hex(&hash.finalize()),
        });
        Ok(())
    }
}

/// Register the export job and the periodic clean-up on the portal's queue.
pub(crate) fn jobs(
    jobs: cartable_socle::jobs::JobsBuilder,
    portability: &Arc<Portability>,
) -> cartable_socle::jobs::JobsBuilder {
    let (build, expire) = (portability.clone(), portability.clone());
    jobs.handler(
        EXPORT_JOB,
        cartable_socle::jobs::handler_fn(move |job| {
            let p = build.clone();
            async move { p.run_export(&job).await }
        }),
    )
    .handler(
        EXPIRE_JOB,
        cartable_socle::jobs::handler_fn(move |_job| {
            let p = expire.clone();
            async move { p.expire().await.map(drop) }
        }),
    )
    .every(EXPIRE_JOB, EXPIRE_EVERY)
}
