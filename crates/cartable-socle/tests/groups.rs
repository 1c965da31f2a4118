//! The socle's `Groups` over its storage in an in-memory SQLite database (moved here
//! from the former `cartable-sqlite` crate).

use std::sync::Arc;
use std::time::SystemTime;

use cartable_socle::DbStore;
use cartable_socle::{Clock, DAY, GroupError, GroupPolicy, Groups, ManualClock, Person, Profile};

fn person(id: &str, profiles: &[Profile]) -> Person {
    Person {
        id: id.into(),
        display_name: id.into(),
        profiles: profiles.to_vec(),
        attributes: Default::default(),
    }
}

async fn setup(policy: GroupPolicy) -> (Groups, ManualClock) {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + DAY * 20_000);
    let storage = Arc::new(
        DbStore::open(cartable_db::Database::sqlite_in_memory().await.unwrap())
            .await
            .unwrap(),
    );
    (Groups::new(storage, Arc::new(clock.clone()), policy), clock)
}

#[tokio::test]
async fn teachers_create_groups_that_end_by_themselves() {
    let (groups, clock) = setup(GroupPolicy::default()).await;
    let prof = person("paul", &[Profile::Enseignant]);
    let eleve = person("lea", &[Profile::Eleve]);
    let ends = clock.now() + DAY * 30;
    let g = groups
        .create(
            &prof,
            "Club théâtre",
            vec!["lea".into(), "lea".into(), " tom ".into()],
            ends,
        )
        .await
        .unwrap();
    assert_eq!(g.members, ["lea", "tom"]);
    assert!(matches!(
        groups.create(&eleve, "x", vec![], ends).await,
        Err(GroupError::NotAllowed)
    ));
    assert_eq!(groups.groups_of("lea").await.unwrap().len(), 1);
    assert!(matches!(
        groups.set_members(&eleve, &g.id, vec![]).await,
        Err(GroupError::NotOwner)
    ));
    clock.advance(DAY * 31);
    assert!(groups.groups_of("lea").await.unwrap().is_empty(), "ended");
    assert!(groups.get(&g.id).await.unwrap().is_none());
    assert_eq!(groups.all().await.unwrap().len(), 1, "kept for the admin");
}

#[tokio::test]
async fn admin_caps_and_end_dates() {
    let mut policy = GroupPolicy::default();
    policy.max_per_profile.insert(Profile::Enseignant, 1);
    policy.max_days = 10;
    let (groups, clock) = setup(policy).await;
    let prof = person("paul", &[Profile::Enseignant]);
    let now = clock.now();
    assert!(matches!(
        groups.create(&prof, "a", vec![], now + DAY * 11).await,
        Err(GroupError::BadEndDate { .. })
    ));
    assert!(matches!(
        groups.create(&prof, "a", vec![], now).await,
        Err(GroupError::BadEndDate { .. })
    ));
    assert!(matches!(
        groups.create(&prof, "", vec![], now + DAY).await,
        Err(GroupError::Invalid(_))
    ));
    groups.create(&prof, "a", vec![], now + DAY).await.unwrap();
    assert!(matches!(
        groups.create(&prof, "b", vec![], now + DAY).await,
        Err(GroupError::Limit { max: 1 })
    ));
    // When the first ends, she may create another.
    clock.advance(DAY * 2);
    groups
        .create(&prof, "b", vec![], clock.now() + DAY)
        .await
        .unwrap();
    // An admin edits anyone's group.
    let admin = person("root", &[Profile::Admin]);
    let g = &groups.owned_by("paul").await.unwrap()[0];
    groups
        .set_members(&admin, &g.id, vec!["zoe".into()])
        .await
        .unwrap();
    groups.delete(&admin, &g.id).await.unwrap();
    assert!(groups.owned_by("paul").await.unwrap().is_empty());
}
