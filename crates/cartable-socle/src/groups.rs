//! Groups of users created by some users, with members and their rights, the tools the
//! group has and their quotas, and an end date (SDET Tableau A, "Gestion de groupes
//! d'usagers").
//!
//! # Rights
//!
//! Each member holds a [`GroupRight`]: a [`Reader`](GroupRight::Reader) sees what the
//! group's tools hold, a [`Contributor`](GroupRight::Contributor) (a member's right
//! unless said otherwise) also adds to it, a [`Manager`](GroupRight::Manager) does
//! what the [`Owner`](GroupRight::Owner) does — members and their rights, tools,
//! quotas, name, end date — except deleting the group. An administrator does everything.
//! Every change goes through [`Groups`], which checks the actor's right: a form that
//! forgets to is still refused.
//!
//! # Tools
//!
//! A service offers a tool to groups by declaring it (the portlet contract's
//! `Descriptor::group_tool`); the portal gives [`Groups::offering`] the tools installed.
//! A group's managers pick its tools among them, within what the policy allows its
//! owner ([`GroupPolicy::limits`]), with a [`ToolGrant`] each (the tool's limit, where
//! the tool measures something), and the quota of the group's shared file space.
//! A service asks [`Groups::tool_of`] whether a group has its tool, and
//! [`Groups::right_of`] what the caller may do in it.
//!
//! # Records
//!
//! Groups are JSON records in the socle's storage; every field added since the first
//! release has a default, so a group stored then loads unchanged (its members are
//! contributors, it has no tool, its file quota is [`DEFAULT_GROUP_FILE_QUOTA_MB`]).

mod policy;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::within_days;
use crate::records::{Records, new_id};
use crate::{Clock, Person, Profile, SocleError, Storage};

pub use policy::{GroupCaps, GroupLimits, GroupPolicy};

/// The file quota of a group stored before groups had one, in MiB.
pub const DEFAULT_GROUP_FILE_QUOTA_MB: u64 = 100;

/// What a member may do in a group, from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum GroupRight {
    /// Sees what the group's tools hold.
    Reader,
    /// Also adds to it (a member's right unless said otherwise).
    #[default]
    Contributor,
    /// Also changes the group: members and rights, tools, quotas, name, end date.
    Manager,
    /// Its creator: a manager who may also delete it.
    Owner,
}

impl GroupRight {
    /// The rights a member may be given (the owner is the creator).
    pub const MEMBER_RIGHTS: [GroupRight; 3] = [
        GroupRight::Reader,
        GroupRight::Contributor,
        GroupRight::Manager,
    ];

    /// Its name in records and forms: `reader`, `contributor`, `manager`, `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRight::Reader => "reader",
            GroupRight::Contributor => "contributor",
            GroupRight::Manager => "manager",
            GroupRight::Owner => "owner",
        }
    }

    /// Whether it adds to what the group's tools hold.
    pub fn can_contribute(self) -> bool {
        self >= GroupRight::Contributor
    }

    /// Whether it changes the group.
    pub fn can_manage(self) -> bool {
        self >= GroupRight::Manager
    }
}

impl std::str::FromStr for GroupRight {
    type Err = GroupError;
    fn from_str(s: &str) -> Result<Self, GroupError> {
        match s {
            "reader" => Ok(GroupRight::Reader),
            "contributor" => Ok(GroupRight::Contributor),
            "manager" => Ok(GroupRight::Manager),
            "owner" => Ok(GroupRight::Owner),
            other => Err(GroupError::Invalid(format!(
                "unknown right {other:?}: reader, contributor or manager"
            ))),
        }
    }
}

/// A tool a group has, and its setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolGrant {
    /// The most of what the tool measures (messages, events…), for a tool that declares
    /// a measure; `None`: the service's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// A tool a service offers to groups, as [`Groups::offering`] is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedTool {
    /// The service's id (its portlet's).
    pub id: String,
    /// The largest limit of its measure, if it measures something.
    pub max_limit: Option<u64>,
}

/// A member and her right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Her uid.
    pub uid: String,
    /// Her right (not [`GroupRight::Owner`]).
    pub right: GroupRight,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Identifier.
    pub id: String,
    /// Its name, e.g. "Club théâtre".
    pub name: String,
    /// Who created it (she manages it).
    pub owner: String,
    /// Member uids.
    pub members: Vec<String>,
    /// When it was created.
    pub created: SystemTime,
    /// When it stops existing.
    pub ends: SystemTime,
    /// The rights of members who are not contributors, by uid.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rights: BTreeMap<String, GroupRight>,
    /// Its tools, by service id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, ToolGrant>,
    /// The quota of its shared file space, in MiB ([`DEFAULT_GROUP_FILE_QUOTA_MB`] if unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_quota_mb: Option<u64>,
    /// Its owner's profiles when she created it, which decide its caps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_profiles: Vec<Profile>,
}

impl Group {
    /// Whether it still exists at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        now < self.ends
    }

    /// What `uid` may do in it, or `None` if she is not a member.
    pub fn right_of(&self, uid: &str) -> Option<GroupRight> {
        if self.owner == uid {
            Some(GroupRight::Owner)
        } else if self.members.iter().any(|m| m == uid) {
            Some(self.rights.get(uid).copied().unwrap_or_default())
        } else {
            None
        }
    }

    /// The members with their rights, in order.
    pub fn members_with_rights(&self) -> Vec<Member> {
        self.members
            .iter()
            .map(|uid| Member {
                uid: uid.clone(),
                right: self.rights.get(uid).copied().unwrap_or_default(),
            })
            .collect()
    }

    /// Its setting of a service's tool, if it has that tool.
    pub fn tool(&self, service: &str) -> Option<&ToolGrant> {
        self.tools.get(service)
    }

    /// The quota of its shared file space, in bytes (for
    /// [`FileStore::upload`](crate::FileStore::upload) in [`Space::Group`](crate::Space::Group)).
    pub fn file_quota_bytes(&self) -> u64 {
        self.file_quota_mb
            .unwrap_or(DEFAULT_GROUP_FILE_QUOTA_MB)
            .saturating_mul(1 << 20)
    }
}

/// A group operation was refused.
#[derive(Debug, Error)]
pub enum GroupError {
    /// Her profiles do not allow creating groups.
    #[error("your profiles do not allow creating groups")]
    NotAllowed,
    /// She reached the number of groups the administrator allows.
    #[error("you already own {max} active groups, the most allowed")]
    Limit {
        /// The limit.
        max: usize,
    },
    /// The end date is in the past or too far away.
    #[error("the end date must be in the future and at most {max_days} days away")]
    BadEndDate {
        /// The longest lifetime.
        max_days: u64,
    },
    /// A tool or quota beyond what the administrator allows, or no service offers.
    #[error("{0}")]
    NotPermitted(String),
    /// Bad name or member list.
    #[error("{0}")]
    Invalid(String),
    /// No such group (or it ended).
    #[error("no such group")]
    NotFound,
    /// Only the owner or an administrator may delete it.
    #[error("only the group's owner or an administrator may delete it")]
    NotOwner,
    /// Only its owner, its managers or an administrator may change it.
    #[error("only the group's owner, its managers or an administrator may change it")]
    NotManager,
    /// Storage failed.
    #[error(transparent)]
    Socle(#[from] SocleError),
}

/// The group service.
pub struct Groups {
    records: Records<Group>,
    clock: Arc<dyn Clock>,
    policy: GroupPolicy,
    offered: Option<BTreeMap<String, OfferedTool>>,
}

impl Groups {
    /// Groups kept in `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: GroupPolicy) -> Self {
        Groups {
            records: Records::new(storage, "cartable-groups", "group/"),
            clock,
            policy,
            offered: None,
        }
    }

    /// The tools the installed services offer: a group may then have only these (the
    /// portal says it at start; without it any tool id is accepted).
    pub fn offering(mut self, tools: impl IntoIterator<Item = OfferedTool>) -> Self {
        self.offered = Some(tools.into_iter().map(|t| (t.id.clone(), t)).collect());
        self
    }

    /// The tools offered, if [`offering`](Self::offering) said.
    pub fn offered(&self) -> Option<impl Iterator<Item = &OfferedTool>> {
        self.offered.as_ref().map(|o| o.values())
    }

    /// The policy in force.
    pub fn policy(&self) -> &GroupPolicy {
        &self.policy
    }

    /// How many active groups `owner` may own, or `None` if she may not create any.
    pub fn allowance(&self, owner: &Person) -> Option<usize> {
        self.policy.limits_of(owner).map(|l| l.max_groups)
    }

    /// The caps of a group: its owner's (as her profiles were when she created it),
    /// those of `[groups]` for a group of an earlier release or an owner no longer
    /// allowed; with an administrator acting, the most generous of both.
    pub fn limits_of(&self, group: &Group, actor: &Person) -> GroupLimits {
        let owner = self
            .policy
            .limits(&group.owner, &group.owner_profiles)
            .unwrap_or_else(|| self.policy.global_limits());
        if actor.has_profile(&Profile::Admin) {
            owner.most_generous(self.policy.global_limits())
        } else {
            owner
        }
    }

    /// Create a group; its members are contributors, it has no tool yet and the
    /// policy's file quota.
    pub async fn create(
        &self,
        owner: &Person,
        name: &str,
        members: Vec<String>,
        ends: SystemTime,
    ) -> Result<Group, GroupError> {
        let limits = self.policy.limits_of(owner).ok_or(GroupError::NotAllowed)?;
        let now = self.clock.now();
        let owned = self.owned_by(&owner.id).await?.len();
        if owned >= limits.max_groups {
            return Err(GroupError::Limit {
                max: limits.max_groups,
            });
        }
        check_end(now, ends, limits.max_days)?;
        let name = check_name(name)?;
        let members = check_members(members, &owner.id, limits.max_members)?;
        let group = Group {
            id: new_id(),
            name,
            owner: owner.id.clone(),
            members,
            created: now,
            ends,
            rights: BTreeMap::new(),
            tools: BTreeMap::new(),
            file_quota_mb: Some(self.policy.file_quota_mb.min(limits.max_file_quota_mb)),
            owner_profiles: owner.profiles.clone(),
        };
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Store a group as given, its id included (a fixture, a group carried over from
    /// another ENT): its name and members are checked, not the policy's caps.
    pub async fn restore(&self, group: Group) -> Result<Group, GroupError> {
        let mut group = group;
        if !is_record_id(&group.id) {
            return Err(GroupError::Invalid(format!(
                "invalid group id {:?}",
                group.id
            )));
        }
        group.name = check_name(&group.name)?;
        group.members = check_members(group.members, &group.owner, usize::MAX)?;
        group
            .rights
            .retain(|uid, r| *r != GroupRight::Owner && group.members.contains(uid));
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// An active group.
    pub async fn get(&self, id: &str) -> Result<Option<Group>, GroupError> {
        let now = self.clock.now();
        Ok(self.records.get(id).await?.filter(|g| g.is_active(now)))
    }

    /// A group, active or ended (administration).
    pub async fn find(&self, id: &str) -> Result<Option<Group>, GroupError> {
        Ok(self.records.get(id).await?)
    }

    /// Active groups she owns.
    pub async fn owned_by(&self, uid: &str) -> Result<Vec<Group>, GroupError> {
        let now = self.clock.now();
        Ok(self
            .records
            .all()
            .await?
            .into_iter()
            .filter(|g| g.owner == uid && g.is_active(now))
            .collect())
    }

    /// Active groups she belongs to (as member or owner).
    pub async fn groups_of(&self, uid: &str) -> Result<Vec<Group>, GroupError> {
        let now = self.clock.now();
        Ok(self
            .records
            .all()
            .await?
            .into_iter()
            .filter(|g| g.is_active(now) && g.right_of(uid).is_some())
            .collect())
    }

    /// Every group, ended ones included (administration).
    pub async fn all(&self) -> Result<Vec<Group>, GroupError> {
        Ok(self.records.all().await?)
    }

    /// A service's view: the setting of its tool in the active group `group`, or `None`
    /// if the group has not that tool (or does not exist, or ended).
    pub async fn tool_of(
        &self,
        group: &str,
        service: &str,
    ) -> Result<Option<ToolGrant>, GroupError> {
        Ok(self
            .get(group)
            .await?
            .and_then(|g| g.tools.get(service).cloned()))
    }

    /// A service's view: what `uid` may do in the active group `group`, or `None` if she
    /// is not a member (or the group does not exist, or ended).
    pub async fn right_of(&self, group: &str, uid: &str) -> Result<Option<GroupRight>, GroupError> {
        Ok(self.get(group).await?.and_then(|g| g.right_of(uid)))
    }

    /// A service's view: the active groups of `uid` that have the tool of `service`,
    /// with her right in each.
    pub async fn with_tool(
        &self,
        uid: &str,
        service: &str,
    ) -> Result<Vec<(Group, GroupRight)>, GroupError> {
        Ok(self
            .groups_of(uid)
            .await?
            .into_iter()
            .filter(|g| g.tools.contains_key(service))
            .filter_map(|g| g.right_of(uid).map(|r| (g, r)))
            .collect())
    }

    /// Replace the members (owner, manager or administrator); those kept keep their
    /// rights, new ones are contributors.
    pub async fn set_members(
        &self,
        actor: &Person,
        id: &str,
        members: Vec<String>,
    ) -> Result<Group, GroupError> {
        let group = self.managed(actor, id).await?;
        let with_rights = members
            .into_iter()
            .map(|uid| Member {
                right: group.rights.get(uid.trim()).copied().unwrap_or_default(),
                uid,
            })
            .collect();
        self.put_members(actor, group, with_rights).await
    }

    /// Replace the members and their rights (owner, manager or administrator).
    pub async fn set_members_with_rights(
        &self,
        actor: &Person,
        id: &str,
        members: Vec<Member>,
    ) -> Result<Group, GroupError> {
        let group = self.managed(actor, id).await?;
        self.put_members(actor, group, members).await
    }

    async fn put_members(
        &self,
        actor: &Person,
        mut group: Group,
        members: Vec<Member>,
    ) -> Result<Group, GroupError> {
        let limits = self.limits_of(&group, actor);
        let mut rights = BTreeMap::new();
        for m in &members {
            if m.right == GroupRight::Owner {
                return Err(GroupError::Invalid(
                    "a member is a reader, a contributor or a manager; the owner is the creator"
                        .into(),
                ));
            }
            if m.right != GroupRight::Contributor {
                rights.insert(m.uid.trim().to_string(), m.right);
            }
        }
        let uids = members.into_iter().map(|m| m.uid).collect();
        group.members = check_members(uids, &group.owner, limits.max_members)?;
        rights.retain(|uid, _| group.members.contains(uid));
        group.rights = rights;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Choose the group's tools and their settings, and its file quota in MiB (owner,
    /// manager or administrator), within the caps of its owner and the tools offered.
    pub async fn set_tools(
        &self,
        actor: &Person,
        id: &str,
        tools: BTreeMap<String, ToolGrant>,
        file_quota_mb: u64,
    ) -> Result<Group, GroupError> {
        let mut group = self.managed(actor, id).await?;
        let limits = self.limits_of(&group, actor);
        for (tool, grant) in &tools {
            if !is_tool_id(tool) {
                return Err(GroupError::Invalid(format!("invalid tool id {tool:?}")));
            }
            let offered = match &self.offered {
                Some(offered) => Some(offered.get(tool).ok_or_else(|| {
                    GroupError::NotPermitted(format!("no installed service offers the tool {tool}"))
                })?),
                None => None,
            };
            if !limits.allows_tool(tool) {
                return Err(GroupError::NotPermitted(format!(
                    "the administrator does not allow the tool {tool} in this group"
                )));
            }
            if let Some(limit) = grant.limit {
                if offered.is_some_and(|o| o.max_limit.is_none()) {
                    return Err(GroupError::Invalid(format!(
                        "the tool {tool} has no limit to set"
                    )));
                }
                let max = offered
                    .and_then(|o| o.max_limit)
                    .unwrap_or(u64::MAX)
                    .min(limits.tool_limits.get(tool).copied().unwrap_or(u64::MAX));
                if limit > max {
                    return Err(GroupError::NotPermitted(format!(
                        "the tool {tool} allows at most {max}"
                    )));
                }
            }
        }
        if file_quota_mb > limits.max_file_quota_mb {
            return Err(GroupError::NotPermitted(format!(
                "the file quota of this group is at most {} MiB",
                limits.max_file_quota_mb
            )));
        }
        group.tools = tools;
        group.file_quota_mb = Some(file_quota_mb);
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Rename the group (owner, manager or administrator).
    pub async fn rename(&self, actor: &Person, id: &str, name: &str) -> Result<Group, GroupError> {
        let mut group = self.managed(actor, id).await?;
        group.name = check_name(name)?;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Rename the group and change its end date at once (owner, manager or
    /// administrator): both are checked before either is written.
    pub async fn set_name_and_end(
        &self,
        actor: &Person,
        id: &str,
        name: &str,
        ends: SystemTime,
    ) -> Result<Group, GroupError> {
        let mut group = self.managed(actor, id).await?;
        let limits = self.limits_of(&group, actor);
        let name = check_name(name)?;
        check_end(self.clock.now(), ends, limits.max_days)?;
        group.name = name;
        group.ends = ends;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Change the end date (owner, manager or administrator), within the caps.
    pub async fn set_end(
        &self,
        actor: &Person,
        id: &str,
        ends: SystemTime,
    ) -> Result<Group, GroupError> {
        let mut group = self.managed(actor, id).await?;
        let limits = self.limits_of(&group, actor);
        check_end(self.clock.now(), ends, limits.max_days)?;
        group.ends = ends;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Delete a group, ended or not (owner or administrator; not a manager).
    pub async fn delete(&self, actor: &Person, id: &str) -> Result<(), GroupError> {
        let group = self.records.get(id).await?.ok_or(GroupError::NotFound)?;
        if group.owner != actor.id && !actor.has_profile(&Profile::Admin) {
            return Err(GroupError::NotOwner);
        }
        Ok(self.records.delete(id).await?)
    }

    /// The group `id` if `actor` may change it: an active one she owns or manages, or
    /// any (ended ones included) for an administrator.
    async fn managed(&self, actor: &Person, id: &str) -> Result<Group, GroupError> {
        if actor.has_profile(&Profile::Admin) {
            return self.records.get(id).await?.ok_or(GroupError::NotFound);
        }
        let group = self.get(id).await?.ok_or(GroupError::NotFound)?;
        match group.right_of(&actor.id) {
            Some(r) if r.can_manage() => Ok(group),
            _ => Err(GroupError::NotManager),
        }
    }
}

/// A group id: what [`new_id`] makes, or a fixture's `[A-Za-z0-9_-]`, 1 to 64 long.
fn is_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A tool id: a portlet's, `[a-z0-9-]`, 1 to 64 long.
fn is_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_end(now: SystemTime, ends: SystemTime, max_days: u64) -> Result<(), GroupError> {
    if !within_days(now, ends, max_days) {
        return Err(GroupError::BadEndDate { max_days });
    }
    Ok(())
}

fn check_members(
    members: Vec<String>,
    owner: &str,
    max_members: usize,
) -> Result<Vec<String>, GroupError> {
    let mut out: Vec<String> = Vec::new();
    for m in members {
        let m = m.trim().to_string();
        if m.is_empty() || m == owner {
            continue;
        }
        if m.len() > 128 || m.chars().any(char::is_control) {
            return Err(GroupError::Invalid(format!("invalid member id {m:?}")));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.len() > max_members {
        return Err(GroupError::Invalid(format!(
            "a group has at most {max_members} members"
        )));
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<String, GroupError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(GroupError::Invalid(
            "a group name is one line of 1 to 100 characters".into(),
        ));
    }
    Ok(name.to_string())
}
