//! The notification service: portlets publish news items ("nouveautés") for users,
//! profiles, groups or everyone, and readers get the newest items meant for them.
//!
//! Two backends: [`MemoryNotifier`] (one node, tests), and the durable one shared by every
//! portal node on the same database, [`DbStore`](crate::DbStore) on SQLite or PostgreSQL
//! (tables `cartable_notifications` and `cartable_notification_targets`).
//!
//! Every backend bounds what [`Notifier::recent`] looks at: only items published in the
//! last [`RECENT_MAX_AGE`] (90 days), and among them only the newest
//! [`RECENT_SCAN_LIMIT`] (5,000) whatever their audience. An older item, or one pushed out
//! by 5,000 newer ones, is no longer shown to anybody.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Person, Profile, SocleError};

/// [`Notifier::recent`] returns nothing published longer ago than this (90 days).
pub const RECENT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// [`Notifier::recent`] looks at most at this many of the newest items (whatever their
/// audience) of the last [`RECENT_MAX_AGE`]; it never scans the whole history.
pub const RECENT_SCAN_LIMIT: usize = 5_000;

/// The longest [`Notification::source`], in bytes.
const MAX_SOURCE_LEN: usize = 128;
/// The longest [`Notification::title`], in characters.
const MAX_TITLE_LEN: usize = 1_000;
/// The longest [`Notification::link`], in bytes.
const MAX_LINK_LEN: usize = 2_048;
/// The longest user, profile or group id in an [`Audience`], in bytes.
const MAX_AUDIENCE_ID_LEN: usize = 256;

/// Who a notification is for.
///
/// Stored as JSON by the durable backends (`"Everyone"`, `{"Users":["lmartin"]}`,
/// `{"Profiles":["eleve"]}`, `{"Groups":["<group id>"]}`): never rename a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Named users.
    Users(Vec<String>),
    /// Everyone holding one of these profiles.
    Profiles(Vec<Profile>),
    /// The members (and owners) of these groups (ids of [`Group`](crate::Group)s).
    Groups(Vec<String>),
    /// Everyone.
    Everyone,
}

impl Audience {
    /// Whether the reader is in the audience.
    pub fn includes(&self, reader: &Reader) -> bool {
        match self {
            Audience::Users(users) => users.contains(&reader.user),
            Audience::Profiles(ps) => ps.iter().any(|p| reader.profiles.contains(p)),
            Audience::Groups(gs) => gs.iter().any(|g| reader.groups.contains(g)),
            Audience::Everyone => true,
        }
    }

    /// The ids the audience names (users, profile names or group ids; none for everyone).
    fn ids(&self) -> Vec<&str> {
        match self {
            Audience::Users(ids) | Audience::Groups(ids) => {
                ids.iter().map(String::as_str).collect()
            }
            Audience::Profiles(ps) => ps.iter().map(Profile::as_str).collect(),
            Audience::Everyone => Vec::new(),
        }
    }
}

/// Who is reading: what [`Notifier::recent`] needs to choose the items meant for her.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reader {
    /// Her user id.
    pub user: String,
    /// Her profiles (directory ones and those delegated to her now).
    pub profiles: Vec<Profile>,
    /// The ids of the active groups she belongs to (see [`Groups::groups_of`](crate::Groups::groups_of)).
    pub groups: Vec<String>,
}

impl Reader {
    /// A reader with these profiles and no group.
    pub fn new(user: impl Into<String>, profiles: impl IntoIterator<Item = Profile>) -> Self {
        Reader {
            user: user.into(),
            profiles: profiles.into_iter().collect(),
            groups: Vec::new(),
        }
    }

    /// A person as reader: her id and profiles, no group.
    pub fn of(person: &Person) -> Self {
        Reader::new(person.id.clone(), person.profiles.iter().cloned())
    }

    /// The same reader, member of these groups.
    pub fn with_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }
}

/// One news item ("nouveauté") published by a portlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The portlet that published it.
    pub source: String,
    /// A one-line title.
    pub title: String,
    /// A portal path to open it, if any.
    pub link: Option<String>,
    /// Who may see it.
    pub audience: Audience,
    /// When it was published.
    pub at: SystemTime,
}

impl Notification {
    /// Refuse an item no backend stores: an empty source or title, a source over 128
    /// bytes, a title over 1,000 characters, a link over 2,048 bytes, an audience id empty
    /// or over 256 bytes, or any of them with control characters (NUL, line breaks…). Every backend
    /// calls it in [`Notifier::publish`], so they all refuse the same items with
    /// [`SocleError::Invalid`].
    pub fn check(&self) -> Result<(), SocleError> {
        fn one_line(what: &str, value: &str) -> Result<(), SocleError> {
            if value.chars().any(char::is_control) {
                return Err(SocleError::Invalid(format!(
                    "the notification's {what} contains a control character (line break, \
                     NUL…); publish one line of text"
                )));
            }
            Ok(())
        }
        if self.source.is_empty() || self.source.len() > MAX_SOURCE_LEN {
            return Err(SocleError::Invalid(format!(
                "a notification's source is the publishing portlet's id, 1 to \
                 {MAX_SOURCE_LEN} bytes (got {} bytes)",
                self.source.len()
            )));
        }
        one_line("source", &self.source)?;
        let title_len = self.title.chars().count();
        if self.title.trim().is_empty() || title_len > MAX_TITLE_LEN {
            return Err(SocleError::Invalid(format!(
                "a notification's title is 1 to {MAX_TITLE_LEN} characters (got {title_len})"
            )));
        }
        one_line("title", &self.title)?;
        if let Some(link) = &self.link {
            if link.is_empty() || link.len() > MAX_LINK_LEN {
                return Err(SocleError::Invalid(format!(
                    "a notification's link is 1 to {MAX_LINK_LEN} bytes, or none (got {} \
                     bytes)",
                    link.len()
                )));
            }
            one_line("link", link)?;
        }
        for id in self.audience.ids() {
            if id.is_empty() || id.len() > MAX_AUDIENCE_ID_LEN {
                return Err(SocleError::Invalid(format!(
                    "an id in a notification's audience is 1 to {MAX_AUDIENCE_ID_LEN} bytes \
                     (got {} bytes)",
                    id.len()
                )));
            }
            one_line("audience", id)?;
        }
        Ok(())
    }
}

/// The oldest publication time [`Notifier::recent`] returns at `now`.
pub fn recent_cutoff(now: SystemTime) -> SystemTime {
    now.checked_sub(RECENT_MAX_AGE)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The notification service.
///
/// Several portal nodes share a durable notifier (SQLite file, PostgreSQL): an item
/// published on one node is read on every other.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Publish an item; [`SocleError::Invalid`] if [`Notification::check`] refuses it.
    async fn publish(&self, item: Notification) -> Result<(), SocleError>;

    /// At most `limit` of the items meant for the reader, newest first (by
    /// [`Notification::at`], then the later published first), among the newest
    /// [`RECENT_SCAN_LIMIT`] items of the last [`RECENT_MAX_AGE`].
    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError>;

    /// Delete the items published before `cutoff` and say how many went (the portal's
    /// periodic job passes [`recent_cutoff`], beyond which no reader sees them). Backends
    /// that keep a bounded number of items (as [`MemoryNotifier`]) keep the default,
    /// which deletes nothing.
    async fn purge_before(&self, cutoff: SystemTime) -> Result<u64, SocleError> {
        let _ = cutoff;
        Ok(0)
    }
}

/// The e-mail digest ("résumé des nouveautés" by e-mail), a socle concept: who opted in,
/// and where each user's digests stand.
///
/// The socle keeps it in its own namespace of the [`Storage`](crate::Storage) data,
/// [`NAMESPACE`](digest::NAMESPACE), not in a portlet's data. The service offering the opt-in (the annonces
/// window) and the sender (`cartable-mail`) both go through [`DigestOptIns`](digest::DigestOptIns); the keys
/// below are public for tests and tools.
///
/// Before it was the socle's, the same keys lived in the data of the news portlet
/// ([`legacy::NAMESPACE`](digest::legacy::NAMESPACE)), where the annonces window still writes them until the
/// portlet context hands portlets a [`DigestOptIns`](digest::DigestOptIns). That location is still read, as a fallback, so existing users'
/// opt-ins and markers stay in force without a migration step: a user is opted in when
/// either location says so, listed when either index lists her, and her digests start from
/// the later of the two markers. Markers are written to [`NAMESPACE`](digest::NAMESPACE) only; opting out
/// clears both locations.
pub mod digest {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Serialize};

    use crate::{DataScope, SocleError, Storage, Version, Versioned};

    /// The socle's namespace (in the place of a portlet id) holding the digest state.
    pub const NAMESPACE: &str = "cartable-digest";
    /// User scope: [`OPTED_IN`] when she wants the digest; missing otherwise.
    pub const OPT_IN_KEY: &str = "digest";
    /// The value of [`OPT_IN_KEY`] of a user who opted in.
    pub const OPTED_IN: &[u8] = b"oui";
    /// Shared scope: one key `<prefix><user id>` per user who opted in (value
    /// [`OPTED_IN`]), so the sender lists them without scanning every user. One key per
    /// user: two users opting in at once never overwrite each other. The sender checks
    /// [`OPT_IN_KEY`] too, and forgets index keys of users who no longer opted in.
    pub const INDEX_PREFIX: &str = "digest-users/";
    /// User scope: the digest sender's [`Marker`] (JSON), set to "now" on opt-in so that
    /// the first digest holds what is new since.
    pub const MARKER_KEY: &str = "digest-last";

    /// Where the digest state lived before it was the socle's: the same keys, in the data
    /// of the news portlet. Read as a fallback (see the [module](super::digest)
    /// documentation); the socle writes there only to clear it.
    pub mod legacy {
        /// The data namespace (the portlet id `nouveautes`) of the old location.
        pub const NAMESPACE: &str = "nouveautes";
    }

    /// The shared index key of a user.
    pub fn index_key(user: &str) -> String {
        format!("{INDEX_PREFIX}{user}")
    }

    /// Where a user's digests stand, stored under [`MARKER_KEY`]. Senders on several
    /// nodes claim a user's digest by writing it with a versioned conditional write
    /// ([`DigestOptIns::set_marker_if`]): the node whose write succeeds sends it, the
    /// others get a conflict and skip her.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Marker {
        /// The end of the period the last digest covered (Unix seconds): the next one
        /// lists what was published after it.
        pub last: u64,
        /// While a node sends her digest: until when its claim holds (Unix seconds). A
        /// claim past this time was abandoned (the node stopped) and may be taken over.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub claimed_until: Option<u64>,
    }

    impl Marker {
        /// A marker saying that everything until `t` was sent (or need not be).
        pub fn at(t: SystemTime) -> Self {
            Marker {
                last: unix_seconds(t),
                claimed_until: None,
            }
        }

        /// [`Marker::last`] as a time.
        pub fn last_time(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.last)
        }

        /// The stored form.
        pub fn to_json(&self) -> Vec<u8> {
            // A struct of two numbers always serializes.
            serde_json::to_vec(self).unwrap_or_default()
        }

        /// Read a stored marker; `None` if it is not one.
        pub fn parse(bytes: &[u8]) -> Option<Self> {
            serde_json::from_slice(bytes).ok()
        }
    }

    /// Whole seconds since the Unix epoch (0 before it).
    pub fn unix_seconds(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    /// The digest opt-ins and markers, over the portal's storage. Cheap to clone.
    ///
    /// A user's own opt-in key is the truth, the shared index lets the sender find her:
    /// written after it on opt-in, removed after it on opt-out, so an interrupted change
    /// never mails someone who opted out.
    #[derive(Clone)]
    pub struct DigestOptIns {
        storage: Arc<dyn Storage>,
    }

    impl std::fmt::Debug for DigestOptIns {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("DigestOptIns").finish_non_exhaustive()
        }
    }

    fn user(id: &str) -> DataScope {
        DataScope::User(id.to_string())
    }

    impl DigestOptIns {
        /// The digest state kept in `storage`.
        pub fn new(storage: Arc<dyn Storage>) -> Self {
            DigestOptIns { storage }
        }

        /// Whether `user` opted in (in [`NAMESPACE`], or in the [`legacy`] location).
        pub async fn is_opted_in(&self, user_id: &str) -> Result<bool, SocleError> {
            for namespace in [NAMESPACE, legacy::NAMESPACE] {
                let value = self
                    .storage
                    .data(namespace, &user(user_id), OPT_IN_KEY)
                    .await?;
                if value.as_deref() == Some(OPTED_IN) {
                    return Ok(true);
                }
            }
            Ok(false)
        }

        /// Opt `user` in at `now`: her first digest lists what is published after `now`.
        /// Opting in again changes nothing (nothing is sent twice, nothing is lost); a
        /// marker written meanwhile by another of her sessions or by the sender is kept.
        pub async fn opt_in(&self, user_id: &str, now: SystemTime) -> Result<(), SocleError> {
            let scope = user(user_id);
            // The marker's version is read first: if another of her sessions opting in,
            // or the sender, writes it meanwhile, theirs is kept rather than overwritten.
            let marker = self
                .storage
                .data_versioned(NAMESPACE, &scope, MARKER_KEY)
                .await?;
            if !self.is_opted_in(user_id).await? {
                match self
                    .storage
                    .set_data_if(
                        NAMESPACE,
                        &scope,
                        MARKER_KEY,
                        &Marker::at(now).to_json(),
                        marker.version,
                    )
                    .await
                {
                    Ok(_) | Err(SocleError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            self.storage
                .set_data(NAMESPACE, &scope, OPT_IN_KEY, OPTED_IN)
                .await?;
            self.storage
                .set_data(NAMESPACE, &DataScope::Shared, &index_key(user_id), OPTED_IN)
                .await
        }

        /// Opt `user` out, in both locations; a new opt-in starts afresh.
        pub async fn opt_out(&self, user_id: &str) -> Result<(), SocleError> {
            let scope = user(user_id);
            for namespace in [NAMESPACE, legacy::NAMESPACE] {
                self.storage
                    .delete_data(namespace, &scope, OPT_IN_KEY)
                    .await?;
            }
            for namespace in [NAMESPACE, legacy::NAMESPACE] {
                self.storage
                    .delete_data(namespace, &scope, MARKER_KEY)
                    .await?;
            }
            self.forget(user_id).await
        }

        /// The users the index lists (both locations), sorted. It may list a user who
        /// opted out meanwhile: check [`is_opted_in`](Self::is_opted_in), and
        /// [`forget`](Self::forget) the others.
        pub async fn opted_in_users(&self) -> Result<Vec<String>, SocleError> {
            let mut users = Vec::new();
            for namespace in [NAMESPACE, legacy::NAMESPACE] {
                let keys = self
                    .storage
                    .data_keys(namespace, &DataScope::Shared, INDEX_PREFIX)
                    .await?;
                users.extend(
                    keys.iter()
                        .filter_map(|k| k.strip_prefix(INDEX_PREFIX))
                        .filter(|u| !u.is_empty())
                        .map(str::to_string),
                );
            }
            users.sort();
            users.dedup();
            Ok(users)
        }

        /// Remove `user` from the index (both locations), leaving her opt-in key alone:
        /// for an index key left behind by an interrupted opt-out.
        pub async fn forget(&self, user_id: &str) -> Result<(), SocleError> {
            for namespace in [NAMESPACE, legacy::NAMESPACE] {
                self.storage
                    .delete_data(namespace, &DataScope::Shared, &index_key(user_id))
                    .await?;
            }
            Ok(())
        }

        /// Where her digests stand, with the version to claim them with
        /// ([`set_marker_if`](Self::set_marker_if)); `None` before her first digest.
        ///
        /// With a marker in the [`legacy`] location too, her digests start from the later
        /// of the two. An unreadable marker is logged and read as none (her digests start
        /// afresh); its version is kept, so a conditional write replaces it.
        pub async fn marker(&self, user_id: &str) -> Result<Versioned<Option<Marker>>, SocleError> {
            let scope = user(user_id);
            let stored = self
                .storage
                .data_versioned(NAMESPACE, &scope, MARKER_KEY)
                .await?;
            let current = match stored.value.as_deref().map(Marker::parse) {
                None => None,
                Some(Some(marker)) => Some(marker),
                Some(None) => {
                    tracing::warn!(user = %user_id, "unreadable digest marker; starting her digests afresh");
                    None
                }
            };
            let old = self
                .storage
                .data(legacy::NAMESPACE, &scope, MARKER_KEY)
                .await?
                .and_then(|bytes| Marker::parse(&bytes));
            let value = match (current, old) {
                (current, None) => current,
                (None, Some(old)) => Some(old),
                (Some(current), Some(old)) => Some(Marker {
                    last: current.last.max(old.last),
                    claimed_until: current.claimed_until,
                }),
            };
            Ok(Versioned {
                value,
                version: stored.version,
            })
        }

        /// Write her marker only if it is still at `expected` (the version
        /// [`marker`](Self::marker) gave, or one this method returned); otherwise
        /// [`SocleError::Conflict`] and nothing is written.
        pub async fn set_marker_if(
            &self,
            user_id: &str,
            marker: &Marker,
            expected: Version,
        ) -> Result<Version, SocleError> {
            self.storage
                .set_data_if(
                    NAMESPACE,
                    &user(user_id),
                    MARKER_KEY,
                    &marker.to_json(),
                    expected,
                )
                .await
        }
    }
}

/// An in-process notifier keeping the newest items in memory (one portal node, tests).
#[derive(Debug)]
pub struct MemoryNotifier {
    items: Mutex<Vec<Notification>>,
    capacity: usize,
}

impl MemoryNotifier {
    /// A notifier that keeps at most `capacity` items (the last published).
    pub fn new(capacity: usize) -> Self {
        MemoryNotifier {
            items: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for MemoryNotifier {
    fn default() -> Self {
        MemoryNotifier::new(1000)
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        item.check()?;
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.push(item);
        if items.len() > self.capacity {
            let excess = items.len() - self.capacity;
            items.drain(..excess);
        }
        Ok(())
    }

    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError> {
        let cutoff = recent_cutoff(SystemTime::now());
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        // (at, publication order), newest first.
        let mut newest: Vec<(usize, &Notification)> = items
            .iter()
            .enumerate()
            .filter(|(_, n)| n.at >= cutoff)
            .collect();
        newest.sort_by(|(i, a), (j, b)| b.at.cmp(&a.at).then(j.cmp(i)));
        Ok(newest
            .into_iter()
            .take(RECENT_SCAN_LIMIT)
            .map(|(_, n)| n)
            .filter(|n| n.audience.includes(reader))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, audience: Audience) -> Notification {
        Notification {
            source: "test".into(),
            title: title.into(),
            link: None,
            audience,
            at: SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn users_see_only_their_items_newest_first() {
        let n = MemoryNotifier::new(10);
        n.publish(item("all", Audience::Everyone)).await.unwrap();
        n.publish(item("profs", Audience::Profiles(vec![Profile::Enseignant])))
            .await
            .unwrap();
        n.publish(item("lea", Audience::Users(vec!["lea".into()])))
            .await
            .unwrap();
        n.publish(item("club", Audience::Groups(vec!["g1".into()])))
            .await
            .unwrap();
        let lea = Reader::new("lea", [Profile::Eleve]);
        let titles = |items: Vec<Notification>| -> Vec<String> {
            items.into_iter().map(|n| n.title).collect()
        };
        assert_eq!(titles(n.recent(&lea, 10).await.unwrap()), ["lea", "all"]);
        assert_eq!(
            titles(
                n.recent(&lea.clone().with_groups(["g1"]), 10)
                    .await
                    .unwrap()
            ),
            ["club", "lea", "all"]
        );
        let prof = n
            .recent(&Reader::new("prof", [Profile::Enseignant]), 1)
            .await
            .unwrap();
        assert_eq!(prof[0].title, "profs");
    }

    #[tokio::test]
    async fn capacity_drops_oldest() {
        let n = MemoryNotifier::new(2);
        for t in ["a", "b", "c"] {
            n.publish(item(t, Audience::Everyone)).await.unwrap();
        }
        let all = n.recent(&Reader::new("x", []), 10).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].title, "b");
    }

    #[test]
    fn bad_items_are_refused() {
        let good = item("ok", Audience::Users(vec!["lea".into()]));
        good.check().unwrap();
        let mut bad = Vec::new();
        let mut n = good.clone();
        n.title = "deux\nlignes".into();
        bad.push(n);
        let mut n = good.clone();
        n.title = " ".into();
        bad.push(n);
        let mut n = good.clone();
        n.source = String::new();
        bad.push(n);
        let mut n = good.clone();
        n.link = Some("/a\0".into());
        bad.push(n);
        let mut n = good.clone();
        n.audience = Audience::Groups(vec![String::new()]);
        bad.push(n);
        let mut n = good;
        n.title = "é".repeat(MAX_TITLE_LEN + 1);
        bad.push(n);
        for n in bad {
            assert!(matches!(n.check(), Err(SocleError::Invalid(_))), "{n:?}");
        }
    }

    #[test]
    fn audience_json_is_stable() {
        let json = |a: &Audience| serde_json::to_string(a).unwrap();
        assert_eq!(json(&Audience::Everyone), r#""Everyone""#);
        assert_eq!(
            json(&Audience::Profiles(vec![Profile::Eleve])),
            r#"{"Profiles":["eleve"]}"#
        );
        assert_eq!(
            json(&Audience::Groups(vec!["g".into()])),
            r#"{"Groups":["g"]}"#
        );
        assert_eq!(
            json(&Audience::Users(vec!["u".into()])),
            r#"{"Users":["u"]}"#
        );
    }
}
