//! Group mode: a service that offers a tool to groups (SDET "choisir les outils mis à
//! disposition de chaque groupe": forum, mailing list, shared documents, calendar…).
//!
//! A service declares it in its descriptor; the portal lists every installed service
//! that does, a group's managers pick among them (with a limit where the tool measures
//! something), and the service asks the socle's groups whether a group has its tool and
//! what the caller may do in it:
//!
//! ```
//! use cartable_portlet::{Descriptor, GroupTool, LocalizedText, ToolMeasure};
//!
//! let descriptor = Descriptor::new("forum", "Forum").group_tool(
//!     GroupTool::new(LocalizedText::fr("Forum du groupe").with("en", "Group forum"))
//!         .measure(ToolMeasure::new(
//!             LocalizedText::fr("messages").with("en", "messages"),
//!             1_000,
//!             100_000,
//!         )),
//! );
//! assert!(descriptor.group_tool.is_some());
//! ```
//!
//! In a call, [`PortletContext::group_access`](crate::PortletContext::group_access)
//! gives the group's setting of this portlet's tool and the user's
//! [`GroupRight`](cartable_socle::GroupRight), or `None` when the group has not the tool
//! or she is not a member.

use crate::LocalizedText;

/// The tool a service offers to groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTool {
    /// Its name in a group's list of tools ("Documents partagés").
    pub name: LocalizedText,
    /// What it counts, if a group's managers set a limit on it.
    pub measure: Option<ToolMeasure>,
}

impl GroupTool {
    /// A tool with nothing to limit (beyond the group's file quota).
    pub fn new(name: impl Into<LocalizedText>) -> Self {
        GroupTool {
            name: name.into(),
            measure: None,
        }
    }

    /// The tool measures something that a group's managers limit.
    pub fn measure(mut self, measure: ToolMeasure) -> Self {
        self.measure = Some(measure);
        self
    }
}

/// What a tool counts per group, and its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMeasure {
    /// The unit, plural ("messages", "événements").
    pub unit: LocalizedText,
    /// The limit of a group whose managers set none.
    pub default: u64,
    /// The largest limit the service accepts (the administrator may cap it lower).
    pub max: u64,
}

impl ToolMeasure {
    /// A measure in `unit`, `default` unless set, at most `max`.
    pub fn new(unit: impl Into<LocalizedText>, default: u64, max: u64) -> Self {
        ToolMeasure {
            unit: unit.into(),
            default,
            max,
        }
    }
}
