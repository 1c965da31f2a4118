//! Application passwords: what a program that syncs on a user's behalf (a CalDAV or
//! CardDAV client on her phone) logs in with, never her ENT password.
//!
//! She creates one on "Mon compte" with a label ("Téléphone"), sees it once, and revokes
//! it there whenever she likes; revoking one leaves her others and her sessions alone.
//!
//! An application password is 256 random bits ([`random_token`](crate::random_token)),
//! not something a person chose: it is stored as its SHA-256 digest, which is enough
//! against a stolen database (nobody can search 2^256 secrets), and cheap enough to check
//! on every request of a client that polls. A slow hash such as argon2 (what the
//! directory uses for chosen passwords) would cost each poll a fraction of a second for
//! nothing; it also lives in the directory's crate, which the socle does not depend on.
//! The digests are compared in constant time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::records::{Records, new_id};
use crate::{Clock, SocleError, Storage};

/// The socle's namespace (in the place of a portlet id) of the application passwords.
pub const NAMESPACE: &str = "cartable-app-passwords";

/// The most application passwords one user keeps at once.
pub const MAX_PER_USER: usize = 20;

/// The longest label, in characters.
pub const MAX_LABEL: usize = 80;

/// One application password, as stored (its digest, never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPassword {
    /// Its identifier (to revoke it).
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// What she called it ("Téléphone", "Thunderbird au CDI").
    pub label: String,
    /// When it was made, in seconds since the Unix epoch.
    pub created: u64,
    /// The SHA-256 of the password, hexadecimal.
    digest: String,
}

/// Why an application password could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AppPasswordError {
    /// The label is empty, too long or has control characters.
    #[error("the label must be 1 to {MAX_LABEL} characters, without control characters")]
    BadLabel,
    /// She already has [`MAX_PER_USER`]: revoke one first.
    #[error("at most {MAX_PER_USER} application passwords per user: revoke one you no longer use")]
    TooMany,
    /// The storage failed.
    #[error(transparent)]
    Socle(#[from] SocleError),
}

/// The application passwords of every user, over the socle's [`Storage`].
#[derive(Clone)]
pub struct AppPasswords {
    records: Arc<Records<AppPassword>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AppPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppPasswords { .. }")
    }
}

fn digest(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl AppPasswords {
    /// The application passwords kept in `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        AppPasswords {
            records: Arc::new(Records::new(storage, NAMESPACE, "app/")),
            clock,
        }
    }

    /// Make a new one for `user`: the record, and the password to show her once (it is
    /// not kept).
    pub async fn create(
        &self,
        user: &str,
        label: &str,
    ) -> Result<(AppPassword, String), AppPasswordError> {
        let label = label.trim();
        if label.is_empty()
            || label.chars().count() > MAX_LABEL
            || label.chars().any(char::is_control)
        {
            return Err(AppPasswordError::BadLabel);
        }
        if self.of(user).await?.len() >= MAX_PER_USER {
            return Err(AppPasswordError::TooMany);
        }
        let secret = crate::random_token();
        let created = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let record = AppPassword {
            id: new_id(),
            user: user.to_string(),
            label: label.to_string(),
            created,
            digest: digest(&secret),
        };
        self.records
            .put(&format!("{}/{}", key_user(user), record.id), &record)
            .await?;
        Ok((record, secret))
    }

    /// Her application passwords, oldest first.
    pub async fn of(&self, user: &str) -> Result<Vec<AppPassword>, SocleError> {
        let mut all: Vec<AppPassword> = self
            .records
            .with_id_prefix(&format!("{}/", key_user(user)))
            .await?
            .into_iter()
            .filter(|p| p.user == user)
            .collect();
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// Revoke one of hers; `false` when she has no such password.
    pub async fn revoke(&self, user: &str, id: &str) -> Result<bool, SocleError> {
        let key = format!("{}/{id}", key_user(user));
        match self.records.get(&key).await? {
            Some(p) if p.user == user => {
                self.records.delete(&key).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Revoke all of hers (account deleted).
    pub async fn revoke_all(&self, user: &str) -> Result<(), SocleError> {
        for p in self.of(user).await? {
            self.revoke(user, &p.id).await?;
        }
        Ok(())
    }

    /// The application password of `user` that `secret` is, if any.
    pub async fn verify(
        &self,
        user: &str,
        secret: &str,
    ) -> Result<Option<AppPassword>, SocleError> {
        if secret.is_empty() || secret.len() > 256 {
            return Ok(None);
        }
        let d = digest(secret);
        Ok(self
            .of(user)
            .await?
            .into_iter()
            .find(|p| same(&p.digest, &d)))
    }

    /// When `p` was made.
    pub fn created_at(p: &AppPassword) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(p.created)
    }
}

/// A user id as a key segment: `/` would split it, so it is escaped.
fn key_user(user: &str) -> String {
    user.replace('%', "%25").replace('/', "%2F")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DbStore, ManualClock};

    async fn passwords() -> AppPasswords {
        let db = cartable_db::Database::sqlite_in_memory().await.unwrap();
        let store = DbStore::open(db).await.unwrap();
        AppPasswords::new(Arc::new(store), Arc::new(ManualClock::new(UNIX_EPOCH)))
    }

    #[tokio::test]
    async fn a_password_is_checked_by_its_digest_and_revoked() {
        let apps = passwords().await;
        let (p, secret) = apps.create("lea", "Téléphone").await.unwrap();
        assert_eq!(secret.len(), 43);
        assert_ne!(p.digest, secret, "the password itself is never stored");
        assert_eq!(apps.verify("lea", &secret).await.unwrap(), Some(p.clone()));
        assert_eq!(apps.verify("lea", "wrong").await.unwrap(), None);
        assert_eq!(
            apps.verify("tom", &secret).await.unwrap(),
            None,
            "another's login"
        );
        let (_, other) = apps.create("lea", "Thunderbird").await.unwrap();
        assert!(
            !apps.revoke("tom", &p.id).await.unwrap(),
            "not his to revoke"
        );
        assert!(apps.revoke("lea", &p.id).await.unwrap());
        assert_eq!(apps.verify("lea", &secret).await.unwrap(), None);
        assert!(
            apps.verify("lea", &other).await.unwrap().is_some(),
            "the other stays"
        );
        assert_eq!(apps.of("lea").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn labels_and_counts_are_bounded() {
        let apps = passwords().await;
        assert!(matches!(
            apps.create("lea", "  ").await,
            Err(AppPasswordError::BadLabel)
        ));
        assert!(matches!(
            apps.create("lea", "a\u{7}b").await,
            Err(AppPasswordError::BadLabel)
        ));
        for i in 0..MAX_PER_USER {
            apps.create("lea", &format!("n{i}")).await.unwrap();
        }
        assert!(matches!(
            apps.create("lea", "one more").await,
            Err(AppPasswordError::TooMany)
        ));
    }

    #[tokio::test]
    async fn user_ids_with_slashes_do_not_mix() {
        let apps = passwords().await;
        let (_, s) = apps.create("a/b", "x").await.unwrap();
        assert!(apps.of("a").await.unwrap().is_empty());
        assert!(apps.verify("a/b", &s).await.unwrap().is_some());
    }
}
