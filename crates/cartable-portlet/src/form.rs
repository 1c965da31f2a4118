//! Forms that come back: an action that refuses what the user typed answers with an
//! [`InvalidForm`] (the messages per field and the values as typed), and the window shows
//! it on its next render, in place, without JavaScript.
//!
//! The portal keeps the form on the server for that one render (never in the URL: a long
//! text could not travel there, and it is the user's to keep private), then forgets it.
//! The test kit does the same, so a test asserts on the window as the user sees it.
//!
//! ```
//! use cartable_portlet::prelude::*;
//! use cartable_portlet::form::InvalidForm;
//!
//! fn check(request: &ActionRequest) -> Result<String, PortletError> {
//!     let mut form = InvalidForm::new(request);
//!     let title = request.field("title").unwrap_or("").trim();
//!     if title.is_empty() {
//!         form.field("title", "Donnez un titre.");
//!     }
//!     form.check()?; // Err(PortletError::Invalid(…)) when a message was added
//!     Ok(title.to_string())
//! }
//!
//! let mut request = ActionRequest::default();
//! request.form.insert("title".into(), " ".into());
//! request.form.insert("body".into(), "Un long texte…".into());
//! let err = check(&request).unwrap_err();
//! let form = err.invalid_form().unwrap();
//! assert_eq!(form.errors_for("title").collect::<Vec<_>>(), ["Donnez un titre."]);
//! assert_eq!(form.value("body"), Some("Un long texte…"));
//! ```
//!
//! In a template rendered with [`Templates::render_for`](crate::Templates::render_for),
//! `form` is always defined (empty when nothing was refused): `form.values.title` is what
//! was typed, `form.errors.title` the list of messages about `title`, `form.general` the
//! messages about the whole form. The portal also writes a summary of the messages at the
//! top of the window (`role="alert"`), so a portlet that shows none still tells the user.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::{ActionRequest, Params, PortletError};

/// The most a kept form may hold, values and messages together: more is cut (the values
/// first), so a refused form never grows the server's memory or storage without bound.
pub const MAX_KEPT_BYTES: usize = 256 * 1024;

/// One message of an invalid form: about one field, or about the whole form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormMessage {
    /// The field's name in the form, or `None` for the whole form.
    pub field: Option<String>,
    /// What is wrong and how to fix it, in the page language.
    pub message: String,
}

/// What an action refused, to show again in the window: messages and values as typed.
///
/// Values of fields whose name contains `password` or `mot_de_passe` are never kept (the
/// user types them again), nor are those removed with [`InvalidForm::forget`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidForm {
    values: Params,
    messages: Vec<FormMessage>,
}

impl InvalidForm {
    /// A report on `request` with no message yet, keeping the values it carried.
    pub fn new(request: &ActionRequest) -> Self {
        InvalidForm {
            values: request
                .form
                .iter()
                .filter(|(name, _)| !is_secret(name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            messages: Vec::new(),
        }
    }

    /// Add a message about the field `name`.
    pub fn field(&mut self, name: &str, message: impl Into<String>) -> &mut Self {
        self.messages.push(FormMessage {
            field: Some(name.to_string()),
            message: message.into(),
        });
        self
    }

    /// Add a message about the whole form.
    pub fn general(&mut self, message: impl Into<String>) -> &mut Self {
        self.messages.push(FormMessage {
            field: None,
            message: message.into(),
        });
        self
    }

    /// Do not keep the value of `name` (a secret, a file the user picks again).
    pub fn forget(&mut self, name: &str) -> &mut Self {
        self.values.remove(name);
        self
    }

    /// Whether no message was added.
    pub fn is_valid(&self) -> bool {
        self.messages.is_empty()
    }

    /// `Ok(())` when no message was added, else the error that makes the portal show the
    /// form again: return it from the action with `?`.
    pub fn check(self) -> Result<(), PortletError> {
        if self.is_valid() {
            Ok(())
        } else {
            Err(PortletError::Invalid(Box::new(self)))
        }
    }

    /// The value typed in `name`, if kept.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every value kept.
    pub fn values(&self) -> &Params {
        &self.values
    }

    /// Every message, in the order added.
    pub fn messages(&self) -> &[FormMessage] {
        &self.messages
    }

    /// The messages about the field `name`.
    pub fn errors_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.messages
            .iter()
            .filter(move |m| m.field.as_deref() == Some(name))
            .map(|m| m.message.as_str())
    }

    /// The messages about the whole form.
    pub fn general_errors(&self) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .filter(|m| m.field.is_none())
            .map(|m| m.message.as_str())
    }

    /// The form cut to [`MAX_KEPT_BYTES`]: the longest values are dropped first, then the
    /// messages past the limit, so what is kept stays bounded whatever was posted.
    pub fn bounded(mut self) -> Self {
        let size = |f: &InvalidForm| {
            f.values
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
                + f.messages
                    .iter()
                    .map(|m| m.message.len() + m.field.as_ref().map_or(0, String::len))
                    .sum::<usize>()
        };
        while size(&self) > MAX_KEPT_BYTES {
            let longest = self
                .values
                .iter()
                .max_by_key(|(_, v)| v.len())
                .map(|(k, _)| k.clone());
            match longest {
                Some(name) => {
                    self.values.remove(&name);
                }
                None => {
                    self.messages.pop();
                }
            }
        }
        self
    }

    /// The form as templates see it: `values`, `errors` (messages by field), `general`
    /// and `count` (the number of messages).
    pub fn template_value(&self) -> minijinja::Value {
        let mut errors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &self.messages {
            if let Some(field) = &m.field {
                errors.entry(field).or_default().push(&m.message);
            }
        }
        use minijinja::value::{Serde, Value};
        minijinja::context! {
            values => Value::from(Serde(&self.values)),
            errors => Value::from(Serde(&errors)),
            general => Value::from(Serde(self.general_errors().collect::<Vec<_>>())),
            count => self.messages.len(),
        }
    }
}

/// The template value of "no form refused", built once.
pub(crate) fn empty_template_value() -> minijinja::Value {
    static EMPTY: LazyLock<minijinja::Value> =
        LazyLock::new(|| InvalidForm::default().template_value());
    EMPTY.clone()
}

/// A form shared between the portal's call and the window's render.
pub type SharedForm = Arc<InvalidForm>;

/// Whether a field holds a secret that is never kept.
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("password") || name.contains("mot_de_passe") || name.contains("passwd")
}

impl PortletError {
    /// The refused form, when this error is [`PortletError::Invalid`].
    pub fn invalid_form(&self) -> Option<&InvalidForm> {
        match self {
            PortletError::Invalid(form) => Some(form),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&str, &str)]) -> ActionRequest {
        ActionRequest::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_form_without_messages_passes() {
        assert!(InvalidForm::new(&request(&[("a", "1")])).check().is_ok());
    }

    #[test]
    fn messages_and_values_come_back_but_never_a_password() {
        let mut form = InvalidForm::new(&request(&[
            ("title", "Devoir"),
            ("new_password", "s3cret"),
            ("Mot_de_passe", "s3cret"),
        ]));
        form.field("title", "Trop court.")
            .general("Rien n’a été enregistré.");
        let err = form.check().unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
        let form = err.invalid_form().unwrap();
        assert_eq!(form.value("title"), Some("Devoir"));
        assert_eq!(form.value("new_password"), None);
        assert_eq!(form.value("Mot_de_passe"), None);
        assert_eq!(
            form.errors_for("title").collect::<Vec<_>>(),
            ["Trop court."]
        );
        assert_eq!(
            form.general_errors().collect::<Vec<_>>(),
            ["Rien n’a été enregistré."]
        );
        let value = form.template_value();
        let shown = minijinja::Environment::new()
            .render_str(
                "{{ f.values.title }}|{{ f.count }}",
                minijinja::context! { f => value },
            )
            .unwrap();
        assert_eq!(shown, "Devoir|2");
    }

    #[test]
    fn a_huge_form_is_cut_to_the_limit() {
        let big = "x".repeat(MAX_KEPT_BYTES);
        let mut form = InvalidForm::new(&request(&[("big", &big), ("small", "ok")]));
        form.field("big", "Trop long.");
        let form = form.bounded();
        assert_eq!(form.value("big"), None);
        assert_eq!(form.value("small"), Some("ok"));
        assert_eq!(form.errors_for("big").count(), 1);
    }

    #[test]
    fn the_empty_value_has_every_key_templates_read() {
        let env = minijinja::Environment::new();
        let out = env
            .render_str(
                "{{ form.values.title }}|{% for m in form.errors.title %}x{% endfor %}|{{ form.count }}",
                minijinja::context! { form => empty_template_value() },
            )
            .unwrap();
        assert_eq!(out, "||0");
    }
}
