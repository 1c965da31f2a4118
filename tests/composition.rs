//! Error windows, the fragment cache and inter-portlet events, over real HTTP.

mod common;

use std::sync::atomic::Ordering;

use common::*;

const CONFIG: &str = r#"
deadline_ms = 2000
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "failing" }, { portlet = "cached" }], [{ portlet = "emitter" }, { portlet = "listener" }]]
[[layouts.default.tabs]]
id = "autre"
title = "Autre"
columns = [[{ portlet = "listener", id = "listener-autre" }]]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_cache_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let calls = counter_calls();
    let p = TestPortal::start(
        CONFIG,
        dir.path(),
        vec![
            Failing::shared(),
            Cached::shared(calls.clone()),
            Emitter::shared(),
            Listener::shared(),
        ],
    )
    .await;

    // A portlet returning an error: its box, status 200, the others intact; the error's
    // detail stays in the logs.
    let mut lea = p.login("lea").await;
    let page = lea.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("a rencontré une erreur"));
    assert!(!page.body.contains("backend said no"));
    assert!(page.body.contains("RENDERS=1"));
    assert!(page.body.contains("LAST="));

    // The cached fragment is reused, with this session's token in its form.
    let page = lea.get("/page/accueil").await;
    assert!(page.body.contains("RENDERS=1"), "served from the cache");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let token = lea.csrf().await;
    assert!(
        page.body
            .contains(&format!(r#"name="_csrf" value="{token}""#))
    );
    // Another user gets her own fragment and her own token.
    let mut paul = p.login("paul").await;
    let other = paul.get("/page/accueil").await;
    assert!(other.body.contains("RENDERS=2"));
    assert!(!other.body.contains(&token));
    // An action on the portlet makes the user's fragment stale.
    assert_eq!(
        lea.post_csrf("/action/accueil/cached", &[]).await.status,
        303
    );
    assert!(lea.get("/page/accueil").await.body.contains("RENDERS=3"));

    // Events: the emitter's action reaches the listener on the same tab only.
    let r = lea
        .post_csrf("/action/accueil/emitter", &[("n", "42")])
        .await;
    assert_eq!(r.status, 303);
    let after = lea.get("/page/accueil").await.body;
    assert!(after.contains("LAST=42;"), "{after}");
    assert!(
        lea.get("/page/autre").await.body.contains("LAST=;"),
        "other tab untouched"
    );
    p.stop().await;
}
