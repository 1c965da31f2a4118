use std::collections::BTreeMap;
use std::time::Duration;

use cartable_portlet::{Descriptor, Mode, PortletError, PreferenceSpec, WindowState};
use cartable_socle::{Person, Profile, SocleError, Storage, Version};
use http::StatusCode;

use super::*;

fn person(profiles: Vec<Profile>) -> Person {
    Person {
        id: "lea".into(),
        display_name: "Léa".into(),
        profiles,
        attributes: BTreeMap::new(),
    }
}

fn descriptor() -> Descriptor {
    Descriptor::new("notes", "Notes")
        .profiles([Profile::Enseignant])
        .preference(PreferenceSpec::new("size", "Taille", "10").max_len(3))
        .preference(PreferenceSpec::new("title", "Titre", "Mes notes"))
}

#[test]
fn admission_checks_audience_first_then_mode_state_and_health() {
    let c = Container::default();
    let d = descriptor();
    let pupil = person(vec![Profile::Eleve]);
    let teacher = person(vec![Profile::Enseignant]);
    let forbidden = c.admit(&d, &pupil, Mode::Help, WindowState::Normal);
    assert!(matches!(forbidden, Err(CallError::Forbidden { .. })));
    let help = c.admit(&d, &teacher, Mode::Help, WindowState::Normal);
    assert_eq!(help.unwrap_err().status(), StatusCode::BAD_REQUEST);
    let mut fixed = descriptor();
    fixed.states = vec![WindowState::Normal];
    let max = c.admit(&fixed, &teacher, Mode::Edit, WindowState::Maximized);
    assert!(matches!(max, Err(CallError::UnsupportedState { .. })));
    assert!(
        c.admit(&d, &teacher, Mode::Edit, WindowState::Normal)
            .is_ok()
    );
    c.health()
        .set_maintenance("notes", Some("retour à 14 h".into()));
    let down = c.admit(&d, &teacher, Mode::View, WindowState::Normal);
    assert_eq!(down.unwrap_err().status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn the_csrf_token_is_required_compared_and_removed() {
    let mut form: Params = [("a".to_string(), "1".to_string())].into();
    assert!(matches!(take_csrf(&mut form, "tok"), Err(CallError::Csrf)));
    form.insert(CSRF_FIELD.into(), "forged".into());
    assert!(take_csrf(&mut form, "tok").is_err());
    assert!(!form.contains_key(CSRF_FIELD));
    form.insert(CSRF_FIELD.into(), "tok".into());
    take_csrf(&mut form, "tok").expect("the session's token");
    assert_eq!(form.len(), 1, "the portlet never sees the token");
    form.insert(CSRF_FIELD.into(), String::new());
    assert!(
        take_csrf(&mut form, "").is_err(),
        "no session: nothing matches"
    );
}

#[tokio::test]
async fn a_late_call_is_aborted_and_repeated_timeouts_quarantine() {
    let c = Container::builder()
        .deadline(Duration::from_millis(20))
        .quarantine(2, Duration::from_secs(60))
        .build();
    for round in 0..2 {
        let late = c
            .invoke("slow", async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok::<_, PortletError>(())
            })
            .await;
        let e = late.unwrap_err();
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT, "round {round}");
    }
    let refused = c.check_available("slow").unwrap_err();
    assert!(matches!(refused, CallError::Quarantined { .. }));
    assert!(c.check_available("other").is_ok());
}

#[tokio::test]
async fn a_panic_ends_only_its_task_and_errors_keep_their_status() {
    let c = Container::default();
    let panicked = c
        .invoke("bad", async {
            if c_is_bad() {
                panic!("boom");
            }
            Ok::<_, PortletError>(1)
        })
        .await;
    assert_eq!(
        panicked.unwrap_err().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let conflict = c
        .invoke("x", async {
            Err::<(), _>(PortletError::Socle(SocleError::Conflict {
                what: "the list".into(),
            }))
        })
        .await;
    assert_eq!(conflict.unwrap_err().status(), StatusCode::CONFLICT);
    let fine = c.invoke("x", async { Ok::<_, PortletError>(7) }).await;
    assert_eq!(fine.unwrap(), 7);
}

fn c_is_bad() -> bool {
    true
}

#[test]
fn layering_default_establishment_user_and_lock() {
    let d = descriptor();
    let own: BTreeMap<String, String> = [
        ("size".to_string(), "20".to_string()),
        ("title".to_string(), "Les miennes".to_string()),
    ]
    .into();
    let etab = |name: &str| (name == "size").then_some(("5", true));
    let prefs = layer_preferences(&d, etab, &own, Version::NEW);
    assert_eq!(prefs.get("size"), Some("5"), "locked: the établissement's");
    assert!(prefs.is_locked("size"));
    assert_eq!(prefs.get("title"), Some("Les miennes"), "the user's own");
    let none = layer_preferences(&d, |_| None, &BTreeMap::new(), Version::NEW);
    assert_eq!(none.get("title"), Some("Mes notes"), "the default");
}

#[test]
fn the_preference_form_ignores_locked_fields_and_refuses_invalid_values() {
    let d = descriptor();
    let etab = |name: &str| (name == "size").then_some(("5", true));
    let current = layer_preferences(&d, etab, &BTreeMap::new(), Version::NEW);
    let form: Params = [
        ("size".to_string(), "99".to_string()),
        ("title".to_string(), "Nouveau".to_string()),
        ("_version".to_string(), "3".to_string()),
    ]
    .into();
    let changes = preference_form_changes(&d, &current, &form).unwrap();
    assert_eq!(changes.len(), 1, "the locked size is ignored: {changes:?}");
    assert_eq!(changes["title"], "Nouveau");
    let unlocked = layer_preferences(&d, |_| None, &BTreeMap::new(), Version::NEW);
    let too_long: Params = [("size".to_string(), "1000".to_string())].into();
    let refused = preference_form_changes(&d, &unlocked, &too_long).unwrap_err();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_save_from_a_stale_form_is_refused_and_an_unversioned_one_merges() {
    let storage = cartable_socle::DbStore::in_memory().await.unwrap();
    let d = descriptor();
    let one: Params = [("size".to_string(), "12".to_string())].into();
    assert!(
        save_preference_changes(&storage, &d, "lea", "w", &one, None)
            .await
            .unwrap()
    );
    let read = storage.preferences_versioned("lea", "w").await.unwrap();
    let other: Params = [("title".to_string(), "T".to_string())].into();
    save_preference_changes(&storage, &d, "lea", "w", &other, None)
        .await
        .unwrap();
    let stale = save_preference_changes(&storage, &d, "lea", "w", &one, Some(read.version)).await;
    assert!(matches!(stale, Err(SocleError::Conflict { .. })));
    let unknown: Params = [("nope".to_string(), "x".to_string())].into();
    save_preference_changes(&storage, &d, "lea", "w", &unknown, None)
        .await
        .unwrap();
    let now = storage.preferences("lea", "w").await.unwrap();
    assert_eq!(
        now.len(),
        2,
        "both kept, the undeclared one dropped: {now:?}"
    );
}

#[tokio::test]
async fn a_call_whose_body_keeps_arriving_outlives_its_deadline_and_a_stalled_one_does_not() {
    let c = Container::builder()
        .deadline(Duration::from_millis(100))
        .build();
    let progress = Progress::new();
    let ticking = progress.clone();
    let long = c
        .invoke_with_progress("upload", progress, async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                ticking.tick(1024);
            }
            Ok::<_, PortletError>(ticking.count())
        })
        .await;
    assert_eq!(
        long.unwrap(),
        6 * 1024,
        "360 ms of arriving bytes, 100 ms deadline"
    );
    let stalled = c
        .invoke_with_progress("upload", Progress::new(), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, PortletError>(())
        })
        .await;
    assert!(matches!(stalled, Err(CallError::TimedOut { .. })));
}
