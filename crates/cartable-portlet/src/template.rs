//! Templates for portlet markup, auto-escaped: a value interpolated with `{{ … }}` is
//! escaped unless it is a [`Markup`] passed through [`markup_value`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};
use serde::Serialize;

use crate::form::InvalidForm;
use crate::i18n::{DEFAULT_LANGUAGE, FluentArgs, FluentValue, Messages};
use crate::time::{DateStyle, Dates, PARIS, parse_time_zone};
use crate::{Markup, PortletContext, PortletError};

/// A set of named templates compiled once (keep it in the portlet struct).
///
/// ```
/// use cartable_portlet::Templates;
/// let t = Templates::new([("hello", "<p>Bonjour {{ name }}</p>")]).unwrap();
/// let m = t.render("hello", minijinja::context! { name => "<Léa>" }).unwrap();
/// assert_eq!(m.as_str(), "<p>Bonjour &lt;Léa&gt;</p>");
/// ```
///
/// A service crate keeps its templates in its `templates/` folder and embeds them with
/// [`templates!`](crate::templates); an établissement's theme may then override any of
/// them (see [`add_theme_dir`]).
#[derive(Debug)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    /// The names given, for the theme's overrides.
    names: Vec<&'static str>,
    /// The crate whose templates these are (`cartable-accueil`): where the theme's
    /// overrides live. `None`: not overridable.
    domain: Option<String>,
    /// The environment with the theme's overrides, as of a generation of the theme
    /// directories (`None` inside: the theme overrides none of these templates).
    themed: RwLock<(u64, Option<Arc<Environment<'static>>>)>,
}

/// The theme directories added by [`add_theme_dir`], in order.
static THEME_DIRS: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());
/// Bumped by every [`add_theme_dir`]; 0 while there is none.
static THEME_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Let a theme directory override the templates of service crates: the file
/// `<dir>/portlets/<crate>/<template>` (e.g. `theme/portlets/cartable-accueil/view.html`)
/// replaces the template of that name of [`Templates::overridable`] templates of that
/// crate, from their next render on. The portal calls it with its `theme_dir`.
///
/// A file that does not compile is logged with its name and line, and the crate's own
/// template stays in use.
pub fn add_theme_dir(dir: impl Into<PathBuf>) {
    let dir = dir.into();
    let mut dirs = THEME_DIRS.write().unwrap_or_else(|e| e.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
    THEME_GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The templates of the calling crate's `templates/` folder, embedded at compile time
/// and overridable by the établissement's theme ([`add_theme_dir`]) under the crate's
/// name: `templates!["view.html", "help.html"]` gives a
/// `Result<Templates, PortletError>`.
///
/// ```ignore
/// let templates = cartable_portlet::templates!["view.html", "edit.html"]?
///     .with_messages(&MESSAGES);
/// ```
#[macro_export]
macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        $crate::Templates::new([
            $(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $name)))),+
        ])
        .map(|t| t.overridable(env!("CARGO_PKG_NAME")))
    };
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
        env.add_filter("date", date_filter);
        let mut names = Vec::new();
        for (name, source) in templates {
            env.add_template(name, source)?;
            names.push(name);
        }
        Ok(Templates {
            env: Arc::new(env),
            names,
            domain: None,
            themed: RwLock::new((0, None)),
        })
    }

    /// Let the theme override these templates under `domain` (the crate's name; see
    /// [`add_theme_dir`]). [`templates!`](crate::templates) does it for you.
    pub fn overridable(mut self, domain: &str) -> Self {
        self.domain = Some(domain.to_string());
        self
    }

    /// The environment to render with: the theme's overrides if there are any.
    fn current(&self) -> Arc<Environment<'static>> {
        let generation = THEME_GENERATION.load(Ordering::Acquire);
        let Some(domain) = self.domain.as_deref().filter(|_| generation != 0) else {
            return self.env.clone();
        };
        {
            let themed = self.themed.read().unwrap_or_else(|e| e.into_inner());
            if themed.0 == generation {
                return themed.1.clone().unwrap_or_else(|| self.env.clone());
            }
        }
        let rebuilt = self.with_overrides(domain);
        let mut themed = self.themed.write().unwrap_or_else(|e| e.into_inner());
        *themed = (generation, rebuilt.clone());
        rebuilt.unwrap_or_else(|| self.env.clone())
    }

    /// A copy of the environment with the theme's files for `domain`, `None` if there is
    /// none.
    fn with_overrides(&self, domain: &str) -> Option<Arc<Environment<'static>>> {
        let dirs = THEME_DIRS.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut env: Option<Environment<'static>> = None;
        for dir in &dirs {
            for name in &self.names {
                let path = dir.join("portlets").join(domain).join(name);
                let Ok(source) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let env = env.get_or_insert_with(|| (*self.env).clone());
                if let Err(e) = env.add_template_owned(name.to_string(), source) {
                    tracing::error!(
                        "theme template {} does not compile, the service's own is used: {e:#}",
                        path.display()
                    );
                }
            }
        }
        env.map(Arc::new)
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
        Arc::make_mut(&mut self.env).add_function(
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
        let env = self.current();
        let tmpl = env.get_template(name)?;
        Ok(Markup::trusted_html(
            tmpl.render(minijinja::value::Serde(ctx))?,
        ))
    }

    /// Render one template for a portlet call: like [`Templates::render`], with the
    /// variables the call gives:
    ///
    /// - `locale`, the page language, for `t()` ([`Templates::with_messages`]) and the
    ///   `date` filter;
    /// - `time_zone`, the établissement's, for the `date` filter;
    /// - `ns`, the window's namespace for element ids (`{{ ns }}-title`);
    /// - `csrf_field`, the hidden input every POST form needs, and `action_url`, the
    ///   window's action URL: `<form method="post" action="{{ action_url }}">{{ csrf_field }}`;
    /// - `form`, the form the last action refused (see [`crate::form`]), empty otherwise.
    ///
    /// A variable of `data` with the same name wins.
    pub fn render_for<S: Serialize>(
        &self,
        ctx: &PortletContext,
        name: &str,
        data: S,
    ) -> Result<Markup, PortletError> {
        let form = ctx.form().map_or_else(
            crate::form::empty_template_value,
            InvalidForm::template_value,
        );
        self.render(
            name,
            // The later of two merged values wins: `data`.
            minijinja::context! {
                ..minijinja::context! {
                    locale => ctx.locale(),
                    time_zone => ctx.time_zone().name(),
                    ns => ctx.window().namespace(),
                    csrf_field => markup_value(&ctx.csrf_field()),
                    action_url => ctx.urls().action().to_string(),
                    form,
                },
                ..Value::from(minijinja::value::Serde(data)),
            },
        )
    }
}

/// The `date` filter: `{{ day | date("long") }}` writes a `YYYY-MM-DD` date, a
/// `YYYY-MM-DDTHH:MM` wall time or an RFC 3339 instant (shown in the zone `time_zone`) in
/// the language `locale` ([`DateStyle::name`] gives the styles; `long` when omitted). An
/// empty or missing value writes nothing; anything else is an error naming the value.
fn date_filter(state: &State, value: &Value, style: Option<&str>) -> Result<String, Error> {
    if value.is_undefined() || value.is_none() || value.as_str() == Some("") {
        return Ok(String::new());
    }
    let style: DateStyle = style
        .unwrap_or("long")
        .parse()
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("date filter: {e}")))?;
    let text = |name: &str| {
        state
            .lookup(name)
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let locale = text("locale").unwrap_or_else(|| DEFAULT_LANGUAGE.to_string());
    let zone = match text("time_zone") {
        Some(name) => parse_time_zone(&name)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("date filter: {e}")))?,
        None => PARIS,
    };
    let dates = Dates::new(&locale, zone);
    let written = match value.as_i64() {
        Some(seconds) => {
            chrono::DateTime::from_timestamp(seconds, 0).map(|at| dates.instant(at, style))
        }
        None => dates.parse_and_write(&value.to_string(), style),
    };
    written.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "date filter: cannot read {value} as a date (give YYYY-MM-DD, YYYY-MM-DDTHH:MM, RFC 3339 or seconds since 1970)"
            ),
        )
    })
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

    #[test]
    fn the_date_filter_writes_in_the_locale_and_zone_of_the_page() {
        let t = Templates::new([(
            "v",
            "{{ day | date }}|{{ at | date(\"short-time\") }}|{{ missing | date }}|{{ secs | date(\"time\") }}",
        )])
        .unwrap();
        let render = |locale: &str, zone: &str| {
            t.render(
                "v",
                minijinja::context! {
                    locale, time_zone => zone, day => "2027-03-01",
                    at => "2026-12-06T23:30:00Z", secs => 1_765_065_600,
                },
            )
            .unwrap()
            .as_str()
            .to_string()
        };
        // 1_765_065_600 is 2025-12-07T00:00:00Z: 01:00 in Paris, 21:00 the day before in
        // Cayenne.
        assert_eq!(
            render("fr", "Europe/Paris"),
            "lundi 1er mars 2027|07/12/2026 00:30||01:00"
        );
        assert_eq!(
            render("en", "America/Cayenne"),
            "Monday 1 March 2027|06/12/2026 20:30||21:00"
        );
    }

    #[test]
    fn the_date_filter_names_what_it_cannot_read() {
        let t =
            Templates::new([("v", "{{ d | date }}"), ("s", "{{ d | date(\"longue\") }}")]).unwrap();
        let err = t
            .render("v", minijinja::context! { d => "hier" })
            .unwrap_err();
        assert!(err.to_string().contains("hier"), "{err}");
        let err = t
            .render("s", minijinja::context! { d => "2026-12-07" })
            .unwrap_err();
        assert!(err.to_string().contains("longue"), "{err}");
        // The engine's error stays the source (with the template's name and line).
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(source.is_some_and(|s| s.contains("longue")), "{err:?}");
    }

    #[test]
    fn a_theme_overrides_a_crates_templates_and_a_broken_file_is_skipped() {
        let dir = std::env::temp_dir().join(format!("cartable-theme-{}", std::process::id()));
        let crate_dir = dir.join("portlets").join("cartable-theme-test");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(crate_dir.join("view.html"), "<p>Thème : {{ name }}</p>").unwrap();
        std::fs::write(crate_dir.join("edit.html"), "{% if %}").unwrap();
        let t = Templates::new([
            ("view.html", "<p>{{ name }}</p>"),
            ("edit.html", "<p>edit</p>"),
        ])
        .unwrap()
        .overridable("cartable-theme-test");
        let other = Templates::new([("view.html", "<p>{{ name }}</p>")]).unwrap();
        add_theme_dir(&dir);
        let ctx = || minijinja::context! { name => "<b>" };
        assert_eq!(
            t.render("view.html", ctx()).unwrap().as_str(),
            "<p>Thème : &lt;b&gt;</p>"
        );
        assert_eq!(
            t.render("edit.html", ctx()).unwrap().as_str(),
            "<p>edit</p>"
        );
        assert_eq!(
            other.render("view.html", ctx()).unwrap().as_str(),
            "<p>&lt;b&gt;</p>"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
