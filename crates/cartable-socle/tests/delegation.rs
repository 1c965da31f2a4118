//! The socle's `Delegations` over its storage in an in-memory SQLite database (moved
//! here from the former `cartable-sqlite` crate).

use std::sync::Arc;
use std::time::SystemTime;

use cartable_socle::DbStore;
use cartable_socle::{
    Clock, DAY, DelegationError, DelegationPolicy, Delegations, ManualClock, Person, Profile,
};

fn person(id: &str, profiles: &[Profile]) -> Person {
    Person {
        id: id.into(),
        display_name: id.into(),
        profiles: profiles.to_vec(),
        attributes: Default::default(),
    }
}

#[tokio::test]
async fn a_delegation_adds_a_role_until_it_ends() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + DAY * 20_000);
    let storage = Arc::new(
        DbStore::open(cartable_db::Database::sqlite_in_memory().await.unwrap())
            .await
            .unwrap(),
    );
    let d = Delegations::new(
        storage,
        Arc::new(clock.clone()),
        DelegationPolicy::default(),
    );
    let prof = person("paul", &[Profile::Enseignant]);
    let aed = person("ines", &[Profile::Personnel]);
    let ends = clock.now() + DAY * 7;

    assert!(matches!(
        d.delegate(&prof, "ines", Profile::Admin, ends).await,
        Err(DelegationError::NotDelegable(_))
    ));
    assert!(matches!(
        d.delegate(&prof, "paul", Profile::Enseignant, ends).await,
        Err(DelegationError::BadRecipient)
    ));
    assert!(matches!(
        d.delegate(&prof, "ines", Profile::Enseignant, clock.now() + DAY * 31)
            .await,
        Err(DelegationError::BadPeriod { .. })
    ));
    let del = d
        .delegate(&prof, "ines", Profile::Enseignant, ends)
        .await
        .unwrap();
    assert_eq!(
        d.effective_profiles(&aed).await.unwrap(),
        [Profile::Personnel, Profile::Enseignant]
    );
    // No re-delegation: her received role is not hers in the directory.
    let aed_effective = person("ines", &[Profile::Personnel]);
    assert!(matches!(
        d.delegate(&aed_effective, "zoe", Profile::Enseignant, ends)
            .await,
        Err(DelegationError::NotDelegable(_))
    ));
    clock.advance(DAY * 7);
    assert_eq!(
        d.effective_profiles(&aed).await.unwrap(),
        [Profile::Personnel]
    );

    // Revocation: only the delegator or an admin.
    let del2 = d
        .delegate(&prof, "ines", Profile::Enseignant, clock.now() + DAY)
        .await
        .unwrap();
    assert!(matches!(
        d.revoke(&aed, &del2.id).await,
        Err(DelegationError::NotOwner)
    ));
    d.revoke(&prof, &del2.id).await.unwrap();
    assert!(d.received_by("ines").await.unwrap().is_empty());
    let _ = del;
}
