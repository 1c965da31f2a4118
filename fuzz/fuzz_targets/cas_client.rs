//! The CAS client's readers (`cartable_cas::client`), for a portal that delegates its
//! login: a CAS server's `serviceValidate` answer and its back-channel logout request,
//! on any text, give a user, a ticket or an error, never a panic.
//!
//! - A user read is never empty, and a DOCTYPE is always refused.
//! - Round trip: the answer the portal's own CAS server writes (`response::success_xml`)
//!   for a user named by the input reads back as that user (trimmed).

#![no_main]

use std::collections::BTreeMap;

use cartable_cas::client::{parse_logout_request, parse_validation};
use cartable_cas::response::{logout_request, success_xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_validation(text) {
        Ok(user) => {
            assert!(!user.user.is_empty());
            assert!(!text.contains("<!DOCTYPE"), "a DOCTYPE was accepted");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Some(ticket) = parse_logout_request(text) {
        assert!(!ticket.is_empty() && ticket == ticket.trim());
    }

    // Round trips, for names XML can carry (no control character but tab and newline).
    if text.len() > 1024
        || text
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        return;
    }
    let attributes = BTreeMap::from([("mail".to_string(), vec![text.to_string()])]);
    let answer = success_xml(text, &attributes);
    let expected = text.trim();
    match parse_validation(&answer) {
        Ok(user) => {
            assert_eq!(user.user, expected, "answer: {answer}");
            assert_eq!(user.attributes["mail"], [expected], "answer: {answer}");
        }
        Err(e) => assert!(expected.is_empty(), "{e} for the answer {answer}"),
    }
    let request = logout_request(text, "LR-1", "2026-12-06T00:00:00Z");
    assert_eq!(
        parse_logout_request(&request).as_deref(),
        (!expected.is_empty()).then_some(expected),
        "request: {request}"
    );
});
