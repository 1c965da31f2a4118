//! The wire format of the remote-portlet protocol: endpoints, headers, JSON shapes.
//!
//! Both sides use these types, so the producer and the consumer cannot drift apart.
//! `docs/remote-protocol.md` describes the same thing for implementers in other languages.
//! Unknown JSON fields are ignored on purpose: a newer peer may add fields.

use std::collections::BTreeMap;
use std::time::Duration;

use cartable_portlet::{
    Audience, CachePolicy, Descriptor, Event, LocalizedText, Mode, Params, PreferenceSpec,
    WindowState, is_valid_id,
};
use cartable_socle::{Person, Profile};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// The protocol name and version, in the service description and the first line of every
/// string to sign.
///
/// Version 2 added the `cartable-nonce` header to the signed material and the producer's
/// replay cache: a version 1 call (no nonce, `v1=` signature) is refused.
pub const PROTOCOL: &str = "cartable-remote/2";

/// The URL scheme of placeholders in remote markup (`cartable-remote:/action/…`).
pub const URL_SCHEME: &str = "cartable-remote";

/// The base the producer gives its portlets' URL builders: every URL a remote portlet
/// writes starts with it, and the consumer turns it into its own portal URL.
pub const URL_BASE: &str = "cartable-remote:";

/// The CSRF token the producer gives its portlets; the consumer replaces it with the
/// reader's session token (only inside form field values when the producer is untrusted).
pub const CSRF_PLACEHOLDER: &str = "cartable-remote-csrf-placeholder";

/// Header: the id of the key that signed the request (it names the consumer).
pub const HEADER_KEY_ID: &str = "cartable-key-id";
/// Header: when the signature stops being valid, in seconds since the Unix epoch.
pub const HEADER_EXPIRES: &str = "cartable-expires";
/// Header: `v2=` and the lower-case hex HMAC-SHA256 of the string to sign.
pub const HEADER_SIGNATURE: &str = "cartable-signature";
/// Header: 128 random bits, as 32 lower-case hex digits, fresh for every call and signed;
/// the producer accepts each nonce of a key once.
pub const HEADER_NONCE: &str = "cartable-nonce";
/// Header of a resource answer: the status the portlet gave its resource.
pub const HEADER_RESOURCE_STATUS: &str = "cartable-resource-status";
/// Header of a resource answer: the download file name, percent-encoded.
pub const HEADER_ATTACHMENT: &str = "cartable-attachment";

/// The endpoints, relative to the producer's base URL.
pub mod endpoints {
    /// `GET`: the [`ServiceDescription`](super::ServiceDescription).
    pub const DESCRIPTION: &str = "description";
    /// `POST portlets/{id}/markup`: a [`CallContext`](super::CallContext) →
    /// [`MarkupResponse`](super::MarkupResponse).
    pub const MARKUP: &str = "markup";
    /// `POST portlets/{id}/action`: an [`ActionCall`](super::ActionCall) →
    /// [`ActionResult`](super::ActionResult).
    pub const ACTION: &str = "action";
    /// `POST portlets/{id}/resource/{resource}`: a [`ResourceCall`](super::ResourceCall) →
    /// the resource's bytes.
    pub const RESOURCE: &str = "resource";
    /// `POST portlets/{id}/event`: an [`EventCall`](super::EventCall) →
    /// [`EventResult`](super::EventResult).
    pub const EVENT: &str = "event";
}

/// What a producer offers: `GET {base}/description`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDescription {
    /// Always [`PROTOCOL`].
    pub protocol: String,
    /// The producer's name, for logs and messages.
    pub producer: String,
    /// The portlets offered to this consumer.
    pub portlets: Vec<PortletDescription>,
}

/// One portlet in a [`ServiceDescription`]: its descriptor, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortletDescription {
    /// The producer's id of the portlet, `[a-z0-9-]`.
    pub id: String,
    /// Title of its windows.
    pub title: LocalizedText,
    /// One-line description for the catalogue.
    #[serde(default)]
    pub description: LocalizedText,
    /// Supported modes.
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// Supported window states.
    #[serde(default)]
    pub states: Vec<WindowState>,
    /// Catalogue categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Profiles allowed to see it; absent for everyone.
    #[serde(default)]
    pub profiles: Option<Vec<Profile>>,
    /// How long its markup may be reused (informative: each markup answer carries its own
    /// `Cache-Control`).
    #[serde(default)]
    pub cache: CacheDescription,
    /// Its preferences.
    #[serde(default)]
    pub preferences: Vec<PreferenceDescription>,
    /// Event names it consumes.
    #[serde(default)]
    pub consumes: Vec<String>,
}

/// A portlet's [`CachePolicy`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CacheDescription {
    /// `none`, `per-user` or `shared`.
    pub policy: CacheScope,
    /// How long, in seconds (0 with `none`).
    #[serde(default)]
    pub seconds: u64,
}

/// Who may share a cached fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheScope {
    /// Render every time.
    #[default]
    None,
    /// Reuse for the same user.
    PerUser,
    /// Reuse for everyone.
    Shared,
}

/// A [`PreferenceSpec`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceDescription {
    /// Its name.
    pub name: String,
    /// The label of its field.
    pub label: LocalizedText,
    /// Its default value.
    #[serde(default)]
    pub default: String,
    /// The values allowed; empty for free text.
    #[serde(default)]
    pub choices: Vec<String>,
    /// The longest value, in characters.
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    /// Edited in a text area.
    #[serde(default)]
    pub multiline: bool,
}

fn default_max_len() -> usize {
    200
}

/// Why a [`PortletDescription`] cannot become a local [`Descriptor`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the producer describes portlet {id:?} wrongly: {reason}; fix the producer or leave this portlet out of `portlets`"
)]
pub struct DescriptionError {
    /// The remote id.
    pub id: String,
    /// What is wrong.
    pub reason: String,
}

impl PortletDescription {
    /// Describe a local portlet for consumers.
    pub fn from_descriptor(d: &Descriptor) -> Self {
        let cache = match d.cache {
            CachePolicy::PerUser(ttl) => CacheDescription {
                policy: CacheScope::PerUser,
                seconds: ttl.as_secs(),
            },
            CachePolicy::Shared(ttl) => CacheDescription {
                policy: CacheScope::Shared,
                seconds: ttl.as_secs(),
            },
            // No cache, and any policy this version does not know.
            _ => CacheDescription::default(),
        };
        PortletDescription {
            id: d.id.clone(),
            title: d.title.clone(),
            description: d.description.clone(),
            modes: d.modes.clone(),
            states: d.states.clone(),
            categories: d.categories.clone(),
            profiles: match &d.audience {
                Audience::Everyone => None,
                Audience::Profiles(p) => Some(p.clone()),
                // An audience this version cannot describe is offered to nobody.
                _ => Some(Vec::new()),
            },
            cache,
            preferences: d
                .preferences
                .iter()
                .map(|p| PreferenceDescription {
                    name: p.name.clone(),
                    label: p.label.clone(),
                    default: p.default.clone(),
                    choices: p.choices.clone(),
                    max_len: p.max_len,
                    multiline: p.multiline,
                })
                .collect(),
            consumes: d.consumes.clone(),
        }
    }

    /// The descriptor a consumer registers under `local_id`. Its cache policy is
    /// `NoCache`: the consumer honours the producer's HTTP cache directives itself.
    pub fn to_descriptor(&self, local_id: &str) -> Result<Descriptor, DescriptionError> {
        let fail = |reason: String| DescriptionError {
            id: self.id.clone(),
            reason,
        };
        if !is_valid_id(local_id) {
            return Err(fail(format!(
                "its local id {local_id:?} is not [a-z0-9-] of 1 to 64 characters (set one in `local_ids`)"
            )));
        }
        let mut preferences = Vec::with_capacity(self.preferences.len());
        for p in &self.preferences {
            if p.name.is_empty() || p.name.len() > 64 || p.name.chars().any(char::is_control) {
                return Err(fail(format!("preference name {:?} is invalid", p.name)));
            }
            let mut spec = PreferenceSpec::new(&p.name, p.label.clone(), &p.default)
                .max_len(p.max_len)
                .choices(p.choices.clone());
            spec.multiline = p.multiline;
            preferences.push(spec);
        }
        let mut modes = vec![Mode::View];
        for m in &self.modes {
            if !modes.contains(m) {
                modes.push(*m);
            }
        }
        if !preferences.is_empty() && !modes.contains(&Mode::Edit) {
            modes.push(Mode::Edit);
        }
        let mut states = vec![WindowState::Normal];
        for s in &self.states {
            if !states.contains(s) {
                states.push(*s);
            }
        }
        Ok(Descriptor {
            id: local_id.to_string(),
            title: self.title.clone(),
            description: self.description.clone(),
            modes,
            states,
            categories: self.categories.clone(),
            audience: match &self.profiles {
                None => Audience::Everyone,
                Some(p) => Audience::Profiles(p.clone()),
            },
            cache: CachePolicy::NoCache,
            preferences,
            consumes: self.consumes.clone(),
            // Files are not relayed over the remote protocol: a remote window takes none.
            upload_limit: 0,
            // A group's data lives in this ENT: a remote service offers no group tool.
            group_tool: None,
        })
    }

    /// The cache policy it declared.
    pub fn cache_policy(&self) -> CachePolicy {
        let ttl = Duration::from_secs(self.cache.seconds);
        match self.cache.policy {
            CacheScope::None => CachePolicy::NoCache,
            CacheScope::PerUser => CachePolicy::PerUser(ttl),
            CacheScope::Shared => CachePolicy::Shared(ttl),
        }
    }
}

/// The window a call is for, as the consumer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRef {
    /// The consumer's window id: the producer uses it for the namespace (`w-<id>`), so
    /// element ids stay unique on the consumer's page.
    pub id: String,
    /// The consumer's tab (informative).
    pub tab: String,
    /// The mode.
    pub mode: Mode,
    /// The state.
    pub state: WindowState,
}

/// One preference value, as the consumer resolved it (layers applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceValue {
    /// The effective value.
    pub value: String,
    /// Locked by the consumer's établissement.
    #[serde(default)]
    pub locked: bool,
}

/// What every portlet call carries: who, where, how (the body of a markup call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    /// The user: id (uid), display name, profiles and the attributes the consumer passes.
    pub user: Person,
    /// The window.
    pub window: WindowRef,
    /// The window's preferences, by name.
    #[serde(default)]
    pub preferences: BTreeMap<String, PreferenceValue>,
    /// Render parameters.
    #[serde(default)]
    pub params: Params,
    /// The page language (`fr`, `en`).
    pub locale: String,
}

/// The answer to a markup call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupResponse {
    /// The HTML fragment, with URL and CSRF placeholders.
    pub markup: String,
    /// A title replacing the descriptor's.
    #[serde(default)]
    pub title: Option<String>,
}

/// The body of an action call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCall {
    /// Who, where, how.
    pub context: CallContext,
    /// The posted form, without `_csrf`.
    #[serde(default)]
    pub form: Params,
}

/// The answer to an action call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionResult {
    /// Render parameters after the redirect.
    #[serde(default)]
    pub params: Params,
    /// A mode to switch to.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// A state to switch to.
    #[serde(default)]
    pub state: Option<WindowState>,
    /// Events for the consumer's other windows.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Preference values the portlet changed; the consumer stores them.
    #[serde(default)]
    pub preferences: Params,
}

/// The body of a resource call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceCall {
    /// Who, where, how.
    pub context: CallContext,
    /// `GET` or `POST`, as the browser asked the consumer.
    pub method: String,
    /// Query parameters and form fields.
    #[serde(default)]
    pub params: Params,
    /// The raw body of a non-form POST, base64.
    #[serde(default)]
    pub body: String,
}

/// The body of an event call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCall {
    /// Who, where, how.
    pub context: CallContext,
    /// The event.
    pub event: Event,
}

/// The answer to an event call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventResult {
    /// More events.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Preference values the portlet changed.
    #[serde(default)]
    pub preferences: Params,
}

/// Every error answer: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable code (see [`ErrorCode`]).
    pub code: ErrorCode,
    /// A message for people.
    pub message: String,
}

/// The stable error codes and their HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 401: missing, unknown, forged or expired signature.
    Unauthorized,
    /// 400: malformed call, or the portlet refused the input.
    BadRequest,
    /// 403: the user may not use this portlet.
    Forbidden,
    /// 404: no such endpoint, portlet or resource.
    NotFound,
    /// 405: wrong method for the endpoint.
    MethodNotAllowed,
    /// 409: the portlet reports a conflict.
    Conflict,
    /// 413: the call's body is too large.
    TooLarge,
    /// 500: the portlet failed or panicked.
    Internal,
    /// 503: a service behind the portlet is unavailable.
    Unavailable,
    /// 504: the portlet missed the producer's deadline.
    Timeout,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip_through_json() {
        let d = Descriptor::new("cahier", LocalizedText::fr("Cahier").with("en", "Diary"))
            .mode(Mode::Help)
            .category("vie scolaire")
            .profiles([Profile::Eleve, Profile::Enseignant])
            .preference(PreferenceSpec::new("jours", "Jours", "7").choices(["7", "14"]))
            .consumes("classe")
            .cache(CachePolicy::PerUser(Duration::from_secs(60)));
        let wire = PortletDescription::from_descriptor(&d);
        let json = serde_json::to_string(&wire).unwrap();
        assert!(
            json.contains(r#""policy":"per-user","seconds":60"#),
            "{json}"
        );
        let back: PortletDescription = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cache_policy(), d.cache);
        let local = back.to_descriptor("ent-b-cahier").unwrap();
        assert_eq!(local.id, "ent-b-cahier");
        assert_eq!(local.title.get("en"), "Diary");
        assert!(local.supports_mode(Mode::Edit) && local.supports_mode(Mode::Help));
        assert_eq!(local.preferences, d.preferences);
        assert_eq!(local.audience, d.audience);
        assert_eq!(local.consumes, ["classe"]);
        assert_eq!(
            local.cache,
            CachePolicy::NoCache,
            "the consumer caches by HTTP"
        );
    }

    #[test]
    fn bad_local_ids_are_refused_with_a_hint() {
        let wire = PortletDescription::from_descriptor(&Descriptor::new("x", "X"));
        let err = wire.to_descriptor("Prod.x").unwrap_err();
        assert!(err.to_string().contains("local_ids"), "{err}");
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let json = r#"{"id":"x","title":{"fr":"X","others":{}},"future":1}"#;
        let d: PortletDescription = serde_json::from_str(json).unwrap();
        assert_eq!(d.to_descriptor("x").unwrap().modes, [Mode::View]);
    }
}
