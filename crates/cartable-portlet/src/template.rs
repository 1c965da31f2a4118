//! Templates for portlet markup, auto-escaped: a value interpolated with `{{ … }}` is
//! escaped unless it is a [`Markup`] passed through [`markup_value`].

use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};
use serde::Serialize;

use crate::{Markup, PortletError};

/// A set of named templates compiled once (keep it in the portlet struct).
///
/// ```
/// use cartable_portlet::Templates;
/// let t = Templates::new([("hello", "<p>Bonjour {{ name }}</p>")]).unwrap();
/// let m = t.render("hello", minijinja::context! { name => "<Léa>" }).unwrap();
/// assert_eq!(m.as_str(), "<p>Bonjour &lt;Léa&gt;</p>");
/// ```
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compile templates given as `(name, source)` pairs.
    pub fn new<I>(templates: I) -> Result<Self, PortletError>
    where
        I: IntoIterator<Item = (&'static str, &'static str)>,
    {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(html_formatter);
        for (name, source) in templates {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    /// Render one template into markup.
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<Markup, PortletError> {
        let tmpl = self.env.get_template(name)?;
        Ok(Markup::trusted_html(
            tmpl.render(minijinja::value::Serde(ctx))?,
        ))
    }
}

/// Pass markup into a template without escaping it a second time.
pub fn markup_value(markup: &Markup) -> Value {
    Value::from_safe_string(markup.as_str().to_string())
}

/// A minijinja formatter escaping strings like [`Markup::text`] does (`<>&"'`), so URLs
/// keep their slashes; other values use minijinja's default escaping. Safe strings pass.
pub fn html_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    match value.as_str() {
        Some(s) if !value.is_safe() && matches!(state.auto_escape(), AutoEscape::Html) => out
            .write_str(&crate::markup::escape(s))
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write template output")),
        _ => minijinja::escape_formatter(out, state, value),
    }
}
