//! Groups of users created by some users, with members and an end date (SDET Tableau A,
//! "Gestion de groupes d'usagers").

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::within_days;
use crate::records::{Records, new_id};
use crate::{Clock, Person, Profile, SocleError, Storage};

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
}

impl Group {
    /// Whether it still exists at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        now < self.ends
    }
}

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
}

impl Default for GroupPolicy {
    fn default() -> Self {
        GroupPolicy {
            creators: vec![Profile::Enseignant, Profile::Personnel, Profile::Admin],
            max_per_profile: BTreeMap::new(),
            default_max: 20,
            max_days: 400,
            max_members: 500,
        }
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
    /// Bad name or member list.
    #[error("{0}")]
    Invalid(String),
    /// No such group (or it ended).
    #[error("no such group")]
    NotFound,
    /// Only the owner or an administrator may change it.
    #[error("only the group's owner or an administrator may change it")]
    NotOwner,
    /// Storage failed.
    #[error(transparent)]
    Socle(#[from] SocleError),
}

/// The group service.
pub struct Groups {
    records: Records<Group>,
    clock: Arc<dyn Clock>,
    policy: GroupPolicy,
}

impl Groups {
    /// Groups kept in `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: GroupPolicy) -> Self {
        Groups {
            records: Records::new(storage, "cartable-groups", "group/"),
            clock,
            policy,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &GroupPolicy {
        &self.policy
    }

    /// How many active groups `owner` may own, or `None` if she may not create any.
    pub fn allowance(&self, owner: &Person) -> Option<usize> {
        if owner.has_profile(&Profile::Admin) {
            return Some(usize::MAX);
        }
        owner
            .profiles
            .iter()
            .filter(|p| self.policy.creators.contains(p))
            .map(|p| {
                self.policy
                    .max_per_profile
                    .get(p)
                    .copied()
                    .unwrap_or(self.policy.default_max)
            })
            .max()
    }

    /// Create a group.
    pub async fn create(
        &self,
        owner: &Person,
        name: &str,
        members: Vec<String>,
        ends: SystemTime,
    ) -> Result<Group, GroupError> {
        let max = self.allowance(owner).ok_or(GroupError::NotAllowed)?;
        let now = self.clock.now();
        let owned = self.owned_by(&owner.id).await?.len();
        if owned >= max {
            return Err(GroupError::Limit { max });
        }
        self.check_end(now, ends)?;
        let name = check_name(name)?;
        let members = self.check_members(members)?;
        let group = Group {
            id: new_id(),
            name,
            owner: owner.id.clone(),
            members,
            created: now,
            ends,
        };
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// An active group.
    pub async fn get(&self, id: &str) -> Result<Option<Group>, GroupError> {
        let now = self.clock.now();
        Ok(self.records.get(id).await?.filter(|g| g.is_active(now)))
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
            .filter(|g| g.is_active(now) && (g.owner == uid || g.members.iter().any(|m| m == uid)))
            .collect())
    }

    /// Every group, ended ones included (administration).
    pub async fn all(&self) -> Result<Vec<Group>, GroupError> {
        Ok(self.records.all().await?)
    }

    /// Replace the members (owner or administrator).
    pub async fn set_members(
        &self,
        actor: &Person,
        id: &str,
        members: Vec<String>,
    ) -> Result<Group, GroupError> {
        let mut group = self.get(id).await?.ok_or(GroupError::NotFound)?;
        self.check_manager(actor, &group)?;
        group.members = self.check_members(members)?;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Change the end date (owner or administrator), within the policy.
    pub async fn set_end(
        &self,
        actor: &Person,
        id: &str,
        ends: SystemTime,
    ) -> Result<Group, GroupError> {
        let mut group = self.get(id).await?.ok_or(GroupError::NotFound)?;
        self.check_manager(actor, &group)?;
        self.check_end(self.clock.now(), ends)?;
        group.ends = ends;
        self.records.put(&group.id, &group).await?;
        Ok(group)
    }

    /// Delete a group (owner or administrator).
    pub async fn delete(&self, actor: &Person, id: &str) -> Result<(), GroupError> {
        let group = self.records.get(id).await?.ok_or(GroupError::NotFound)?;
        self.check_manager(actor, &group)?;
        Ok(self.records.delete(id).await?)
    }

    fn check_manager(&self, actor: &Person, group: &Group) -> Result<(), GroupError> {
        if group.owner == actor.id || actor.has_profile(&Profile::Admin) {
            Ok(())
        } else {
            Err(GroupError::NotOwner)
        }
    }

    fn check_end(&self, now: SystemTime, ends: SystemTime) -> Result<(), GroupError> {
        if !within_days(now, ends, self.policy.max_days) {
            return Err(GroupError::BadEndDate {
                max_days: self.policy.max_days,
            });
        }
        Ok(())
    }

    fn check_members(&self, members: Vec<String>) -> Result<Vec<String>, GroupError> {
        let mut out: Vec<String> = Vec::new();
        for m in members {
            let m = m.trim().to_string();
            if m.is_empty() {
                continue;
            }
            if m.len() > 128 || m.chars().any(char::is_control) {
                return Err(GroupError::Invalid(format!("invalid member id {m:?}")));
            }
            if !out.contains(&m) {
                out.push(m);
            }
        }
        if out.len() > self.policy.max_members {
            return Err(GroupError::Invalid(format!(
                "a group has at most {} members",
                self.policy.max_members
            )));
        }
        Ok(out)
    }
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
