//! Themes: minijinja templates and static files, the établissement's directory over the
//! embedded default.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, Value};
use thiserror::Error;

/// The default theme, compiled into the binary.
const DEFAULT_FILES: &[(&str, &str)] = &[
    ("base.html", include_str!("../theme/base.html")),
    ("page.html", include_str!("../theme/page.html")),
    ("window.html", include_str!("../theme/window.html")),
    ("login.html", include_str!("../theme/login.html")),
    ("error.html", include_str!("../theme/error.html")),
    ("layout.html", include_str!("../theme/layout.html")),
    ("admin.html", include_str!("../theme/admin.html")),
    ("account.html", include_str!("../theme/account.html")),
    ("indicators.html", include_str!("../theme/indicators.html")),
    ("search.html", include_str!("../theme/search.html")),
    ("groups.html", include_str!("../theme/groups.html")),
    ("group.html", include_str!("../theme/group.html")),
    ("style.css", include_str!("../theme/style.css")),
];

/// A theme could not be loaded.
#[derive(Debug, Error)]
pub enum ThemeError {
    /// A file of the theme directory could not be read.
    #[error("cannot read theme file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template does not compile.
    #[error("theme template {name} is invalid: {source}")]
    Template {
        /// The template.
        name: String,
        /// The compiler's message, with the line.
        source: minijinja::Error,
    },
    /// Rendering failed (a template refers to something missing).
    #[error("cannot render {name}: {source}")]
    Render {
        /// The template.
        name: String,
        /// Why.
        source: minijinja::Error,
    },
}

/// A loaded theme: compiled templates and static files.
#[derive(Debug)]
pub struct Theme {
    env: Environment<'static>,
    statics: Vec<(String, bytes::Bytes)>,
}

impl Theme {
    /// Load the default theme, with files of `dir` (if any) replacing or adding to it.
    /// Templates are `*.html`; anything else in `dir` is served under `/theme/`.
    pub fn load(dir: Option<&Path>) -> Result<Self, ThemeError> {
        let mut files: Vec<(String, Vec<u8>)> = DEFAULT_FILES
            .iter()
            .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|source| ThemeError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !path.is_file() || name.starts_with('.') {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|source| ThemeError::Read {
                    path: path.clone(),
                    source,
                })?;
                let name = name.to_string();
                files.retain(|(n, _)| *n != name);
                files.push((name, bytes));
            }
        }
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(cartable_portlet::html_formatter);
        let mut statics = Vec::new();
        for (name, bytes) in files {
            if name.ends_with(".html") {
                let source = String::from_utf8(bytes).map_err(|e| ThemeError::Read {
                    path: PathBuf::from(&name),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })?;
                env.add_template_owned(name.clone(), source)
                    .map_err(|source| ThemeError::Template { name, source })?;
            } else {
                statics.push((name, bytes::Bytes::from(bytes)));
            }
        }
        Ok(Theme { env, statics })
    }

    /// Render a template.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, ThemeError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|source| ThemeError::Render {
                name: name.to_string(),
                source,
            })
    }

    /// The top-level values template `name` reads, or `None` when that cannot be told:
    /// it includes, imports or extends other templates (which may read anything), or it
    /// does not exist.
    pub fn variables_of(&self, name: &str) -> Option<Vec<String>> {
        let template = self.env.get_template(name).ok()?;
        let source = template.source();
        let composes = ["include", "import", "extends", "from"].iter().any(|tag| {
            source.match_indices("{%").any(|(at, _)| {
                source[at + 2..]
                    .trim_start_matches(['-', '+'])
                    .trim_start()
                    .starts_with(tag)
            })
        });
        if composes {
            return None;
        }
        let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        names.sort();
        Some(names)
    }

    /// A static file (CSS, images) and its content type; the bytes are shared, not
    /// copied, by each response that sends them.
    pub fn static_file(&self, name: &str) -> Option<(&'static str, &bytes::Bytes)> {
        let (_, bytes) = self.statics.iter().find(|(n, _)| n == name)?;
        let ext = name.rsplit('.').next().unwrap_or("");
        let ctype = match ext {
            "css" => "text/css; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "ico" => "image/x-icon",
            "woff2" => "font/woff2",
            _ => "application/octet-stream",
        };
        Some((ctype, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_dir_overrides_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("style.css"), "body{}").unwrap();
        std::fs::write(dir.path().join("error.html"), "<p>{{ heading }}</p>").unwrap();
        let theme = Theme::load(Some(dir.path())).unwrap();
        assert_eq!(
            theme.static_file("style.css").unwrap().1.as_ref(),
            b"body{}"
        );
        let html = theme
            .render("error.html", minijinja::context! { heading => "<x>" })
            .unwrap();
        assert_eq!(html, "<p>&lt;x&gt;</p>");
        assert!(theme.static_file("nope.css").is_none());
    }

    #[test]
    fn variables_a_template_reads() {
        let theme = Theme::load(None).unwrap();
        let window = theme.variables_of("window.html").unwrap();
        assert_eq!(window, ["csrf", "layout_version", "t", "w"]);
        assert_eq!(theme.variables_of("page.html"), None, "extends base.html");
        assert_eq!(theme.variables_of("nope.html"), None);
    }

    #[test]
    fn broken_template_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html"), "{% if %}").unwrap();
        let err = Theme::load(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("page.html"), "{err}");
    }
}
