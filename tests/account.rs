//! Roles, delegation, groups, account lifecycle and passwords through the portal, with a
//! controllable clock: end dates take effect without a restart and without sleeping.

mod common;

use std::sync::Arc;
use std::time::Duration;

use cartable::prelude::Profile;
use cartable::socle::{DAY, ManualClock, parse_generalized_time};
use common::*;

const CONFIG: &str = r#"
[groups]
creators = ["enseignant", "personnel"]
max_per_profile = { enseignant = 2 }
max_days = 60
[delegation]
delegable = ["enseignant"]
max_days = 14
[accounts]
grace_days = 30
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }, { portlet = "profs" }]]
"#;

fn clock() -> ManualClock {
    // 2026-11-26, before the `ancien` account's end (2027-01-01).
    ManualClock::new(parse_generalized_time("20261126120000Z").unwrap())
}

async fn portal(dir: &std::path::Path, clock: &ManualClock) -> TestPortal {
    TestPortal::start_with(
        CONFIG,
        dir,
        vec![
            Hello::shared("hello"),
            Counter::shared("profs", Some(vec![Profile::Enseignant])),
        ],
        Arc::new(clock.clone()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_role_gives_rights_until_its_end_date() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let p = portal(dir.path(), &clock).await;
    let mut ines = p.login("ines").await;
    assert!(!ines.get("/page/accueil").await.body.contains("w-profs"));
    assert_eq!(ines.get("/resource/accueil/profs/count").await.status, 403);

    let mut paul = p.login("paul").await;
    let account = paul.get("/compte").await;
    assert!(
        account.body.contains("Déléguer un rôle"),
        "{}",
        account.body
    );
    // Beyond the admin's limit of 14 days: refused with a clear message.
    let r = paul
        .post_csrf(
            "/compte/delegation",
            &[
                ("op", "delegate"),
                ("to", "ines"),
                ("profile", "enseignant"),
                ("ends", "2027-01-30"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 14 days"), "{}", r.body);
    let r = paul
        .post_csrf(
            "/compte/delegation",
            &[
                ("op", "delegate"),
                ("to", "ines"),
                ("profile", "enseignant"),
                ("ends", "2026-12-03"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Rights are the sum of her roles: she now sees the teachers' portlet.
    assert!(ines.get("/page/accueil").await.body.contains("w-profs"));
    assert_eq!(ines.get("/resource/accueil/profs/count").await.status, 200);
    assert!(
        ines.get("/compte")
            .await
            .body
            .contains("Rôles qui vous sont délégués")
    );
    // A pupil cannot delegate what she does not hold.
    let mut lea = p.login("lea").await;
    let r = lea
        .post_csrf(
            "/compte/delegation",
            &[
                ("op", "delegate"),
                ("to", "ines"),
                ("profile", "enseignant"),
                ("ends", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);

    // The delegation ends by itself.
    clock.advance(DAY * 8);
    assert!(!ines.get("/page/accueil").await.body.contains("w-profs"));
    assert_eq!(ines.get("/resource/accueil/profs/count").await.status, 403);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_created_within_limits_and_end_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let p = portal(dir.path(), &clock).await;
    let mut paul = p.login("paul").await;
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Club théâtre"),
                ("members", "lea, ines"),
                ("ends", "2026-12-20"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Fantômes"),
                ("members", "lea, nobody"),
                ("ends", "2026-12-20"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "unknown member");
    assert!(r.body.contains("nobody"));
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Trop long"),
                ("members", ""),
                ("ends", "2027-06-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "beyond max_days");
    paul.post_csrf(
        "/compte/groups",
        &[
            ("op", "create"),
            ("name", "Deux"),
            ("members", ""),
            ("ends", "2026-12-01"),
        ],
    )
    .await;
    let r = paul
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "Trois"),
                ("members", ""),
                ("ends", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "the admin caps teachers at 2 groups");

    let mut lea = p.login("lea").await;
    let account = lea.get("/compte").await.body;
    assert!(account.contains("Club théâtre"));
    assert!(
        !account.contains("Créer un groupe"),
        "pupils do not create groups"
    );
    let r = lea
        .post_csrf(
            "/compte/groups",
            &[
                ("op", "create"),
                ("name", "x"),
                ("members", ""),
                ("ends", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);

    clock.advance(DAY * 30);
    assert!(
        !lea.get("/compte").await.body.contains("Club théâtre"),
        "ended"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_past_their_end_date_are_deactivated_then_due_for_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let p = portal(dir.path(), &clock).await;
    let mut ancien = p.login("ancien").await;
    assert_eq!(ancien.get("/page/accueil").await.status, 200);
    let r = ancien
        .post_csrf(
            "/layout",
            &[("tab", "accueil"), ("window", "hello"), ("op", "minimize")],
        )
        .await;
    assert_eq!(r.status, 303, "she saved a layout");
    clock.set(parse_generalized_time(ANCIEN_END).unwrap() + Duration::from_secs(1));
    // Her open session stops working, and she cannot log in again.
    let r = ancien.get("/page/accueil").await;
    assert_eq!(r.status, 303);
    let mut again = p.client();
    let token = extract_csrf(&again.get("/login").await.body).unwrap();
    let r = again
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", "ancien"),
                ("password", "ancien-pw"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("désactivé"));
    let mut admin = p.login("nadia").await;
    assert!(
        admin
            .get("/admin")
            .await
            .body
            .contains("Désactivé (période de grâce)")
    );
    // Not yet past the grace period: her data is kept.
    assert_eq!(
        admin
            .post_csrf("/admin/purge", &[("uid", "ancien")])
            .await
            .status,
        400
    );
    clock.advance(DAY * 31);
    let page = admin.get("/admin").await.body;
    assert!(page.contains("À supprimer de l’annuaire"));
    assert!(page.contains("Supprimer ses données de l’ENT"));
    assert_eq!(
        admin
            .post_csrf("/admin/purge", &[("uid", "ancien")])
            .await
            .status,
        303
    );
    assert_eq!(
        admin
            .post_csrf("/admin/purge", &[("uid", "lea")])
            .await
            .status,
        400,
        "an active account is never purged"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_change_passwords_under_the_policy_and_admins_regenerate_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let p = portal(dir.path(), &clock).await;
    let mut lea = p.login("lea").await;
    let wrong = lea
        .post_csrf(
            "/compte/password",
            &[
                ("old", "nope"),
                ("new", "Tr0p-Bien-Choisi"),
                ("confirm", "Tr0p-Bien-Choisi"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("mot de passe actuel est incorrect"));
    let weak = lea
        .post_csrf(
            "/compte/password",
            &[("old", "lea-pw"), ("new", "court"), ("confirm", "court")],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("at least 12 characters"));
    let ok = lea
        .post_csrf(
            "/compte/password",
            &[
                ("old", "lea-pw"),
                ("new", "Tr0p-Bien-Choisi"),
                ("confirm", "Tr0p-Bien-Choisi"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    p.stop().await;

    // The new password survives a restart; the old one is gone.
    let p = portal(dir.path(), &clock).await;
    let mut c = p.client();
    let token = extract_csrf(&c.get("/login").await.body).unwrap();
    let old = c
        .post(
            "/login",
            &[("_csrf", &token), ("login", "lea"), ("password", "lea-pw")],
        )
        .await;
    assert_eq!(old.status, 401);
    c.login("lea", "Tr0p-Bien-Choisi").await;

    // An admin regenerates it; the page shows the new one once.
    let mut admin = p.login("nadia").await;
    let r = admin.post_csrf("/admin/password", &[("uid", "lea")]).await;
    assert_eq!(r.status, 200);
    let marker = "<strong>lea</strong> : <code>";
    let start = r.body.find(marker).expect("new password shown") + marker.len();
    let generated = &r.body[start..start + r.body[start..].find('<').unwrap()];
    let mut fresh = p.client();
    fresh.login("lea", generated).await;
    // Pupils cannot reach it.
    assert_eq!(
        c.post_csrf("/admin/password", &[("uid", "paul")])
            .await
            .status,
        403
    );
    p.stop().await;
}
