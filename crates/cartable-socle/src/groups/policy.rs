//! What the administrator allows (`[groups]`): who creates groups, how many, how large,
//! for how long, with which tools and quotas — for everyone, per profile and per user.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::{Person, Profile};

/// What the administrator allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GroupPolicy {
    /// Profiles whose holders may create groups.
    pub creators: Vec<Profile>,
    /// Most active groups a holder of each profile may own (the most generous of her
    /// profiles applies; a creator profile missing here has `default_max`).
    pub max_per_profile: BTreeMap<Profile, usize>,
    /// Limit for creator profiles not in `max_per_profile`.
    pub default_max: usize,
    /// Longest lifetime of a group, in days.
    pub max_days: u64,
    /// Most members of a group.
    pub max_members: usize,
    /// The quota of a new group's shared file space, in MiB (at most its creator's
    /// `max_file_quota_mb`); its managers change it within that cap.
    pub file_quota_mb: u64,
    /// The largest file quota a group's managers may set, in MiB.
    pub max_file_quota_mb: u64,
    /// Caps for the holders of a profile (`[groups.profiles.enseignant]`), in place of the
    /// keys above for them; a holder of several creator profiles gets the most generous
    /// of each cap.
    pub profiles: BTreeMap<Profile, GroupCaps>,
    /// Caps for one user, by login (`[groups.users.lmartin]`), over her profiles' (a key
    /// left out keeps her profiles' value). A user listed here may create groups even
    /// without a creator profile (pupils' delegates, a club's leader).
    pub users: BTreeMap<String, GroupCaps>,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        GroupPolicy {
            creators: vec![Profile::Enseignant, Profile::Personnel, Profile::Admin],
            max_per_profile: BTreeMap::new(),
            default_max: 20,
            max_days: 400,
            max_members: 500,
            file_quota_mb: 100,
            max_file_quota_mb: 1024,
            profiles: BTreeMap::new(),
            users: BTreeMap::new(),
        }
    }
}

/// Each key left out takes the value of the level above (the user's profiles, then
/// `[groups]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GroupCaps {
    /// Most active groups she may own.
    pub max_groups: Option<usize>,
    /// Most members of each of her groups.
    pub max_members: Option<usize>,
    /// Longest lifetime of her groups, in days.
    pub max_days: Option<u64>,
    /// The tools (service ids, e.g. `["documents", "agenda"]`) her groups may have;
    /// unset: every tool the installed services offer.
    pub tools: Option<Vec<String>>,
    /// The largest file quota of her groups, in MiB.
    pub max_file_quota_mb: Option<u64>,
    /// The most of each tool's measure (by service id: `{ forum = 500 }` for at most
    /// 500 messages where the forum counts messages); a tool left out is capped by its
    /// service only.
    pub tool_limits: BTreeMap<String, u64>,
}

/// The caps that apply to one creator's groups, resolved from the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLimits {
    /// Most active groups she may own.
    pub max_groups: usize,
    /// Most members of a group.
    pub max_members: usize,
    /// Longest lifetime, in days.
    pub max_days: u64,
    /// The tools allowed; `None`: every tool offered.
    pub tools: Option<BTreeSet<String>>,
    /// The largest file quota, in MiB.
    pub max_file_quota_mb: u64,
    /// The most of each tool's measure; a tool left out has no cap of the policy's.
    pub tool_limits: BTreeMap<String, u64>,
}

impl GroupLimits {
    /// Whether a tool is allowed.
    pub fn allows_tool(&self, tool: &str) -> bool {
        self.tools.as_ref().is_none_or(|t| t.contains(tool))
    }

    /// The most generous of two sets of caps, each cap on its own.
    pub fn most_generous(self, other: GroupLimits) -> GroupLimits {
        let tools = match (self.tools, other.tools) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
        // A tool capped on one side only is not capped by the other: no cap wins.
        let tool_limits = self
            .tool_limits
            .iter()
            .filter_map(|(k, a)| other.tool_limits.get(k).map(|b| (k.clone(), *a.max(b))))
            .collect();
        GroupLimits {
            max_groups: self.max_groups.max(other.max_groups),
            max_members: self.max_members.max(other.max_members),
            max_days: self.max_days.max(other.max_days),
            tools,
            max_file_quota_mb: self.max_file_quota_mb.max(other.max_file_quota_mb),
            tool_limits,
        }
    }
}

impl GroupPolicy {
    /// The caps of `[groups]` itself, for everyone (a group of an earlier release, an
    /// administrator's).
    pub fn global_limits(&self) -> GroupLimits {
        GroupLimits {
            max_groups: self.default_max,
            max_members: self.max_members,
            max_days: self.max_days,
            tools: None,
            max_file_quota_mb: self.max_file_quota_mb,
            tool_limits: BTreeMap::new(),
        }
    }

    /// The caps of one profile's holders.
    fn profile_limits(&self, profile: &Profile) -> GroupLimits {
        let caps = self.profiles.get(profile);
        let max_groups = self
            .max_per_profile
            .get(profile)
            .copied()
            .unwrap_or(self.default_max);
        apply(self.global_limits_with(max_groups), caps)
    }

    fn global_limits_with(&self, max_groups: usize) -> GroupLimits {
        GroupLimits {
            max_groups,
            ..self.global_limits()
        }
    }

    /// The caps of the groups that the user `uid` with `profiles` creates, or `None` if
    /// she may not create any. An administrator's groups are not counted.
    pub fn limits(&self, uid: &str, profiles: &[Profile]) -> Option<GroupLimits> {
        if profiles.contains(&Profile::Admin) {
            let mut limits = self.global_limits();
            limits.max_groups = usize::MAX;
            return Some(
                profiles
                    .iter()
                    .filter(|p| self.creators.contains(p))
                    .map(|p| self.profile_limits(p))
                    .fold(limits, GroupLimits::most_generous),
            );
        }
        let from_profiles = profiles
            .iter()
            .filter(|p| self.creators.contains(p))
            .map(|p| self.profile_limits(p))
            .reduce(GroupLimits::most_generous);
        match (self.users.get(uid), from_profiles) {
            (Some(caps), base) => Some(apply(
                base.unwrap_or_else(|| self.global_limits()),
                Some(caps),
            )),
            (None, base) => base,
        }
    }

    /// The most members any group may have under this policy: a bound for reading a
    /// list of members before [`Groups`](crate::Groups) checks the group's own cap.
    pub fn largest_group(&self) -> usize {
        self.profiles
            .values()
            .chain(self.users.values())
            .filter_map(|c| c.max_members)
            .fold(self.max_members, usize::max)
    }

    /// [`limits`](Self::limits) of a person.
    pub fn limits_of(&self, person: &Person) -> Option<GroupLimits> {
        self.limits(&person.id, &person.profiles)
    }
}

/// `base` with the keys `caps` sets.
fn apply(base: GroupLimits, caps: Option<&GroupCaps>) -> GroupLimits {
    let Some(caps) = caps else {
        return base;
    };
    let mut tool_limits = base.tool_limits;
    tool_limits.extend(caps.tool_limits.iter().map(|(k, v)| (k.clone(), *v)));
    GroupLimits {
        max_groups: caps.max_groups.unwrap_or(base.max_groups),
        max_members: caps.max_members.unwrap_or(base.max_members),
        max_days: caps.max_days.unwrap_or(base.max_days),
        tools: match &caps.tools {
            Some(t) => Some(t.iter().cloned().collect()),
            None => base.tools,
        },
        max_file_quota_mb: caps.max_file_quota_mb.unwrap_or(base.max_file_quota_mb),
        tool_limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_resolve_user_over_profiles_over_global() {
        let mut p = GroupPolicy::default();
        p.max_per_profile.insert(Profile::Enseignant, 3);
        p.profiles.insert(
            Profile::Enseignant,
            GroupCaps {
                max_members: Some(40),
                tools: Some(vec!["documents".into()]),
                tool_limits: [("forum".to_string(), 100)].into(),
                ..GroupCaps::default()
            },
        );
        p.profiles.insert(
            Profile::Personnel,
            GroupCaps {
                max_members: Some(10),
                tools: Some(vec!["agenda".into()]),
                max_file_quota_mb: Some(2048),
                ..GroupCaps::default()
            },
        );
        p.users.insert(
            "delegue".into(),
            GroupCaps {
                max_groups: Some(1),
                tools: Some(vec!["forum".into()]),
                ..GroupCaps::default()
            },
        );
        let prof = p.limits("paul", &[Profile::Enseignant]).unwrap();
        assert_eq!(
            (prof.max_groups, prof.max_members, prof.max_days),
            (3, 40, 400)
        );
        assert!(prof.allows_tool("documents") && !prof.allows_tool("agenda"));
        assert_eq!(prof.tool_limits.get("forum"), Some(&100));
        // Both profiles: the most generous of each cap, tools joined.
        let both = p
            .limits("x", &[Profile::Enseignant, Profile::Personnel])
            .unwrap();
        assert_eq!((both.max_groups, both.max_members), (20, 40));
        assert_eq!(both.max_file_quota_mb, 2048);
        assert!(both.allows_tool("documents") && both.allows_tool("agenda"));
        assert!(
            both.tool_limits.is_empty(),
            "personnel's forum is not capped"
        );
        // A pupil: none, unless listed by login.
        assert!(p.limits("lea", &[Profile::Eleve]).is_none());
        let delegue = p.limits("delegue", &[Profile::Eleve]).unwrap();
        assert_eq!((delegue.max_groups, delegue.max_members), (1, 500));
        assert!(delegue.allows_tool("forum") && !delegue.allows_tool("documents"));
        // An administrator: no count.
        assert_eq!(
            p.limits("root", &[Profile::Admin]).unwrap().max_groups,
            usize::MAX
        );
    }
}
