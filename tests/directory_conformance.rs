//! The identity conformance suite on the embedded LDIF directory. The LDAP backend runs
//! the same suite against slapd in `crates/cartable-ldap/tests/`.

use cartable::ldif::LdifDirectory;
use cartable::testing::conformance::{LYCEE_FIXTURE, check_directory};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldif_directory_passes_the_conformance_suite() {
    let dir = LdifDirectory::parse(LYCEE_FIXTURE).expect("the fixture parses");
    assert!(dir.len() >= 200, "{} people", dir.len());
    check_directory(&dir).await;
}
