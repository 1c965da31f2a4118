//! `examples/custom_routes.rs`, the établissement binary that adds a route and a layer
//! of its own to the portal's router: its route, its layer and the portal's routes all
//! answer, with the portal's security headers.

mod common;

use common::process::example;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etablissement_adds_its_route_and_layer_to_the_portal() {
    let data = tempfile::tempdir().unwrap();
    let server = example("custom_routes", data.path());
    let mut c = Client::new(&server.base);

    // The établissement's route, with its layer and the portal's security headers.
    let r = c.get("/etab/horaires").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Horaires du lycée"), "{}", r.body);
    assert_eq!(r.header("x-etablissement"), Some("lycee-hugo"));
    assert!(r.header("content-security-policy").is_some());

    // A portal route: the login form, through the portal's layers and the new one.
    let r = c.get("/login").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("name=\"_csrf\""));
    assert_eq!(r.header("x-etablissement"), Some("lycee-hugo"));
    assert!(r.header("content-security-policy").is_some());
    assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));

    // The portal still logs in, and its pages ask for a login first.
    let r = c.login("eleve", "eleve").await;
    assert_eq!(r.header("x-etablissement"), Some("lycee-hugo"));
    let r = c.get("/compte").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut anonymous = Client::new(&server.base);
    let r = anonymous.get("/compte").await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?next="), "{}", r.location());
    // Paths of neither: the portal's 404 (for a user), still with the new layer.
    let r = c.get("/etab/nulle-part").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-etablissement"), Some("lycee-hugo"));
}
