//! What goes into and comes out of the four phases.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use cartable_socle::files::StoredFile;

use crate::upload::Uploads;
use crate::{Markup, Mode, Params, PortletError, WindowState};

/// A stylesheet or script a fragment needs in the page head (served by the portal, same
/// origin: the Content-Security-Policy refuses others).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeadResource {
    /// `<link rel="stylesheet" href=…>`
    Stylesheet(String),
    /// `<script src=… defer>`; pages must still work without it.
    Script(String),
}

/// The result of `render`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderResponse {
    /// The fragment.
    pub markup: Markup,
    /// A title replacing the descriptor's for this render.
    pub title: Option<String>,
    /// Head resources.
    pub head: Vec<HeadResource>,
}

impl RenderResponse {
    /// A response with this markup.
    pub fn new(markup: Markup) -> Self {
        RenderResponse {
            markup,
            ..Default::default()
        }
    }

    /// Set the window title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Ask for a head resource.
    pub fn head(mut self, resource: HeadResource) -> Self {
        self.head.push(resource);
        self
    }
}

impl From<Markup> for RenderResponse {
    fn from(markup: Markup) -> Self {
        RenderResponse::new(markup)
    }
}

/// A form posted to the window's action URL (the portal has already checked `_csrf`
/// and removed it).
#[derive(Debug, Default)]
pub struct ActionRequest {
    /// The form fields (of a `multipart/form-data` form: those before its first file).
    pub form: Params,
    /// The files of a `multipart/form-data` form, streamed ([`crate::upload`]).
    pub files: Uploads,
}

impl ActionRequest {
    /// A request with these form fields and no file.
    pub fn new(form: Params) -> Self {
        ActionRequest {
            form,
            files: Uploads::none(),
        }
    }

    /// A form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }

    /// A required form field, or a [`PortletError::BadRequest`] naming it.
    pub fn required(&self, name: &str) -> Result<&str, PortletError> {
        self.field(name)
            .ok_or_else(|| PortletError::BadRequest(format!("missing field {name:?}")))
    }
}

/// An inter-portlet event (JSR-286 style): emitted by an action, delivered to the windows
/// of the same page whose descriptor consumes its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Qualified name, e.g. `"vie-scolaire.classe-choisie"`.
    pub name: String,
    /// Data.
    pub payload: serde_json::Value,
}

impl Event {
    /// A new event.
    pub fn new(name: &str, payload: serde_json::Value) -> Self {
        Event {
            name: name.to_string(),
            payload,
        }
    }
}

/// The result of `action`: where the portal redirects (post/redirect/get) and what else
/// happens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionResponse {
    /// Render parameters for the window after the redirect.
    pub params: Params,
    /// A mode to switch the window to.
    pub mode: Option<Mode>,
    /// A state to switch the window to.
    pub state: Option<WindowState>,
    /// Events for the other windows of the page.
    pub events: Vec<Event>,
}

impl ActionResponse {
    /// Set a render parameter for the page after the redirect.
    pub fn param(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }

    /// Switch mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Switch window state.
    pub fn state(mut self, state: WindowState) -> Self {
        self.state = Some(state);
        self
    }

    /// Emit an event.
    pub fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }
}

/// A request to one of the window's resources.
#[derive(Debug)]
pub struct ResourceRequest {
    /// The resource id (last segment of the resource URL).
    pub id: String,
    /// GET or POST (POSTs carry a checked `_csrf`).
    pub method: Method,
    /// Query parameters and form fields (of a `multipart/form-data` POST: those before
    /// its first file).
    pub params: Params,
    /// The raw body of a POST that is neither a form nor `multipart/form-data`.
    pub body: Bytes,
    /// The files of a `multipart/form-data` POST, streamed ([`crate::upload`]).
    pub files: Uploads,
}

impl ResourceRequest {
    /// A GET of resource `id` with these parameters.
    pub fn get(id: &str, params: Params) -> Self {
        ResourceRequest {
            id: id.to_string(),
            method: Method::GET,
            params,
            body: Bytes::new(),
            files: Uploads::none(),
        }
    }
}

/// The result of `resource`: the whole HTTP response body, nothing else rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceResponse {
    /// Status code.
    pub status: StatusCode,
    /// Content type.
    pub content_type: String,
    /// Offer as a download with this file name.
    pub attachment: Option<String>,
    /// Body.
    pub body: Bytes,
    /// A stored file to send instead of `body` ([`ResourceResponse::file`]).
    pub file: Option<StoredFile>,
}

impl ResourceResponse {
    /// A JSON response.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, PortletError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| PortletError::Internal(format!("cannot encode JSON: {e}")))?;
        Ok(Self::bytes("application/json", body))
    }

    /// An HTML fragment.
    pub fn html(markup: Markup) -> Self {
        Self::bytes("text/html; charset=utf-8", markup.into_string())
    }

    /// Plain text.
    pub fn text(text: impl Into<String>) -> Self {
        Self::bytes("text/plain; charset=utf-8", text.into())
    }

    /// Any bytes with a content type.
    pub fn bytes(content_type: &str, body: impl Into<Bytes>) -> Self {
        ResourceResponse {
            status: StatusCode::OK,
            content_type: content_type.to_string(),
            attachment: None,
            body: body.into(),
            file: None,
        }
    }

    /// A file of the socle's file store, which the portal streams from it: with
    /// `Content-Length`, byte ranges (`Range`, `206`), an `ETag` (`304` to
    /// `If-None-Match`) and a safe `Content-Disposition`. Images, PDF, plain text, audio
    /// and video are shown in the browser; any other type (HTML, SVG, XML…) is sent as a
    /// download, and every file under a sandboxing `Content-Security-Policy`, so a
    /// user's file never runs script on the portal's origin. Check that the user may
    /// read the file before answering it; add [`attachment`](Self::attachment) to
    /// always offer it as a download.
    pub fn file(file: StoredFile) -> Self {
        ResourceResponse {
            status: StatusCode::OK,
            content_type: file.content_type.clone(),
            attachment: None,
            body: Bytes::new(),
            file: Some(file),
        }
    }

    /// Offer as a download.
    pub fn attachment(mut self, filename: &str) -> Self {
        self.attachment = Some(filename.to_string());
        self
    }
}
