//! The socle's `Groups` over its storage in an in-memory SQLite database (moved here
//! from the former `cartable-sqlite` crate).

use std::sync::Arc;
use std::time::SystemTime;

use std::collections::BTreeMap;

use cartable_socle::{
    Clock, DAY, DataScope, DbStore, GroupCaps, GroupError, GroupPolicy, GroupRight, Groups,
    ManualClock, Member, OfferedTool, Person, Profile, Storage, ToolGrant,
};

fn person(id: &str, profiles: &[Profile]) -> Person {
    Person {
        id: id.into(),
        display_name: id.into(),
        profiles: profiles.to_vec(),
        attributes: Default::default(),
    }
}

async fn setup(policy: GroupPolicy) -> (Groups, ManualClock) {
    let (groups, clock, _) = setup_with_storage(policy).await;
    (groups, clock)
}

async fn setup_with_storage(policy: GroupPolicy) -> (Groups, ManualClock, Arc<DbStore>) {
    setup_on(
        cartable_db::Database::sqlite_in_memory().await.unwrap(),
        policy,
    )
    .await
}

async fn setup_on(
    db: cartable_db::Database,
    policy: GroupPolicy,
) -> (Groups, ManualClock, Arc<DbStore>) {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + DAY * 20_000);
    let storage = Arc::new(DbStore::open(db).await.unwrap());
    (
        Groups::new(storage.clone(), Arc::new(clock.clone()), policy),
        clock,
        storage,
    )
}

/// The tools of the tests' ENT: shared documents (no measure) and a forum that counts
/// messages (at most 10,000).
fn offered() -> Vec<OfferedTool> {
    vec![
        OfferedTool {
            id: "documents".into(),
            max_limit: None,
        },
        OfferedTool {
            id: "forum".into(),
            max_limit: Some(10_000),
        },
    ]
}

fn tools(list: &[(&str, Option<u64>)]) -> BTreeMap<String, ToolGrant> {
    list.iter()
        .map(|(id, limit)| (id.to_string(), ToolGrant { limit: *limit }))
        .collect()
}

fn member(uid: &str, right: GroupRight) -> Member {
    Member {
        uid: uid.into(),
        right,
    }
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
        Err(GroupError::NotManager)
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

/// On SQLite and PostgreSQL: the socle refuses whoever lacks the right.
#[tokio::test]
async fn members_rights_are_enforced_by_the_socle() {
    for t in cartable_db::testing::both("members_rights_are_enforced_by_the_socle").await {
        let (groups, clock, _) = setup_on(t.db.clone(), GroupPolicy::default()).await;
        rights_case(groups.offering(offered()), clock).await;
    }
}

async fn rights_case(groups: Groups, clock: ManualClock) {
    let paul = person("paul", &[Profile::Enseignant]);
    let ines = person("ines", &[Profile::Personnel]);
    let lea = person("lea", &[Profile::Eleve]);
    let tom = person("tom", &[Profile::Eleve]);
    let ends = clock.now() + DAY * 30;
    let g = groups
        .create(
            &paul,
            "Club",
            vec!["ines".into(), "lea".into(), "tom".into()],
            ends,
        )
        .await
        .unwrap();
    assert_eq!(g.right_of("paul"), Some(GroupRight::Owner));
    assert_eq!(g.right_of("lea"), Some(GroupRight::Contributor), "default");
    assert_eq!(g.right_of("zoe"), None);
    let g = groups
        .set_members_with_rights(
            &paul,
            &g.id,
            vec![
                member("ines", GroupRight::Manager),
                member("lea", GroupRight::Reader),
                member("tom", GroupRight::Contributor),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        groups.right_of(&g.id, "lea").await.unwrap(),
        Some(GroupRight::Reader)
    );

    // A reader and a contributor change nothing: members, rights, tools, quotas, end
    // date, name, and they do not delete.
    for who in [&lea, &tom] {
        assert!(matches!(
            groups.set_members(who, &g.id, vec!["lea".into()]).await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups
                .set_members_with_rights(who, &g.id, vec![member(&who.id, GroupRight::Manager)])
                .await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups
                .set_tools(who, &g.id, tools(&[("forum", None)]), 10)
                .await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups.set_end(who, &g.id, ends + DAY).await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups.rename(who, &g.id, "Pris").await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups.set_name_and_end(who, &g.id, "Pris", ends).await,
            Err(GroupError::NotManager)
        ));
        assert!(matches!(
            groups.delete(who, &g.id).await,
            Err(GroupError::NotOwner)
        ));
    }
    assert_eq!(
        groups.get(&g.id).await.unwrap().unwrap(),
        g,
        "nothing changed"
    );

    // A manager does what the owner does, except deleting.
    let g2 = groups
        .set_tools(
            &ines,
            &g.id,
            tools(&[("documents", None), ("forum", Some(500))]),
            50,
        )
        .await
        .unwrap();
    assert_eq!(g2.file_quota_bytes(), 50 << 20);
    groups.rename(&ines, &g.id, "Club théâtre").await.unwrap();
    // Both or neither: a bad end date leaves the name.
    assert!(matches!(
        groups
            .set_name_and_end(&ines, &g.id, "Autre", ends + DAY * 1000)
            .await,
        Err(GroupError::BadEndDate { .. })
    ));
    assert_eq!(
        groups.get(&g.id).await.unwrap().unwrap().name,
        "Club théâtre"
    );
    groups.set_end(&ines, &g.id, ends + DAY).await.unwrap();
    groups
        .set_members(
            &ines,
            &g.id,
            vec!["ines".into(), "lea".into(), "zoe".into()],
        )
        .await
        .unwrap();
    let g3 = groups.get(&g.id).await.unwrap().unwrap();
    assert_eq!(g3.members, ["ines", "lea", "zoe"]);
    assert_eq!(
        g3.right_of("ines"),
        Some(GroupRight::Manager),
        "rights kept"
    );
    assert_eq!(g3.right_of("lea"), Some(GroupRight::Reader));
    assert_eq!(g3.right_of("zoe"), Some(GroupRight::Contributor), "new one");
    assert!(matches!(
        groups.delete(&ines, &g.id).await,
        Err(GroupError::NotOwner)
    ));
    // Nobody is made owner through the member list.
    assert!(matches!(
        groups
            .set_members_with_rights(&ines, &g.id, vec![member("lea", GroupRight::Owner)])
            .await,
        Err(GroupError::Invalid(_))
    ));

    // The services' view.
    assert_eq!(
        groups.tool_of(&g.id, "forum").await.unwrap(),
        Some(ToolGrant { limit: Some(500) })
    );
    assert_eq!(groups.tool_of(&g.id, "agenda").await.unwrap(), None);
    let mine = groups.with_tool("lea", "documents").await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1, GroupRight::Reader);
    assert!(
        groups
            .with_tool("tom", "documents")
            .await
            .unwrap()
            .is_empty(),
        "removed"
    );
    groups.delete(&paul, &g.id).await.unwrap();
    assert_eq!(groups.right_of(&g.id, "ines").await.unwrap(), None);
}

#[tokio::test]
async fn tools_and_quotas_stay_within_the_profile_caps() {
    let mut policy = GroupPolicy {
        file_quota_mb: 100,
        max_file_quota_mb: 1000,
        ..GroupPolicy::default()
    };
    policy.profiles.insert(
        Profile::Enseignant,
        GroupCaps {
            max_members: Some(2),
            max_days: Some(30),
            tools: Some(vec!["documents".into(), "forum".into()]),
            max_file_quota_mb: Some(200),
            tool_limits: [("forum".to_string(), 1000)].into(),
            ..GroupCaps::default()
        },
    );
    policy.profiles.insert(
        Profile::Personnel,
        GroupCaps {
            tools: Some(vec!["documents".into()]),
            ..GroupCaps::default()
        },
    );
    policy.users.insert(
        "delegue".into(),
        GroupCaps {
            max_groups: Some(1),
            max_file_quota_mb: Some(20),
            ..GroupCaps::default()
        },
    );
    let (groups, clock) = setup(policy).await;
    let groups = groups.offering(offered());
    let paul = person("paul", &[Profile::Enseignant]);
    let ines = person("ines", &[Profile::Personnel]);
    let now = clock.now();
    // Members and lifetime from the teacher's caps.
    assert!(matches!(
        groups
            .create(
                &paul,
                "a",
                vec!["x".into(), "y".into(), "z".into()],
                now + DAY
            )
            .await,
        Err(GroupError::Invalid(_))
    ));
    assert!(matches!(
        groups.create(&paul, "a", vec![], now + DAY * 31).await,
        Err(GroupError::BadEndDate { max_days: 30 })
    ));
    let g = groups.create(&paul, "a", vec![], now + DAY).await.unwrap();
    assert_eq!(g.file_quota_mb, Some(100), "the policy's quota");
    // Tools: only those offered and allowed, limits within the service's and the cap.
    assert!(matches!(
        groups
            .set_tools(&paul, &g.id, tools(&[("agenda", None)]), 100)
            .await,
        Err(GroupError::NotPermitted(_))
    ));
    assert!(matches!(
        groups
            .set_tools(&paul, &g.id, tools(&[("forum", Some(1001))]), 100)
            .await,
        Err(GroupError::NotPermitted(_))
    ));
    assert!(matches!(
        groups
            .set_tools(&paul, &g.id, tools(&[("documents", Some(3))]), 100)
            .await,
        Err(GroupError::Invalid(_)),
    ));
    assert!(matches!(
        groups
            .set_tools(&paul, &g.id, tools(&[("forum", None)]), 201)
            .await,
        Err(GroupError::NotPermitted(_))
    ));
    groups
        .set_tools(&paul, &g.id, tools(&[("forum", Some(1000))]), 200)
        .await
        .unwrap();
    // A manager who is staff acts within the owner's caps, not hers.
    groups
        .set_members_with_rights(&paul, &g.id, vec![member("ines", GroupRight::Manager)])
        .await
        .unwrap();
    groups
        .set_tools(&ines, &g.id, tools(&[("forum", Some(10))]), 150)
        .await
        .unwrap();
    assert!(matches!(
        groups.set_end(&ines, &g.id, now + DAY * 40).await,
        Err(GroupError::BadEndDate { max_days: 30 })
    ));
    // Staff's own groups have documents only, and the global limits otherwise.
    let s = groups
        .create(&ines, "b", vec![], now + DAY * 300)
        .await
        .unwrap();
    assert!(matches!(
        groups
            .set_tools(&ines, &s.id, tools(&[("forum", None)]), 10)
            .await,
        Err(GroupError::NotPermitted(_))
    ));
    // A pupil listed by login creates one group, with a small quota.
    let delegue = person("delegue", &[Profile::Eleve]);
    let d = groups
        .create(&delegue, "c", vec![], now + DAY)
        .await
        .unwrap();
    assert_eq!(d.file_quota_mb, Some(20));
    assert!(matches!(
        groups.create(&delegue, "d", vec![], now + DAY).await,
        Err(GroupError::Limit { max: 1 })
    ));
    // An administrator goes past the owner's caps, up to `[groups]`'.
    let admin = person("root", &[Profile::Admin]);
    groups
        .set_tools(&admin, &d.id, tools(&[("forum", Some(5000))]), 1000)
        .await
        .unwrap();
    assert!(matches!(
        groups.set_tools(&admin, &d.id, tools(&[]), 1001).await,
        Err(GroupError::NotPermitted(_))
    ));
    // Ended groups stay editable by an administrator only.
    clock.advance(DAY * 2);
    assert!(matches!(
        groups.set_end(&paul, &g.id, clock.now() + DAY).await,
        Err(GroupError::NotFound)
    ));
    groups
        .set_end(&admin, &g.id, clock.now() + DAY)
        .await
        .unwrap();
    assert!(
        groups.get(&g.id).await.unwrap().is_some(),
        "extended by the admin"
    );
}

/// On SQLite and PostgreSQL.
#[tokio::test]
async fn a_group_stored_by_the_first_release_loads_unchanged() {
    for t in cartable_db::testing::both("a_group_stored_by_the_first_release_loads_unchanged").await
    {
        let (groups, clock, storage) = setup_on(t.db.clone(), GroupPolicy::default()).await;
        first_release_case(groups, clock, storage).await;
    }
}

async fn first_release_case(groups: Groups, clock: ManualClock, storage: Arc<DbStore>) {
    // The JSON the first release wrote (`Group` had six fields).
    let now = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = format!(
        r#"{{"id":"ancien01","name":"Chorale","owner":"paul","members":["lea","tom"],"created":{{"secs_since_epoch":{now},"nanos_since_epoch":0}},"ends":{{"secs_since_epoch":{},"nanos_since_epoch":0}}}}"#,
        now + 86_400 * 10
    );
    storage
        .set_data(
            "cartable-groups",
            &DataScope::Shared,
            "group/ancien01",
            old.as_bytes(),
        )
        .await
        .unwrap();
    let g = groups.get("ancien01").await.unwrap().expect("it loads");
    assert_eq!((g.name.as_str(), g.owner.as_str()), ("Chorale", "paul"));
    assert_eq!(g.members, ["lea", "tom"]);
    assert_eq!(g.right_of("lea"), Some(GroupRight::Contributor));
    assert_eq!(g.right_of("paul"), Some(GroupRight::Owner));
    assert!(g.tools.is_empty() && g.owner_profiles.is_empty());
    assert_eq!(g.file_quota_bytes(), 100 << 20);
    assert_eq!(groups.groups_of("tom").await.unwrap(), vec![g.clone()]);
    // Its owner still manages it, within `[groups]`' caps.
    let paul = person("paul", &[Profile::Enseignant]);
    let g = groups
        .set_tools(&paul, "ancien01", tools(&[("forum", None)]), 100)
        .await
        .unwrap();
    assert_eq!(g.members, ["lea", "tom"]);
    assert_eq!(
        groups.tool_of("ancien01", "forum").await.unwrap(),
        Some(ToolGrant::default())
    );
    // Written back with the new fields, read the same.
    assert_eq!(groups.get("ancien01").await.unwrap().unwrap(), g);
}

#[tokio::test]
async fn restore_keeps_the_id_and_checks_the_fields() {
    let (groups, clock) = setup(GroupPolicy::default()).await;
    let g = cartable_socle::Group {
        id: "club-theatre".into(),
        name: "Club théâtre".into(),
        owner: "paul".into(),
        members: vec!["lea".into(), "paul".into()],
        created: clock.now(),
        ends: clock.now() + DAY,
        rights: [
            ("lea".to_string(), GroupRight::Reader),
            ("x".to_string(), GroupRight::Manager),
        ]
        .into(),
        tools: BTreeMap::new(),
        file_quota_mb: None,
        owner_profiles: vec![Profile::Enseignant],
    };
    let stored = groups.restore(g.clone()).await.unwrap();
    assert_eq!(stored.members, ["lea"], "the owner is not a member");
    assert_eq!(stored.rights.len(), 1, "rights of non-members dropped");
    assert_eq!(groups.get("club-theatre").await.unwrap().unwrap(), stored);
    let bad = cartable_socle::Group {
        id: "../x".into(),
        ..g.clone()
    };
    assert!(matches!(
        groups.restore(bad).await,
        Err(GroupError::Invalid(_))
    ));
    let bad = cartable_socle::Group {
        name: "".into(),
        ..g
    };
    assert!(matches!(
        groups.restore(bad).await,
        Err(GroupError::Invalid(_))
    ));
}
