//! The remote producer (`cartable_remote::Producer::handle`) on any HTTP request: the
//! signature headers are checked (`Verifier::verify`), then the route and the call's JSON
//! are read; every answer is a JSON error or a portlet's answer, never a panic.
//!
//! The input is raw HTTP/1.1 (`POST /portlets/probe/markup HTTP/1.1\r\n…\r\n\r\n{json}`).
//! A request without a `cartable-signature` header is signed here with the consumer's
//! key, so the fuzzer gets past authentication and into the JSON; one with the header is
//! verified as it is (forged, malformed or expired signatures).

#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use cartable_portlet::prelude::*;
use cartable_remote::protocol::{ErrorBody, HEADER_SIGNATURE};
use cartable_remote::{Producer, SigningKey};
use http::StatusCode;
use libfuzzer_sys::fuzz_target;

const KEY_ID: &str = "ent-a";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A portlet that uses what a call carries: user, preferences, parameters, form.
struct Probe(Descriptor);

#[async_trait]
impl Portlet for Probe {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::trusted_html(format!(
            r#"<p>{} {} {}</p><form method="post" action="{}">{}</form>"#,
            cartable_portlet::markup::escape(&ctx.user().display_name),
            cartable_portlet::markup::escape(ctx.preferences.get("color").unwrap_or("")),
            cartable_portlet::markup::escape(ctx.param("x").unwrap_or("")),
            ctx.urls().action().param("x", ctx.param("x").unwrap_or("")),
            ctx.csrf_field()
        ))
        .into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        req: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        ctx.preferences.set("color", req.required("color")?)?;
        Ok(ActionResponse::default().param("done", "1"))
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        _req: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        let mut out = ResourceResponse::json(&ctx.param("x"))?;
        out.attachment = ctx.param("name").map(str::to_string);
        Ok(out)
    }

    async fn event(
        &self,
        _ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        Ok(vec![Event::new("probe.seen", event.payload.clone())])
    }
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
});

static PRODUCER: LazyLock<Producer> = LazyLock::new(|| {
    let probe = Probe(
        Descriptor::new("probe", "Sonde")
            .preference(PreferenceSpec::new("color", "Couleur", "bleu").choices(["bleu", "vert"]))
            .consumes("classe"),
    );
    Producer::builder("fuzz")
        .consumer(KEY_ID, SECRET)
        .expect("a valid key")
        .portlet(Arc::new(probe))
        .deadline(Duration::from_secs(5))
        .build()
        .expect("a valid producer")
});

static KEY: LazyLock<SigningKey> =
    LazyLock::new(|| SigningKey::new(KEY_ID, SECRET).expect("a valid key"));

fuzz_target!(|data: &[u8]| {
    let Some(mut req) = cartable_fuzz::raw_request(data) else {
        return;
    };
    let signed_here = !req.headers().contains_key(HEADER_SIGNATURE);
    if signed_here {
        let path_and_query = req.uri().path_and_query().map_or_else(
            || req.uri().path().to_string(),
            |pq| pq.as_str().to_string(),
        );
        for (name, value) in KEY.headers(
            req.method(),
            &path_and_query,
            req.body(),
            Duration::from_secs(60),
        ) {
            req.headers_mut()
                .insert(name, value.parse().expect("signature headers are ASCII"));
        }
    }
    let response = RUNTIME.block_on(PRODUCER.handle(req));
    let status = response.status();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the probe portlet never fails: {:?}",
        String::from_utf8_lossy(response.body())
    );
    if status.is_client_error() || status.is_server_error() {
        let body: &Bytes = response.body();
        let error: ErrorBody = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "a {status} answer that is not an error body ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        });
        assert_eq!(error.error.code.status(), status);
        if signed_here {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{}", error.error.message);
        }
    }
});
