//! Page layouts: tabs → columns → windows, their configuration and the edits users make.

use cartable_portlet::is_valid_id;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most windows a layout may hold, so a user cannot grow a page without end.
pub const MAX_WINDOWS: usize = 40;
/// Most columns a tab may have.
pub const MAX_COLUMNS: usize = 4;

/// A layout edit that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// No such window on the layout.
    #[error("no window {0:?} on this page")]
    NoWindow(String),
    /// No such tab.
    #[error("no tab {0:?}")]
    NoTab(String),
    /// The établissement locked this window.
    #[error("this window is locked by the établissement")]
    Locked,
    /// The move would leave the page.
    #[error("the window cannot move further that way")]
    Edge,
    /// Too many windows.
    #[error("a page holds at most {MAX_WINDOWS} windows")]
    Full,
    /// The configuration describes an impossible layout.
    #[error("{0}")]
    Invalid(String),
}

/// A window in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// The portlet shown.
    pub portlet: String,
    /// The window id (defaults to the portlet id, made unique).
    #[serde(default)]
    pub id: Option<String>,
    /// Users may not remove or move it.
    #[serde(default)]
    pub locked: bool,
}

/// A tab in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TabConfig {
    /// Tab id, `[a-z0-9-]`.
    pub id: String,
    /// Its French title.
    pub title: String,
    /// Its English title.
    #[serde(default)]
    pub title_en: Option<String>,
    /// Columns of windows, left to right.
    pub columns: Vec<Vec<WindowConfig>>,
}

/// A default layout in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutConfig {
    /// Its tabs, in order.
    pub tabs: Vec<TabConfig>,
}

impl LayoutConfig {
    /// Check ids, sizes and uniqueness.
    pub fn validate(&self) -> Result<(), LayoutError> {
        Layout::from_config(self).map(|_| ())
    }
}

/// A window on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Instance id, unique on the layout.
    pub id: String,
    /// The portlet shown.
    pub portlet: String,
    /// Users may not remove or move it.
    #[serde(default)]
    pub locked: bool,
    /// Only the title bar is shown.
    #[serde(default)]
    pub minimized: bool,
}

/// A tab of the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tab {
    /// Tab id.
    pub id: String,
    /// French title.
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: Option<String>,
    /// Columns of windows.
    pub columns: Vec<Vec<Window>>,
}

impl Tab {
    /// The title in a locale.
    pub fn title_in(&self, locale: &str) -> &str {
        match (&self.title_en, locale.starts_with("en")) {
            (Some(en), true) => en,
            _ => &self.title,
        }
    }
}

/// Which way a window moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the top of its column.
    Up,
    /// Towards the bottom.
    Down,
    /// To the column on the left.
    Left,
    /// To the column on the right.
    Right,
}

impl std::str::FromStr for Direction {
    type Err = LayoutError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "up" => Ok(Direction::Up),
            "down" => Ok(Direction::Down),
            "left" => Ok(Direction::Left),
            "right" => Ok(Direction::Right),
            _ => Err(LayoutError::Invalid(format!("unknown direction {s:?}"))),
        }
    }
}

/// A user's (or a profile's default) layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Tabs, in order.
    pub tabs: Vec<Tab>,
}

impl Layout {
    /// Build a layout from configuration, giving each window a unique id.
    pub fn from_config(config: &LayoutConfig) -> Result<Self, LayoutError> {
        let mut layout = Layout { tabs: Vec::new() };
        for tab in &config.tabs {
            if !is_valid_id(&tab.id) {
                return Err(LayoutError::Invalid(format!(
                    "tab id {:?} must be [a-z0-9-]",
                    tab.id
                )));
            }
            if layout.tabs.iter().any(|t| t.id == tab.id) {
                return Err(LayoutError::Invalid(format!("tab {:?} twice", tab.id)));
            }
            if tab.columns.is_empty() || tab.columns.len() > MAX_COLUMNS {
                return Err(LayoutError::Invalid(format!(
                    "tab {:?} needs 1 to {MAX_COLUMNS} columns",
                    tab.id
                )));
            }
            let mut columns = Vec::new();
            for column in &tab.columns {
                let mut windows = Vec::new();
                for w in column {
                    let id = match &w.id {
                        Some(id)
                            if layout.has_window(id) || windows_has(&columns, &windows, id) =>
                        {
                            return Err(LayoutError::Invalid(format!("window id {id:?} twice")));
                        }
                        Some(id) => id.clone(),
                        None => unique_id(&w.portlet, |c| {
                            layout.has_window(c) || windows_has(&columns, &windows, c)
                        }),
                    };
                    if !is_valid_id(&id) {
                        return Err(LayoutError::Invalid(format!(
                            "window id {id:?} must be [a-z0-9-]"
                        )));
                    }
                    windows.push(Window {
                        id,
                        portlet: w.portlet.clone(),
                        locked: w.locked,
                        minimized: false,
                    });
                }
                columns.push(windows);
            }
            layout.tabs.push(Tab {
                id: tab.id.clone(),
                title: tab.title.clone(),
                title_en: tab.title_en.clone(),
                columns,
            });
        }
        if layout.tabs.is_empty() {
            return Err(LayoutError::Invalid(
                "a layout needs at least one tab".into(),
            ));
        }
        if layout.windows().count() > MAX_WINDOWS {
            return Err(LayoutError::Full);
        }
        Ok(layout)
    }

    /// Every window of every tab.
    pub fn windows(&self) -> impl Iterator<Item = &Window> {
        self.tabs.iter().flat_map(|t| t.columns.iter().flatten())
    }

    /// Whether a window id is used.
    pub fn has_window(&self, id: &str) -> bool {
        self.windows().any(|w| w.id == id)
    }

    /// A tab by id.
    pub fn tab(&self, id: &str) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.id == id)
    }

    /// A window on a given tab.
    pub fn window(&self, tab: &str, id: &str) -> Option<&Window> {
        self.tab(tab)?.columns.iter().flatten().find(|w| w.id == id)
    }

    fn position(&self, id: &str) -> Result<(usize, usize, usize), LayoutError> {
        for (t, tab) in self.tabs.iter().enumerate() {
            for (c, col) in tab.columns.iter().enumerate() {
                if let Some(r) = col.iter().position(|w| w.id == id) {
                    return Ok((t, c, r));
                }
            }
        }
        Err(LayoutError::NoWindow(id.to_string()))
    }

    /// Add a window of `portlet` at the top of a column of a tab; returns its id.
    pub fn add(&mut self, tab: &str, column: usize, portlet: &str) -> Result<String, LayoutError> {
        if self.windows().count() >= MAX_WINDOWS {
            return Err(LayoutError::Full);
        }
        let id = unique_id(portlet, |c| self.has_window(c));
        let t = self
            .tabs
            .iter_mut()
            .find(|t| t.id == tab)
            .ok_or_else(|| LayoutError::NoTab(tab.to_string()))?;
        let column = column.min(t.columns.len().saturating_sub(1));
        t.columns[column].insert(
            0,
            Window {
                id: id.clone(),
                portlet: portlet.to_string(),
                locked: false,
                minimized: false,
            },
        );
        Ok(id)
    }

    /// Remove a window the établissement did not lock.
    pub fn remove(&mut self, id: &str) -> Result<Window, LayoutError> {
        let (t, c, r) = self.position(id)?;
        if self.tabs[t].columns[c][r].locked {
            return Err(LayoutError::Locked);
        }
        Ok(self.tabs[t].columns[c].remove(r))
    }

    /// Move a window; neither it nor a window it would swap with may be locked.
    pub fn move_window(&mut self, id: &str, direction: Direction) -> Result<(), LayoutError> {
        let (t, c, r) = self.position(id)?;
        let columns = &mut self.tabs[t].columns;
        if columns[c][r].locked {
            return Err(LayoutError::Locked);
        }
        match direction {
            Direction::Up | Direction::Down => {
                let other = if direction == Direction::Up {
                    r.checked_sub(1).ok_or(LayoutError::Edge)?
                } else if r + 1 < columns[c].len() {
                    r + 1
                } else {
                    return Err(LayoutError::Edge);
                };
                if columns[c][other].locked {
                    return Err(LayoutError::Locked);
                }
                columns[c].swap(r, other);
            }
            Direction::Left | Direction::Right => {
                let target = if direction == Direction::Left {
                    c.checked_sub(1).ok_or(LayoutError::Edge)?
                } else if c + 1 < columns.len() {
                    c + 1
                } else {
                    return Err(LayoutError::Edge);
                };
                let w = columns[c].remove(r);
                let at = r.min(columns[target].len());
                columns[target].insert(at, w);
            }
        }
        Ok(())
    }

    /// Minimize or restore a window (allowed on locked windows too).
    pub fn set_minimized(&mut self, id: &str, minimized: bool) -> Result<(), LayoutError> {
        let (t, c, r) = self.position(id)?;
        self.tabs[t].columns[c][r].minimized = minimized;
        Ok(())
    }

    /// Bring back every locked window of the default that a saved layout lacks (the
    /// établissement may add one after the user saved hers), and drop tabs the default
    /// no longer has.
    pub fn reconcile(&mut self, default: &Layout) {
        self.tabs.retain(|t| default.tab(&t.id).is_some());
        for (ti, dtab) in default.tabs.iter().enumerate() {
            if self.tab(&dtab.id).is_none() {
                let at = ti.min(self.tabs.len());
                self.tabs.insert(at, dtab.clone());
                continue;
            }
            for (ci, col) in dtab.columns.iter().enumerate() {
                for (ri, w) in col.iter().enumerate() {
                    if !w.locked || self.has_window(&w.id) {
                        continue;
                    }
                    if let Some(tab) = self.tabs.iter_mut().find(|t| t.id == dtab.id) {
                        let ci = ci.min(tab.columns.len() - 1);
                        let ri = ri.min(tab.columns[ci].len());
                        tab.columns[ci].insert(ri, w.clone());
                    }
                }
            }
        }
    }
}

fn windows_has(columns: &[Vec<Window>], current: &[Window], id: &str) -> bool {
    columns.iter().flatten().chain(current).any(|w| w.id == id)
}

fn unique_id(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LayoutConfig {
        let w = |p: &str, locked| WindowConfig {
            portlet: p.into(),
            id: None,
            locked,
        };
        LayoutConfig {
            tabs: vec![TabConfig {
                id: "accueil".into(),
                title: "Accueil".into(),
                title_en: Some("Home".into()),
                columns: vec![
                    vec![w("welcome", true), w("notes", false)],
                    vec![w("notes", false)],
                ],
            }],
        }
    }

    #[test]
    fn ids_are_unique() {
        let l = Layout::from_config(&config()).unwrap();
        let ids: Vec<_> = l.windows().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["welcome", "notes", "notes-2"]);
    }

    #[test]
    fn locked_windows_stay_put() {
        let mut l = Layout::from_config(&config()).unwrap();
        assert_eq!(l.remove("welcome"), Err(LayoutError::Locked));
        assert_eq!(
            l.move_window("notes", Direction::Up),
            Err(LayoutError::Locked)
        );
        assert_eq!(
            l.move_window("welcome", Direction::Right),
            Err(LayoutError::Locked)
        );
        l.set_minimized("welcome", true).unwrap();
        l.move_window("notes", Direction::Right).unwrap();
        assert_eq!(l.tabs[0].columns[1][1].id, "notes");
        l.move_window("notes", Direction::Up).unwrap();
        assert_eq!(l.tabs[0].columns[1][0].id, "notes");
        assert_eq!(
            l.move_window("notes", Direction::Right),
            Err(LayoutError::Edge)
        );
        l.remove("notes").unwrap();
        assert_eq!(l.add("accueil", 9, "notes").unwrap(), "notes");
        assert_eq!(
            l.add("nope", 0, "notes"),
            Err(LayoutError::NoTab("nope".into()))
        );
    }

    #[test]
    fn reconcile_restores_locked_windows() {
        let default = Layout::from_config(&config()).unwrap();
        let mut saved = default.clone();
        saved.tabs[0].columns[0].remove(0);
        saved.reconcile(&default);
        assert_eq!(saved.tabs[0].columns[0][0].id, "welcome");
    }

    #[test]
    fn invalid_configs_are_refused() {
        let mut c = config();
        c.tabs[0].id = "Bad Tab".into();
        assert!(c.validate().is_err());
        let mut c = config();
        c.tabs[0].columns.clear();
        assert!(c.validate().is_err());
    }
}
