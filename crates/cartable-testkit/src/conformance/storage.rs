//! The storage conformance suite: the checks every [`Storage`] and [`SessionStore`]
//! backend must pass, so the portal behaves the same on SQLite, PostgreSQL or anything
//! else.
//!
//! A backend author opens an empty store and calls [`check_storage`] from a test (it
//! panics with a message naming the failed check), or calls the `check_*` functions one
//! by one from separate tests. Each check works on its own users, windows and portlets
//! (named after the check), so the checks may run one after the other or at the same time
//! on one store, but the store must not hold anything else under those names.
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! let store = Arc::new(cartable_socle::DbStore::in_memory().await.unwrap());
//! cartable_testkit::conformance::check_storage(store.clone(), store).await;
//! # }
//! ```
//!
//! What is checked: every method of both traits, the literal prefix of
//! [`Storage::data_keys`] and its binary order, unicode and large values (a 1 MiB layout,
//! 2 MiB of binary data), [`Storage::delete_user`] forgetting only that user, the
//! versioned reads and conditional writes ([`Version`], [`SocleError::Conflict`]), and
//! concurrent writers on spawned tasks: of two writers on the same version exactly one
//! wins, and counters incremented by read–modify–write loops lose no update.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cartable_socle::{DataScope, Session, SessionStore, SocleError, Storage, Version, Versioned};
use tokio::sync::Barrier;

/// The longest data key every backend accepts, in bytes.
pub const MAX_DATA_KEY_LEN: usize = 512;

/// Run every check of this suite on an empty store.
///
/// `storage` and `sessions` are usually the same backend seen through both traits.
pub async fn check_storage(storage: Arc<dyn Storage>, sessions: Arc<dyn SessionStore>) {
    check_preferences(&*storage).await;
    check_layouts(&*storage).await;
    check_data(&*storage).await;
    check_data_keys(&*storage).await;
    check_large_values(&*storage).await;
    check_delete_user(&*storage, &*sessions).await;
    check_versioned_preferences(&*storage).await;
    check_versioned_layouts(&*storage).await;
    check_versioned_data(&*storage).await;
    check_concurrent_writers(Arc::clone(&storage)).await;
    check_sessions(&*sessions).await;
}

/// Unwrap a storage result, naming the call that failed.
#[track_caller]
fn ok<T>(result: Result<T, SocleError>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

/// Check that a result is the given error kind.
#[track_caller]
fn assert_invalid<T: Debug>(result: Result<T, SocleError>, what: &str) {
    match result {
        Err(SocleError::Invalid(_)) => {}
        other => panic!("{what}: expected SocleError::Invalid, got {other:?}"),
    }
}

/// Check that a conditional write was refused as a conflict, with a useful message.
#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, SocleError>, what: &str) {
    match result {
        Err(e @ SocleError::Conflict { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("reload"),
                "{what}: a conflict must tell to reload and try again: {message}"
            );
        }
        other => panic!("{what}: expected SocleError::Conflict, got {other:?}"),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn user(name: &str) -> DataScope {
    DataScope::User(name.into())
}

/// Preferences: round trip, replacement (not merge), separation of users and windows,
/// deletion by an empty map, unicode.
pub async fn check_preferences(s: &dyn Storage) {
    let (lea, theo) = ("prefs-lea", "prefs-théo");
    assert!(
        ok(s.preferences(lea, "w1").await, "preferences").is_empty(),
        "a user without preferences has an empty map"
    );
    let values = map(&[
        ("color", "blue"),
        ("rows", "10"),
        ("clé é", "valeur ✓ 日本語 🎒"),
        ("quote\"\\", "line\nbreak\ttab \u{0} nul"),
        ("empty", ""),
    ]);
    ok(
        s.set_preferences(lea, "w1", &values).await,
        "set_preferences",
    );
    assert_eq!(ok(s.preferences(lea, "w1").await, "preferences"), values);
    assert!(
        ok(s.preferences(lea, "w2").await, "preferences").is_empty(),
        "windows are separate"
    );
    assert!(
        ok(s.preferences(theo, "w1").await, "preferences").is_empty(),
        "users are separate"
    );

    let replaced = map(&[("rows", "5")]);
    ok(
        s.set_preferences(lea, "w1", &replaced).await,
        "set_preferences",
    );
    assert_eq!(
        ok(s.preferences(lea, "w1").await, "preferences"),
        replaced,
        "set_preferences replaces the whole map"
    );

    let unicode = map(&[("titre", "Élève de 2nde ✓")]);
    ok(
        s.set_preferences(theo, "fenêtre-✓", &unicode).await,
        "set_preferences (unicode user and window)",
    );
    assert_eq!(
        ok(s.preferences(theo, "fenêtre-✓").await, "preferences"),
        unicode
    );

    ok(
        s.set_preferences(lea, "w1", &BTreeMap::new()).await,
        "set_preferences (empty)",
    );
    assert!(
        ok(s.preferences(lea, "w1").await, "preferences").is_empty(),
        "an empty map deletes the preferences"
    );
    ok(
        s.set_preferences(lea, "w1", &BTreeMap::new()).await,
        "set_preferences (empty, again)",
    );
    assert_eq!(
        ok(s.preferences(theo, "fenêtre-✓").await, "preferences"),
        unicode,
        "another user's preferences are untouched"
    );
}

/// Layouts: round trip (the JSON text is kept as written), replacement, reset, refusal
/// of text that is not JSON.
pub async fn check_layouts(s: &dyn Storage) {
    let (lea, theo) = ("layout-lea", "layout-théo");
    assert_eq!(ok(s.layout(lea).await, "layout"), None);
    let first = r#"{"columns": [["a", "b"]], "titre": "Élève ✓"}"#;
    ok(s.set_layout(lea, first).await, "set_layout");
    assert_eq!(
        ok(s.layout(lea).await, "layout").as_deref(),
        Some(first),
        "the layout comes back as the exact text written"
    );
    let second = r#"{"columns":[]}"#;
    ok(s.set_layout(lea, second).await, "set_layout");
    assert_eq!(ok(s.layout(lea).await, "layout").as_deref(), Some(second));
    assert_eq!(
        ok(s.layout(theo).await, "layout"),
        None,
        "users are separate"
    );
    ok(s.set_layout(theo, "[]").await, "set_layout");

    ok(s.reset_layout(lea).await, "reset_layout");
    assert_eq!(ok(s.layout(lea).await, "layout"), None);
    ok(s.reset_layout(lea).await, "reset_layout (nothing to reset)");
    assert_eq!(
        ok(s.layout(theo).await, "layout").as_deref(),
        Some("[]"),
        "resetting one layout leaves the others"
    );
    assert_invalid(s.set_layout(lea, "{oops").await, "set_layout of non-JSON");
    assert_invalid(s.set_layout(lea, "").await, "set_layout of an empty text");
    assert_eq!(
        ok(s.layout(lea).await, "layout"),
        None,
        "a refused layout is not stored"
    );
}

/// Portlet data: round trip of bytes (NUL, empty), separation of scopes and portlets,
/// deletion, key validation.
pub async fn check_data(s: &dyn Storage) {
    let lea = user("data-lea");
    let theo = user("data-théo");
    let shared = DataScope::Shared;
    assert_eq!(ok(s.data("notes", &lea, "n1").await, "data"), None);
    ok(
        s.set_data("notes", &lea, "n1", b"hello\0world").await,
        "set_data",
    );
    assert_eq!(
        ok(s.data("notes", &lea, "n1").await, "data").as_deref(),
        Some(&b"hello\0world"[..])
    );
    ok(
        s.set_data("notes", &lea, "n1", b"").await,
        "set_data (empty)",
    );
    assert_eq!(
        ok(s.data("notes", &lea, "n1").await, "data"),
        Some(vec![]),
        "an empty value is stored, not deleted"
    );
    assert_eq!(
        ok(s.data("notes", &theo, "n1").await, "data"),
        None,
        "scopes are separate"
    );
    assert_eq!(
        ok(s.data("notes", &shared, "n1").await, "data"),
        None,
        "a user's scope is not the shared scope"
    );
    assert_eq!(
        ok(s.data("other", &lea, "n1").await, "data"),
        None,
        "portlets are separate"
    );
    ok(
        s.set_data("notes", &shared, "n1", b"shared").await,
        "set_data",
    );
    assert_eq!(
        ok(s.data("notes", &shared, "n1").await, "data"),
        Some(b"shared".to_vec())
    );
    let unicode_key = "clé/✓ 日本";
    ok(
        s.set_data("notes", &theo, unicode_key, "Été ✓".as_bytes())
            .await,
        "set_data (unicode key)",
    );
    assert_eq!(
        ok(s.data("notes", &theo, unicode_key).await, "data"),
        Some("Été ✓".as_bytes().to_vec())
    );

    ok(s.delete_data("notes", &lea, "n1").await, "delete_data");
    assert_eq!(ok(s.data("notes", &lea, "n1").await, "data"), None);
    ok(
        s.delete_data("notes", &lea, "n1").await,
        "delete_data of a missing key",
    );
    assert_eq!(
        ok(s.data("notes", &shared, "n1").await, "data"),
        Some(b"shared".to_vec()),
        "deleting in one scope leaves the others"
    );

    let long = "k".repeat(MAX_DATA_KEY_LEN + 1);
    assert_invalid(s.set_data("notes", &lea, "", b"x").await, "empty key");
    assert_invalid(s.set_data("notes", &lea, &long, b"x").await, "long key");
    assert_invalid(s.set_data("", &lea, "k", b"x").await, "empty portlet");
    assert_invalid(s.set_data("notes", &lea, "a\0b", b"x").await, "NUL in key");
    assert_invalid(s.data("notes", &lea, "").await, "data with an empty key");
    assert_invalid(
        s.delete_data("notes", &lea, &long).await,
        "delete_data with a long key",
    );
    let max = "é".repeat(MAX_DATA_KEY_LEN / 2);
    ok(
        s.set_data("notes", &lea, &max, b"x").await,
        "set_data with a key of exactly the longest length",
    );
    assert_eq!(
        ok(s.data("notes", &lea, &max).await, "data"),
        Some(b"x".to_vec())
    );
}

/// [`Storage::data_keys`]: the prefix is literal (no `%` or `_` wildcards), keys come in
/// binary (code point) order, scopes and portlets are separate; [`Storage::data_users`]
/// lists the users with data of a portlet.
pub async fn check_data_keys(s: &dyn Storage) {
    let lea = user("keys-lea");
    let portlet = "keys-p";
    for key in [
        "a%b", "a%c", "axb", "a_1", "ab1", "b", "a", "a%", "é1", "é", "Z", "a\\", "a\\b",
    ] {
        ok(s.set_data(portlet, &lea, key, b"v").await, "set_data");
    }
    ok(
        s.set_data(portlet, &user("keys-théo"), "a%z", b"v").await,
        "set_data",
    );
    ok(s.set_data("keys-q", &lea, "a%y", b"v").await, "set_data");

    let keys = |prefix: &'static str| {
        let lea = lea.clone();
        async move { ok(s.data_keys(portlet, &lea, prefix).await, "data_keys") }
    };
    assert_eq!(keys("a%").await, ["a%", "a%b", "a%c"], "'%' is literal");
    assert_eq!(keys("a_").await, ["a_1"], "'_' is literal");
    assert_eq!(keys("a\\").await, ["a\\", "a\\b"], "'\\' is literal");
    assert_eq!(keys("é").await, ["é", "é1"]);
    assert_eq!(
        keys("").await,
        [
            "Z", "a", "a%", "a%b", "a%c", "a\\", "a\\b", "a_1", "ab1", "axb", "b", "é", "é1"
        ],
        "every key, in binary order"
    );
    assert!(keys("%").await.is_empty());
    assert!(keys("zz").await.is_empty());
    // The values with their keys: the same keys in the same order, each with its value.
    ok(
        s.set_data(portlet, &lea, "a%b", b"second").await,
        "set_data",
    );
    for prefix in ["a%", "a_", "é", "", "zz"] {
        let values = ok(s.data_values(portlet, &lea, prefix).await, "data_values");
        let listed: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            listed,
            keys(prefix).await,
            "data_values({prefix:?}): the keys of data_keys"
        );
        for (key, value) in &values {
            let expected: &[u8] = if key == "a%b" { b"second" } else { b"v" };
            assert_eq!(
                value.as_slice(),
                expected,
                "data_values gives {key}'s value"
            );
        }
    }
    // The users who have data of a portlet: not the shared scope, not another portlet's.
    ok(
        s.set_data(portlet, &DataScope::Shared, "menu", b"v").await,
        "set_data",
    );
    assert_eq!(
        ok(s.data_users(portlet).await, "data_users"),
        ["keys-lea", "keys-théo"]
    );
    assert_eq!(ok(s.data_users("keys-q").await, "data_users"), ["keys-lea"]);
    ok(
        s.delete_data(portlet, &DataScope::Shared, "menu").await,
        "delete_data",
    );
    assert!(
        ok(
            s.data_keys(portlet, &DataScope::Shared, "").await,
            "data_keys"
        )
        .is_empty()
    );
}

/// Unicode and large values: a 1 MiB layout, 2 MiB of binary data with every byte value,
/// 200 preferences of 1 KiB.
pub async fn check_large_values(s: &dyn Storage) {
    let lea = "large-lea";
    let item = r#"{"titre":"Élève ✓ 日本語 🎒 \"quoted\" \\ back","w":"x"}"#;
    let mut layout = String::from("[");
    while layout.len() < 1 << 20 {
        if layout.len() > 1 {
            layout.push(',');
        }
        layout.push_str(item);
    }
    layout.push(']');
    ok(s.set_layout(lea, &layout).await, "set_layout (1 MiB)");
    assert!(
        ok(s.layout(lea).await, "layout").as_deref() == Some(layout.as_str()),
        "a 1 MiB layout comes back unchanged"
    );

    let value: Vec<u8> = (0..2 << 20).map(|i: u32| (i % 251) as u8).collect();
    ok(
        s.set_data("large", &user(lea), "blob", &value).await,
        "set_data (2 MiB)",
    );
    assert!(
        ok(s.data("large", &user(lea), "blob").await, "data").as_deref() == Some(&value[..]),
        "2 MiB of binary data come back unchanged"
    );
    let versioned = ok(
        s.data_versioned("large", &user(lea), "blob").await,
        "data_versioned",
    );
    assert!(versioned.value.as_deref() == Some(&value[..]));

    let values: BTreeMap<String, String> = (0..200)
        .map(|i| (format!("clé-{i:03}-é"), format!("{i}✓").repeat(200)))
        .collect();
    ok(
        s.set_preferences(lea, "w", &values).await,
        "set_preferences (200 values)",
    );
    assert_eq!(ok(s.preferences(lea, "w").await, "preferences"), values);
}

/// [`Storage::delete_user`] forgets the user's preferences, layout and data in her scope
/// (their versions too), and nothing of anyone else's nor the shared data;
/// [`SessionStore::delete_sessions_of`] ends only her sessions.
pub async fn check_delete_user(s: &dyn Storage, sessions: &dyn SessionStore) {
    let (lea, tom) = ("del-léa", "del-tom");
    let prefs = map(&[("k", "v")]);
    let mut kept = Vec::new();
    for u in [lea, tom] {
        for window in ["w1", "w2"] {
            ok(
                s.set_preferences(u, window, &prefs).await,
                "set_preferences",
            );
        }
        ok(s.set_layout(u, "{}").await, "set_layout");
        for portlet in ["del-notes", "del-agenda"] {
            for key in ["a", "b"] {
                ok(s.set_data(portlet, &user(u), key, b"x").await, "set_data");
            }
        }
        let session = Session::new(Some(u.into()), "fr", Duration::from_secs(600));
        ok(sessions.save_session(&session).await, "save_session");
        kept.push(session);
    }
    ok(
        s.set_data("del-notes", &DataScope::Shared, "a", b"shared")
            .await,
        "set_data",
    );

    ok(s.delete_user(lea).await, "delete_user");
    for window in ["w1", "w2"] {
        assert!(ok(s.preferences(lea, window).await, "preferences").is_empty());
        assert_eq!(
            ok(
                s.preferences_versioned(lea, window).await,
                "preferences_versioned"
            )
            .version,
            Version::NEW
        );
    }
    assert_eq!(ok(s.layout(lea).await, "layout"), None);
    assert_eq!(
        ok(s.layout_versioned(lea).await, "layout_versioned"),
        Versioned {
            value: None,
            version: Version::NEW
        }
    );
    for portlet in ["del-notes", "del-agenda"] {
        assert!(ok(s.data_keys(portlet, &user(lea), "").await, "data_keys").is_empty());
        assert_eq!(
            ok(
                s.data_versioned(portlet, &user(lea), "a").await,
                "data_versioned"
            )
            .version,
            Version::NEW
        );
    }
    assert_eq!(
        ok(s.preferences(tom, "w2").await, "preferences"),
        prefs,
        "another user's preferences stay"
    );
    assert_eq!(ok(s.layout(tom).await, "layout").as_deref(), Some("{}"));
    assert_eq!(
        ok(s.data_keys("del-agenda", &user(tom), "").await, "data_keys"),
        ["a", "b"]
    );
    assert_eq!(
        ok(s.data("del-notes", &DataScope::Shared, "a").await, "data"),
        Some(b"shared".to_vec()),
        "shared data is never a user's"
    );

    ok(sessions.delete_sessions_of(lea).await, "delete_sessions_of");
    assert_eq!(ok(sessions.session(&kept[0].id).await, "session"), None);
    assert_eq!(
        ok(sessions.session(&kept[1].id).await, "session").as_ref(),
        Some(&kept[1]),
        "another user's session stays"
    );

    assert_invalid(s.delete_user("").await, "delete_user of the empty id");
    assert_eq!(
        ok(s.data("del-notes", &DataScope::Shared, "a").await, "data"),
        Some(b"shared".to_vec())
    );
    ok(
        s.delete_user("del-nobody").await,
        "delete_user of an unknown user",
    );
}

/// Versioned preferences: [`Storage::preferences_versioned`] and
/// [`Storage::set_preferences_if`].
pub async fn check_versioned_preferences(s: &dyn Storage) {
    let (lea, w) = ("vprefs-lea", "w");
    let (a, b, c) = (map(&[("k", "a")]), map(&[("k", "b")]), map(&[("k", "c")]));
    let read = |window: &'static str| async move {
        ok(
            s.preferences_versioned(lea, window).await,
            "preferences_versioned",
        )
    };
    assert_eq!(
        read(w).await,
        Versioned {
            value: BTreeMap::new(),
            version: Version::NEW
        },
        "nothing stored: empty, Version::NEW"
    );
    let v1 = ok(
        s.set_preferences_if(lea, w, &a, Version::NEW).await,
        "set_preferences_if (create)",
    );
    assert_ne!(v1, Version::NEW, "a stored item never has Version::NEW");
    assert_eq!(
        read(w).await,
        Versioned {
            value: a.clone(),
            version: v1
        }
    );
    assert_conflict(
        s.set_preferences_if(lea, w, &b, Version::NEW).await,
        "creating preferences that exist",
    );
    assert_eq!(read(w).await.value, a, "a conflict writes nothing");

    let v2 = ok(
        s.set_preferences_if(lea, w, &b, v1).await,
        "set_preferences_if (update)",
    );
    assert_ne!(v2, v1, "every write gives a new version");
    assert_conflict(
        s.set_preferences_if(lea, w, &c, v1).await,
        "writing preferences with a stale version",
    );
    assert_eq!(
        read(w).await,
        Versioned {
            value: b.clone(),
            version: v2
        }
    );

    ok(s.set_preferences(lea, w, &c).await, "set_preferences");
    let v3 = read(w).await.version;
    assert!(
        ![Version::NEW, v1, v2].contains(&v3),
        "plain set_preferences gives a new version too ({v3})"
    );
    assert_eq!(ok(s.preferences(lea, w).await, "preferences"), c);
    assert_conflict(
        s.set_preferences_if(lea, w, &a, v2).await,
        "writing preferences changed by set_preferences meanwhile",
    );

    assert_conflict(
        s.set_preferences_if(lea, w, &BTreeMap::new(), Version::NEW)
            .await,
        "deleting existing preferences while expecting none",
    );
    assert_eq!(
        ok(
            s.set_preferences_if(lea, w, &BTreeMap::new(), v3).await,
            "set_preferences_if (empty map deletes)",
        ),
        Version::NEW
    );
    assert_eq!(read(w).await.version, Version::NEW);
    assert_conflict(
        s.set_preferences_if(lea, w, &a, v3).await,
        "writing preferences deleted meanwhile",
    );
    let v4 = ok(
        s.set_preferences_if(lea, w, &a, Version::NEW).await,
        "set_preferences_if (create again)",
    );
    assert!(
        ![Version::NEW, v1, v2, v3].contains(&v4),
        "a version is never given twice to the same item, even after a deletion ({v4})"
    );
    assert_eq!(
        ok(
            s.set_preferences_if(lea, "w-none", &BTreeMap::new(), Version::NEW)
                .await,
            "set_preferences_if (empty map on nothing)",
        ),
        Version::NEW
    );
    assert_eq!(
        read(w).await.version,
        v4,
        "writing another window does not change this one's version"
    );
    // Every window at once, where the backend offers it: the same as window by window.
    ok(s.set_preferences(lea, "w2", &b).await, "set_preferences");
    if let Some(all) = ok(s.preferences_of(lea).await, "preferences_of") {
        assert_eq!(all.len(), 2, "the windows with stored preferences: {all:?}");
        assert_eq!(all.get(w), Some(&read(w).await));
        assert_eq!(all.get("w2"), Some(&read("w2").await));
        let nobody = ok(s.preferences_of("vprefs-nobody").await, "preferences_of");
        assert_eq!(nobody, Some(BTreeMap::new()), "nothing stored: no window");
    }
}

/// Versioned layouts: [`Storage::layout_versioned`] and [`Storage::set_layout_if`].
pub async fn check_versioned_layouts(s: &dyn Storage) {
    let lea = "vlayout-lea";
    let read = || async { ok(s.layout_versioned(lea).await, "layout_versioned") };
    assert_eq!(
        read().await,
        Versioned {
            value: None,
            version: Version::NEW
        }
    );
    let v1 = ok(
        s.set_layout_if(lea, "[1]", Version::NEW).await,
        "set_layout_if (create)",
    );
    assert_ne!(v1, Version::NEW);
    assert_eq!(
        read().await,
        Versioned {
            value: Some("[1]".into()),
            version: v1
        }
    );
    assert_conflict(
        s.set_layout_if(lea, "[2]", Version::NEW).await,
        "creating a layout that exists",
    );
    let v2 = ok(
        s.set_layout_if(lea, "[2]", v1).await,
        "set_layout_if (update)",
    );
    assert_ne!(v2, v1);
    assert_conflict(
        s.set_layout_if(lea, "[3]", v1).await,
        "writing a layout with a stale version",
    );
    assert_eq!(ok(s.layout(lea).await, "layout").as_deref(), Some("[2]"));
    assert_invalid(
        s.set_layout_if(lea, "{oops", v2).await,
        "set_layout_if of non-JSON",
    );
    assert_eq!(read().await.version, v2, "a refused layout changes nothing");

    ok(s.set_layout(lea, "[4]").await, "set_layout");
    let v3 = read().await.version;
    assert!(
        ![Version::NEW, v1, v2].contains(&v3),
        "plain set_layout gives a new version"
    );
    assert_conflict(
        s.set_layout_if(lea, "[5]", v2).await,
        "writing a layout changed by set_layout meanwhile",
    );

    ok(s.reset_layout(lea).await, "reset_layout");
    assert_eq!(
        read().await,
        Versioned {
            value: None,
            version: Version::NEW
        },
        "a reset layout is not stored"
    );
    assert_conflict(
        s.set_layout_if(lea, "[6]", v3).await,
        "writing a layout reset meanwhile",
    );
    let v4 = ok(
        s.set_layout_if(lea, "[7]", Version::NEW).await,
        "set_layout_if (create again)",
    );
    assert!(
        ![Version::NEW, v1, v2, v3].contains(&v4),
        "a version is never given twice to the same item"
    );
}

/// Versioned portlet data: [`Storage::data_versioned`] and [`Storage::set_data_if`].
pub async fn check_versioned_data(s: &dyn Storage) {
    let lea = user("vdata-lea");
    let p = "vdata";
    let read = |key: &'static str| {
        let lea = lea.clone();
        async move { ok(s.data_versioned(p, &lea, key).await, "data_versioned") }
    };
    assert_eq!(
        read("k").await,
        Versioned {
            value: None,
            version: Version::NEW
        }
    );
    let v1 = ok(
        s.set_data_if(p, &lea, "k", b"one", Version::NEW).await,
        "set_data_if (create)",
    );
    assert_ne!(v1, Version::NEW);
    assert_eq!(
        read("k").await,
        Versioned {
            value: Some(b"one".to_vec()),
            version: v1
        }
    );
    assert_conflict(
        s.set_data_if(p, &lea, "k", b"two", Version::NEW).await,
        "creating data that exists",
    );
    let v2 = ok(
        s.set_data_if(p, &lea, "k", b"two", v1).await,
        "set_data_if (update)",
    );
    assert_ne!(v2, v1);
    assert_conflict(
        s.set_data_if(p, &lea, "k", b"three", v1).await,
        "writing data with a stale version",
    );
    assert_eq!(
        ok(s.data(p, &lea, "k").await, "data"),
        Some(b"two".to_vec())
    );

    // Items are versioned one by one.
    let other = ok(
        s.set_data_if(p, &lea, "other", b"x", Version::NEW).await,
        "set_data_if (another key)",
    );
    let shared = ok(
        s.set_data_if(p, &DataScope::Shared, "k", b"shared", Version::NEW)
            .await,
        "set_data_if (shared scope)",
    );
    assert_eq!(
        read("k").await.version,
        v2,
        "other items keep their version"
    );
    ok(
        s.set_data_if(p, &lea, "other", b"y", other).await,
        "set_data_if (another key, update)",
    );
    ok(
        s.set_data_if(p, &DataScope::Shared, "k", b"s2", shared)
            .await,
        "set_data_if (shared scope, update)",
    );

    ok(s.set_data(p, &lea, "k", b"plain").await, "set_data");
    let v3 = read("k").await.version;
    assert!(
        ![Version::NEW, v1, v2].contains(&v3),
        "plain set_data gives a new version"
    );
    assert_conflict(
        s.set_data_if(p, &lea, "k", b"x", v2).await,
        "writing data changed by set_data meanwhile",
    );

    ok(s.delete_data(p, &lea, "k").await, "delete_data");
    assert_eq!(
        read("k").await,
        Versioned {
            value: None,
            version: Version::NEW
        }
    );
    assert_conflict(
        s.set_data_if(p, &lea, "k", b"x", v3).await,
        "writing data deleted meanwhile",
    );
    let v4 = ok(
        s.set_data_if(p, &lea, "k", b"", Version::NEW).await,
        "set_data_if (create again, empty value)",
    );
    assert!(
        ![Version::NEW, v1, v2, v3].contains(&v4),
        "a version is never given twice to the same item"
    );
    assert_eq!(read("k").await.value, Some(vec![]));

    assert_invalid(
        s.set_data_if(p, &lea, "", b"x", Version::NEW).await,
        "set_data_if with an empty key",
    );
    assert_invalid(
        s.data_versioned(p, &lea, &"k".repeat(MAX_DATA_KEY_LEN + 1))
            .await,
        "data_versioned with a long key",
    );
}

/// Which of several racing conditional writes won.
fn single_winner(results: Vec<Result<Version, SocleError>>, what: &str) -> (usize, Version) {
    let mut winner = None;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(version) => {
                assert!(
                    winner.is_none(),
                    "{what}: two writers on the same version both succeeded (lost update)"
                );
                winner = Some((i, version));
            }
            Err(SocleError::Conflict { .. }) => {}
            Err(e) => panic!("{what}: a losing writer must get Conflict, got {e}"),
        }
    }
    winner.unwrap_or_else(|| panic!("{what}: no writer succeeded"))
}

/// Run `writers` conditional writes at once on spawned tasks (released together by a
/// barrier) and return their results in order.
async fn race<F, Fut>(writers: usize, write: F) -> Vec<Result<Version, SocleError>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Version, SocleError>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(writers));
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let write = write(i);
            tokio::spawn(async move {
                barrier.wait().await;
                write.await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|e| panic!("a writer task failed: {e}")),
        );
    }
    results
}

/// Concurrent writers on spawned tasks: of writers racing on the same version exactly one
/// wins and the others get [`SocleError::Conflict`]; read–modify–write loops that retry on
/// conflicts lose no update.
pub async fn check_concurrent_writers(s: Arc<dyn Storage>) {
    let scope = user("race-lea");
    for round in 0..8 {
        let key = format!("k{round}");
        // Even rounds race to create, odd rounds to update.
        let start = if round % 2 == 0 {
            Version::NEW
        } else {
            ok(
                s.set_data_if("race", &scope, &key, b"start", Version::NEW)
                    .await,
                "set_data_if",
            )
        };
        let results = race(2 + round % 3, |i| {
            let (s, scope, key) = (Arc::clone(&s), scope.clone(), key.clone());
            async move {
                s.set_data_if(
                    "race",
                    &scope,
                    &key,
                    format!("writer {i}").as_bytes(),
                    start,
                )
                .await
            }
        })
        .await;
        let (winner, version) = single_winner(results, &format!("data, round {round}"));
        assert_eq!(
            ok(
                s.data_versioned("race", &scope, &key).await,
                "data_versioned"
            ),
            Versioned {
                value: Some(format!("writer {winner}").into_bytes()),
                version
            },
            "the winner's value and version are stored"
        );
    }

    for round in 0..4 {
        let start = ok(s.layout_versioned("race-lea").await, "layout_versioned").version;
        let results = race(2, |i| {
            let s = Arc::clone(&s);
            async move { s.set_layout_if("race-lea", &format!("[{i}]"), start).await }
        })
        .await;
        let (winner, version) = single_winner(results, &format!("layout, round {round}"));
        assert_eq!(
            ok(s.layout_versioned("race-lea").await, "layout_versioned"),
            Versioned {
                value: Some(format!("[{winner}]")),
                version
            }
        );
    }

    for round in 0..4 {
        let start = ok(
            s.preferences_versioned("race-lea", "w").await,
            "preferences_versioned",
        )
        .version;
        let results = race(2, |i| {
            let s = Arc::clone(&s);
            async move {
                let values = map(&[("writer", &i.to_string())]);
                s.set_preferences_if("race-lea", "w", &values, start).await
            }
        })
        .await;
        let (winner, version) = single_winner(results, &format!("preferences, round {round}"));
        assert_eq!(
            ok(
                s.preferences_versioned("race-lea", "w").await,
                "preferences_versioned"
            ),
            Versioned {
                value: map(&[("writer", &winner.to_string())]),
                version
            }
        );
    }

    // Counters: every increment reads, adds one and writes back only if unchanged,
    // retrying on conflicts. No increment may be lost.
    const TASKS: usize = 4;
    const INCREMENTS: usize = 10;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (s, scope) = (Arc::clone(&s), scope.clone());
            tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        let current = ok(
                            s.data_versioned("race", &scope, "counter").await,
                            "data_versioned",
                        );
                        let n: u64 = match current.value {
                            None => 0,
                            Some(bytes) => String::from_utf8(bytes)
                                .ok()
                                .and_then(|t| t.parse().ok())
                                .unwrap_or_else(|| panic!("the counter is not a number")),
                        };
                        let next = (n + 1).to_string();
                        match s
                            .set_data_if(
                                "race",
                                &scope,
                                "counter",
                                next.as_bytes(),
                                current.version,
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(SocleError::Conflict { .. }) => {
                                conflicts += 1;
                                assert!(
                                    conflicts < 10_000,
                                    "no progress after {conflicts} conflicts"
                                );
                                tokio::task::yield_now().await;
                            }
                            Err(e) => panic!("incrementing the counter failed: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("a counter task failed: {e}"));
    }
    assert_eq!(
        ok(s.data("race", &scope, "counter").await, "data"),
        Some((TASKS * INCREMENTS).to_string().into_bytes()),
        "concurrent read–modify–write increments lost none"
    );
}

/// Sessions: round trip (expiry to the nanosecond), replacement, deletion, anonymous
/// sessions, expired sessions reported missing, [`SessionStore::delete_sessions_of`],
/// [`SessionStore::purge_expired_sessions`].
pub async fn check_sessions(s: &dyn SessionStore) {
    let mut session = Session::new(Some("sess-léa".into()), "fr", Duration::from_secs(3600));
    session.expires = UNIX_EPOCH + Duration::new(4_102_444_800, 123_456_789);
    assert_eq!(ok(s.session(&session.id).await, "session"), None);
    ok(s.save_session(&session).await, "save_session");
    assert_eq!(
        ok(s.session(&session.id).await, "session").as_ref(),
        Some(&session),
        "a session comes back as saved"
    );

    let mut changed = session.clone();
    changed.user = None;
    changed.locale = "en".into();
    changed.csrf = cartable_socle::random_token();
    changed.expires = SystemTime::now() + Duration::from_secs(60);
    ok(s.save_session(&changed).await, "save_session (replace)");
    assert_eq!(
        ok(s.session(&session.id).await, "session").as_ref(),
        Some(&changed),
        "saving again replaces the session"
    );
    ok(s.delete_session(&session.id).await, "delete_session");
    assert_eq!(ok(s.session(&session.id).await, "session"), None);
    ok(
        s.delete_session(&session.id).await,
        "delete_session of a missing session",
    );

    let mut expired = Session::new(Some("sess-tom".into()), "fr", Duration::ZERO);
    expired.expires = SystemTime::now() - Duration::from_secs(10);
    let mut ancient = Session::new(None, "fr", Duration::ZERO);
    ancient.expires = UNIX_EPOCH;
    for s_ in [&expired, &ancient] {
        ok(s.save_session(s_).await, "save_session (expired)");
        assert_eq!(
            ok(s.session(&s_.id).await, "session"),
            None,
            "an expired session is reported missing"
        );
    }

    let lea_a = Session::new(Some("sess-léa".into()), "fr", Duration::from_secs(600));
    let lea_b = Session::new(Some("sess-léa".into()), "en", Duration::from_secs(600));
    let tom = Session::new(Some("sess-tom".into()), "fr", Duration::from_secs(600));
    let anonymous = Session::new(None, "fr", Duration::from_secs(600));
    for s_ in [&lea_a, &lea_b, &tom, &anonymous] {
        ok(s.save_session(s_).await, "save_session");
    }
    ok(s.delete_sessions_of("sess-léa").await, "delete_sessions_of");
    for gone in [&lea_a, &lea_b] {
        assert_eq!(
            ok(s.session(&gone.id).await, "session"),
            None,
            "every session of the user ends"
        );
    }
    for kept in [&tom, &anonymous] {
        assert_eq!(
            ok(s.session(&kept.id).await, "session").as_ref(),
            Some(kept),
            "other sessions stay"
        );
    }
    ok(
        s.delete_sessions_of("sess-nobody").await,
        "delete_sessions_of a user without sessions",
    );

    // Sessions past their expiry that nobody reads again go in a purge; live ones stay.
    let mut abandoned = Vec::new();
    for user in [Some("sess-old".to_string()), None] {
        let mut old = Session::new(user, "fr", Duration::ZERO);
        old.expires = SystemTime::now() - Duration::from_secs(1);
        ok(s.save_session(&old).await, "save_session (abandoned)");
        abandoned.push(old);
    }
    let purged = ok(s.purge_expired_sessions().await, "purge_expired_sessions");
    assert!(
        purged >= 2,
        "both abandoned sessions purged (said {purged})"
    );
    assert_eq!(
        ok(s.purge_expired_sessions().await, "purge_expired_sessions"),
        0,
        "nothing left to purge"
    );
    assert_eq!(
        ok(s.session(&tom.id).await, "session").as_ref(),
        Some(&tom),
        "a live session survives the purge"
    );
}

#[cfg(test)]
mod tests {
    use cartable_socle::DbStore;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_in_memory_passes() {
        let store = Arc::new(DbStore::in_memory().await.expect("in-memory SQLite"));
        check_storage(store.clone(), store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file_passes_with_checks_running_together() {
        let dir = std::env::temp_dir().join(format!(
            "cartable-storage-conformance-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let store = Arc::new(
            DbStore::sqlite(&dir.join("cartable.db"))
                .await
                .expect("SQLite file"),
        );
        let s: Arc<dyn Storage> = store.clone();
        let sessions: Arc<dyn SessionStore> = store;
        tokio::join!(
            check_preferences(&*s),
            check_layouts(&*s),
            check_data(&*s),
            check_data_keys(&*s),
            check_delete_user(&*s, &*sessions),
            check_versioned_preferences(&*s),
            check_versioned_layouts(&*s),
            check_versioned_data(&*s),
            check_concurrent_writers(Arc::clone(&s)),
            check_sessions(&*sessions),
        );
        drop((s, sessions));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
