//! The portal's form and query decoding (`parse_params_bytes`, the first value of a
//! name wins) and its redirect check (`security::safe_redirect`), on any bytes.
//!
//! - What the decoder accepts re-encodes and decodes to the same parameters.
//! - A `next` target the check accepts stays on the portal: resolved against the
//!   portal's URL, as a browser would, it keeps the portal's scheme and host and a path
//!   under the base path.

#![no_main]

use std::sync::LazyLock;

use cartable_portal::fuzzing::parse_params_bytes;
use cartable_portal::security::safe_redirect;
use libfuzzer_sys::fuzz_target;
use url::Url;

static PORTAL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://portal.example/").expect("a valid URL"));

fuzz_target!(|data: &[u8]| {
    let params = parse_params_bytes(data);
    let mut encoder = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &params {
        encoder.append_pair(name, value);
    }
    let encoded = encoder.finish();
    assert_eq!(
        parse_params_bytes(encoded.as_bytes()),
        params,
        "re-encoded as {encoded:?}"
    );

    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    for base in ["", "/ent"] {
        let fallback = "/fallback";
        let kept = safe_redirect(target, base, fallback);
        if kept == fallback && target != fallback {
            continue;
        }
        let url = PORTAL
            .join(kept)
            .unwrap_or_else(|e| panic!("accepted target {kept:?} is not a URL path: {e}"));
        assert_eq!(url.scheme(), "https", "{kept:?} leaves the portal: {url}");
        assert_eq!(
            url.host_str(),
            Some("portal.example"),
            "{kept:?} leaves the portal: {url}"
        );
        assert_eq!(url.port(), None, "{kept:?} leaves the portal: {url}");
        assert!(
            url.path().starts_with(&format!("{base}/")),
            "{kept:?} leaves the base path {base:?}: {url}"
        );
    }
});
