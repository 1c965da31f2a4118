//! The remote protocol's JSON messages (`cartable_remote::protocol`), as each side reads
//! them from the other: whatever decodes re-encodes and decodes to the same value, a
//! service description becomes local descriptors or a `DescriptionError`, and a
//! `Cache-Control` value parses to bounded directives, never a panic.
//!
//! The first byte picks the message type, the rest is the JSON.

#![no_main]

use std::fmt::Debug;
use std::time::Duration;

use cartable_remote::cache::CacheDirectives;
use cartable_remote::protocol::{
    ActionCall, ActionResult, CallContext, ErrorBody, EventCall, EventResult, MarkupResponse,
    PortletDescription, ResourceCall, ServiceDescription,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T>(json: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value: T = serde_json::from_slice(json).ok()?;
    let encoded = serde_json::to_vec(&value).expect("a decoded message encodes");
    let again: T = serde_json::from_slice(&encoded).unwrap_or_else(|e| {
        panic!(
            "{value:?} encodes as {:?}, which does not decode: {e}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(value, again, "the message changed through JSON");
    Some(value)
}

fn describe(portlet: &PortletDescription) {
    let _ = portlet.cache_policy();
    for local_id in ["remote-x", portlet.id.as_str()] {
        if let Ok(d) = portlet.to_descriptor(local_id) {
            assert_eq!(d.id, local_id);
            assert_eq!(d.modes.first(), Some(&cartable_portlet::Mode::View));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, json)) = data.split_first() else {
        return;
    };
    match kind % 11 {
        0 => {
            if let Some(d) = round_trip::<ServiceDescription>(json) {
                d.portlets.iter().for_each(describe);
            }
        }
        1 => {
            if let Some(p) = round_trip::<PortletDescription>(json) {
                describe(&p);
            }
        }
        2 => drop(round_trip::<CallContext>(json)),
        3 => drop(round_trip::<MarkupResponse>(json)),
        4 => drop(round_trip::<ActionCall>(json)),
        5 => drop(round_trip::<ActionResult>(json)),
        6 => drop(round_trip::<ResourceCall>(json)),
        7 => drop(round_trip::<EventCall>(json)),
        8 => drop(round_trip::<EventResult>(json)),
        9 => {
            if let Some(e) = round_trip::<ErrorBody>(json) {
                let _ = e.error.code.status();
            }
        }
        _ => {
            let value = std::str::from_utf8(json).ok();
            let d = CacheDirectives::parse(value);
            assert!(d.max_age.is_none_or(|a| a <= Duration::from_secs(86_400)));
        }
    }
});
