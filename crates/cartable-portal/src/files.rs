//! Where the socle's file store keeps the files' bytes: the `[files]` section.
//!
//! ```toml
//! [files]
//! store = "local"            # the default: <data_dir>/files, or `dir`
//!
//! # Several nodes share an S3-compatible bucket (the `s3` cargo feature):
//! [files]
//! store = "s3"
//! [files.s3]
//! bucket = "ent-fichiers"
//! region = "fr-par"
//! endpoint = "https://s3.fr-par.scw.cloud"   # MinIO, Garage, Scaleway, OVH… (AWS: none)
//! access_key_id = "SCW…"
//! secret_access_key_env = "CARTABLE_S3_SECRET"  # read at start; or secret_access_key = "…"
//! prefix = "lycee-hugo"      # établissements sharing the bucket each get their own
//! # allow_http = true        # a local MinIO on http://127.0.0.1:9000
//! ```
//!
//! Without `access_key_id`, the standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT`… variables are read (`AmazonS3Builder::from_env`).
//! The S3 store is built without any network call: a wrong endpoint or credentials show
//! at the first upload (and on `/admin`'s failed jobs, through the reclaim job). The tests
//! check the configuration and the store built from it; none talks to a live S3 (the
//! machines that run them have no network).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cartable_db::Database;
use cartable_socle::files::object_store::ObjectStore;
use cartable_socle::{Clock, FileError, FileStore};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Where the files' bytes are kept (`[files]`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// `local`: on this node's disk, under `dir`; `s3`: in an S3-compatible bucket
    /// (`[files.s3]`), which several nodes share (needs the `s3` cargo feature).
    #[serde(default)]
    pub store: StoreKind,
    /// The directory of the `local` store, relative to the configuration file (default:
    /// `files` in `data_dir`).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The bucket of the `s3` store.
    #[serde(default)]
    pub s3: Option<S3Config>,
}

/// The kind of store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// This node's disk.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3,
}

/// An S3-compatible bucket (`[files.s3]`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket's name.
    pub bucket: String,
    /// Its region (`eu-west-3`, `fr-par`…; default: `AWS_DEFAULT_REGION`, else
    /// `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// The service's URL, for a store other than AWS (MinIO, Garage, Scaleway, OVH…).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub endpoint: Option<url::Url>,
    /// The access key's id (default: `AWS_ACCESS_KEY_ID`).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The secret access key, written here (prefer `secret_access_key_env`).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// The name of the environment variable that holds the secret access key, read at
    /// start (the secret stays out of the file).
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// Accept an `http://` endpoint (a MinIO on the same host or network); off by
    /// default: credentials never travel unencrypted by mistake.
    #[serde(default)]
    pub allow_http: bool,
    /// A key prefix for this établissement's files (`lycee-hugo`), so that several
    /// établissements share one bucket without seeing each other's objects.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl FilesConfig {
    /// Check the section; relative paths are taken from `base`.
    pub(crate) fn finish(&mut self, base: &Path) -> Result<(), ConfigError> {
        if let Some(dir) = self.dir.as_mut()
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
        match (self.store, &self.s3) {
            (StoreKind::Local, Some(_)) => Err(invalid(
                "[files.s3] is given but store = \"local\": set store = \"s3\" to use the \
                 bucket, or remove [files.s3]",
            )),
            (StoreKind::S3, None) => Err(invalid(
                "store = \"s3\" needs a [files.s3] section with at least bucket = \"…\"",
            )),
            (StoreKind::S3, Some(s3)) => {
                if self.dir.is_some() {
                    return Err(invalid(
                        "dir is the local store's directory: remove it with store = \"s3\"",
                    ));
                }
                // Without the `s3` feature, the portal refuses to start (`file_store`),
                // naming the feature.
                s3.check()
            }
            (StoreKind::Local, None) => Ok(()),
        }
    }

    /// The directory of the local store.
    pub fn local_dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("files"))
    }

    /// The object store this section names (`local`: its directory is created).
    pub fn object_store(&self, data_dir: &Path) -> Result<Arc<dyn ObjectStore>, FileError> {
        match (self.store, &self.s3) {
            (StoreKind::S3, Some(s3)) => s3.object_store(),
            _ => {
                let dir = self.local_dir(data_dir);
                std::fs::create_dir_all(&dir).map_err(|source| FileError::Directory {
                    dir: dir.clone(),
                    source,
                })?;
                let local =
                    cartable_socle::files::object_store::local::LocalFileSystem::new_with_prefix(
                        &dir,
                    )?;
                Ok(Arc::new(local))
            }
        }
    }
}

impl S3Config {
    fn check(&self) -> Result<(), ConfigError> {
        let bucket_ok = (3..=63).contains(&self.bucket.len())
            && self
                .bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(invalid(&format!(
                "[files.s3] bucket = {:?}: a bucket name has 3 to 63 lower-case letters, \
                 digits, '-' or '.'",
                self.bucket
            )));
        }
        if self.secret_access_key.is_some() && self.secret_access_key_env.is_some() {
            return Err(invalid(
                "[files.s3] give secret_access_key or secret_access_key_env, not both",
            ));
        }
        let has_secret = self.secret_access_key.is_some() || self.secret_access_key_env.is_some();
        if self.access_key_id.is_some() != has_secret {
            return Err(invalid(
                "[files.s3] access_key_id and a secret (secret_access_key or \
                 secret_access_key_env) go together; give both, or neither to read \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            match endpoint.scheme() {
                "https" => {}
                "http" if self.allow_http => {}
                "http" => {
                    return Err(invalid(&format!(
                        "[files.s3] endpoint = \"{endpoint}\" is plain HTTP: use https://, or \
                         set allow_http = true for a store on a trusted network (a local MinIO)"
                    )));
                }
                other => {
                    return Err(invalid(&format!(
                        "[files.s3] endpoint = \"{endpoint}\": the scheme must be https (or \
                         http with allow_http), not {other:?}"
                    )));
                }
            }
        }
        if let Some(prefix) = &self.prefix {
            let ok = !prefix.is_empty()
                && prefix.split('/').all(|segment| {
                    !segment.is_empty()
                        && segment != "."
                        && segment != ".."
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                });
            if !ok {
                return Err(invalid(&format!(
                    "[files.s3] prefix = {prefix:?}: use segments of letters, digits, '-', '_' \
                     and '.' separated by '/', such as \"lycee-hugo\""
                )));
            }
        }
        Ok(())
    }

    /// The secret access key: written, or read from the variable named.
    fn secret(&self) -> Result<Option<String>, FileError> {
        match (&self.secret_access_key, &self.secret_access_key_env) {
            (Some(secret), _) => Ok(Some(secret.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(secret) if !secret.is_empty() => Ok(Some(secret)),
                _ => Err(FileError::Invalid(format!(
                    "[files.s3] secret_access_key_env names {var}, which is not set: set it to \
                     the bucket's secret access key before starting the portal"
                ))),
            },
            (None, None) => Ok(None),
        }
    }

    /// The bucket as an object store (no network call), under its prefix.
    #[cfg(feature = "s3")]
    fn object_store(&self) -> Result<Arc<dyn ObjectStore>, FileError> {
        use cartable_socle::files::object_store::aws::AmazonS3Builder;
        use cartable_socle::files::object_store::prefix::PrefixStore;

        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_allow_http(self.allow_http);
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
        }
        if let Some(id) = &self.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = self.secret()? {
            builder = builder.with_secret_access_key(secret);
        }
        let bucket = builder.build()?;
        Ok(match &self.prefix {
            Some(prefix) => Arc::new(PrefixStore::new(bucket, prefix.as_str())),
            None => Arc::new(bucket),
        })
    }

    #[cfg(not(feature = "s3"))]
    fn object_store(&self) -> Result<Arc<dyn ObjectStore>, FileError> {
        // Read the secret all the same, so that a missing variable says so first.
        self.secret()?;
        Err(FileError::Invalid(
            "[files] store = \"s3\" needs the `s3` cargo feature of the cartable crate: \
             build with --features s3, or use store = \"local\""
                .into(),
        ))
    }
}

fn invalid(message: &str) -> ConfigError {
    ConfigError::Invalid(format!(
        "[files] {}",
        message.trim_start_matches("[files] ")
    ))
}

/// The établissement's file store as `[files]` says: on `db`, its bytes in the local
/// directory or the S3 bucket. What the portal's builder calls at start.
pub fn file_store(
    files: &FilesConfig,
    data_dir: &Path,
    db: Database,
    clock: Arc<dyn Clock>,
) -> Result<FileStore, FileError> {
    match files.store {
        StoreKind::Local => FileStore::local(db, &files.local_dir(data_dir), clock),
        StoreKind::S3 => Ok(FileStore::new(db, files.object_store(data_dir)?, clock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn parse(toml: &str) -> Result<Config, ConfigError> {
        Config::from_toml(toml, Path::new("/etc/cartable"))
    }

    #[test]
    fn local_by_default_and_relative_dirs_rebased() {
        let c = parse("").unwrap();
        assert_eq!(c.files.store, StoreKind::Local);
        assert_eq!(
            c.files.local_dir(Path::new("/var/lib/cartable")),
            Path::new("/var/lib/cartable/files")
        );
        let c = parse("[files]\ndir = \"blobs\"\n").unwrap();
        assert_eq!(
            c.files.local_dir(Path::new("/x")),
            Path::new("/etc/cartable/blobs")
        );
    }

    #[test]
    fn s3_sections_are_checked_with_messages_that_say_what_to_do() {
        let refused = |toml: &str, needle: &str| {
            let e = parse(toml).unwrap_err().to_string();
            assert!(e.contains(needle), "{toml}\n→ {e}");
        };
        refused("[files]\nstore = \"s3\"\n", "needs a [files.s3] section");
        refused(
            "[files.s3]\nbucket = \"ent\"\n",
            "set store = \"s3\" to use the bucket",
        );
        refused("[files]\nstore = \"ftp\"\n", "unknown variant");
        refused(
            "[files]\nstore = \"s3\"\n[files.s3]\nbuckett = \"ent\"\n",
            "unknown field",
        );
        {
            refused(
                "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"Mon_Bucket\"\n",
                "3 to 63 lower-case",
            );
            refused(
                "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent\"\nendpoint = \"http://127.0.0.1:9000\"\n",
                "allow_http = true",
            );
            refused(
                "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent\"\naccess_key_id = \"AK\"\n",
                "go together",
            );
            refused(
                "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent\"\nsecret_access_key = \"a\"\nsecret_access_key_env = \"B\"\naccess_key_id = \"AK\"\n",
                "not both",
            );
            refused(
                "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent\"\nprefix = \"../autre\"\n",
                "prefix",
            );
            refused(
                "[files]\nstore = \"s3\"\ndir = \"x\"\n[files.s3]\nbucket = \"ent\"\n",
                "remove it",
            );
        }
    }

    #[cfg(not(feature = "s3"))]
    #[tokio::test]
    async fn without_the_feature_an_s3_store_is_refused_at_start_naming_it() {
        let c = parse("[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent\"\n").unwrap();
        let db = Database::sqlite_in_memory().await.unwrap();
        let e = file_store(
            &c.files,
            Path::new("/x"),
            db,
            Arc::new(cartable_socle::SystemClock),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("`s3` cargo feature"), "{e}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn a_minio_bucket_builds_under_its_prefix_without_a_network_call() {
        let c = parse(
            "[files]\nstore = \"s3\"\n[files.s3]\nbucket = \"ent-fichiers\"\nregion = \"fr-par\"\n\
             endpoint = \"http://127.0.0.1:9000\"\nallow_http = true\naccess_key_id = \"minio\"\n\
             secret_access_key_env = \"CARTABLE_TEST_S3_SECRET_UNSET\"\nprefix = \"lycee-hugo\"\n",
        )
        .unwrap();
        // The secret's variable is not set: the build says which one.
        let e = c
            .files
            .object_store(Path::new("/x"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("CARTABLE_TEST_S3_SECRET_UNSET"), "{e}");
        let mut files = c.files.clone();
        if let Some(s3) = files.s3.as_mut() {
            s3.secret_access_key_env = None;
            s3.secret_access_key = Some("minio-secret".into());
        }
        let store = files.object_store(Path::new("/x")).unwrap();
        assert_eq!(store.to_string(), "PrefixObjectStore(lycee-hugo)");
    }

    #[tokio::test]
    async fn the_local_store_lives_in_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        let c = parse(&format!("[files]\ndir = {blobs:?}\n")).unwrap();
        let db = Database::sqlite_in_memory().await.unwrap();
        file_store(
            &c.files,
            dir.path(),
            db,
            Arc::new(cartable_socle::SystemClock),
        )
        .unwrap();
        assert!(blobs.is_dir(), "created at start");
        let store = c.files.object_store(dir.path()).unwrap();
        assert!(store.to_string().starts_with("LocalFileSystem("), "{store}");
    }
}
