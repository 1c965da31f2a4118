//! Templates for portlet markup, auto-escaped: a value interpolated with `{{ … }}` is
//! escaped unless it is a [`Markup`] passed through [`markup_value`].

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};
use serde::Serialize;

use crate::i18n::{DEFAULT_LANGUAGE, FluentArgs, FluentValue, Messages};
use crate::{Markup, PortletContext, PortletError};

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

    /// Give the templates a `t()` function reading the portlet's messages:
    /// `{{ t("search-title") }}`, `{{ t("found", n=count) }}` (keyword arguments become
    /// Fluent arguments). The language is the template variable `locale`, which
    /// [`Templates::render_for`] sets to the page's (French when it is missing). The text
    /// is escaped like any other value.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use cartable_portlet::{Templates, i18n::Messages};
    ///
    /// static MESSAGES: LazyLock<Messages> = LazyLock::new(|| {
    ///     Messages::new("doc", &[("fr", "n = { $n } élève(s) <3"), ("en", "n = { $n } pupil(s)")])
    /// });
    /// let t = Templates::new([("p", "<p>{{ t(\"n\", n=count) }}</p>")]).unwrap().with_messages(&MESSAGES);
    /// let en = t.render("p", minijinja::context! { locale => "en", count => 2 }).unwrap();
    /// assert_eq!(en.as_str(), "<p>2 pupil(s)</p>");
    /// let fr = t.render("p", minijinja::context! { count => 2 }).unwrap();
    /// assert_eq!(fr.as_str(), "<p>2 élève(s) &lt;3</p>");
    /// ```
    pub fn with_messages(mut self, messages: &'static Messages) -> Self {
        self.env.add_function(
            "t",
            move |state: &State, id: &str, kwargs: Kwargs| -> Result<String, Error> {
                let locale = state.lookup("locale");
                let locale = locale
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_LANGUAGE);
                if kwargs.args().next().is_none() {
                    return Ok(messages.get(locale, id));
                }
                let mut args = FluentArgs::new();
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    args.set(name.to_string(), fluent_value(&value));
                }
                Ok(messages.get_args(locale, id, &args))
            },
        );
        self
    }

    /// Render one template into markup.
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<Markup, PortletError> {
        let tmpl = self.env.get_template(name)?;
        Ok(Markup::trusted_html(
            tmpl.render(minijinja::value::Serde(ctx))?,
        ))
    }

    /// Render one template for a portlet call: like [`Templates::render`], with the
    /// variable `locale` set to the page language, for `t()` ([`Templates::with_messages`]).
    pub fn render_for<S: Serialize>(
        &self,
        ctx: &PortletContext,
        name: &str,
        data: S,
    ) -> Result<Markup, PortletError> {
        self.render(
            name,
            minijinja::context! { locale => ctx.locale(), ..Value::from(minijinja::value::Serde(data)) },
        )
    }
}

/// A template value as a Fluent argument: numbers stay numbers (for plurals).
fn fluent_value(value: &Value) -> FluentValue<'static> {
    match value.kind() {
        ValueKind::Number => match value.as_i64() {
            Some(n) => n.into(),
            None => {
                f64::try_from(value.clone()).map_or_else(|_| value.to_string().into(), Into::into)
            }
        },
        ValueKind::Undefined | ValueKind::None => FluentValue::None,
        _ => value.to_string().into(),
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

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static MESSAGES: LazyLock<Messages> = LazyLock::new(|| {
        Messages::new(
            "cartable-portlet-template-test",
            &[
                (
                    "fr",
                    "titre = Annuaire\ntrouvees = { $n ->\n    [one] { $n } personne de { $classe }\n   *[other] { $n } personnes de { $classe }\n}\n",
                ),
                (
                    "en",
                    "titre = Directory\ntrouvees = { $n ->\n    [one] one person of { $classe }\n   *[other] { $n } people of { $classe }\n}\n",
                ),
            ],
        )
    });

    #[test]
    fn templates_read_messages_in_the_locale_of_the_context() {
        let t = Templates::new([(
            "v",
            "<h3>{{ t(\"titre\") }}</h3><p>{{ t(\"trouvees\", n=count, classe=c) }}</p>{{ t(\"absent\") }}",
        )])
        .unwrap()
        .with_messages(&MESSAGES);
        let render = |locale: Option<&str>, count: i64| {
            let ctx = match locale {
                Some(l) => minijinja::context! { locale => l, count, c => "<2nde A>" },
                None => minijinja::context! { count, c => "<2nde A>" },
            };
            t.render("v", ctx).unwrap().as_str().to_string()
        };
        assert_eq!(
            render(Some("en"), 1),
            "<h3>Directory</h3><p>one person of &lt;2nde A&gt;</p>absent"
        );
        assert_eq!(
            render(Some("en-GB"), 3),
            "<h3>Directory</h3><p>3 people of &lt;2nde A&gt;</p>absent"
        );
        assert_eq!(
            render(None, 0),
            "<h3>Annuaire</h3><p>0 personne de &lt;2nde A&gt;</p>absent"
        );
        assert_eq!(
            render(Some("br"), 2),
            "<h3>Annuaire</h3><p>2 personnes de &lt;2nde A&gt;</p>absent"
        );
    }

    #[test]
    fn a_float_and_a_none_argument_do_not_fail() {
        let t = Templates::new([("v", "{{ t(\"trouvees\", n=1.5, classe=none) }}")])
            .unwrap()
            .with_messages(&MESSAGES);
        let out = t
            .render("v", minijinja::context! { locale => "en" })
            .unwrap();
        assert_eq!(out.as_str(), "1.5 people of ", "none is an empty text");
    }
}
