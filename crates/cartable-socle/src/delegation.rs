//! Delegation of a role to another user for a period, within the administrator's limits
//! (SDET Tableau A: "déléguer à un autre usager les droits correspondant à un ou
//! plusieurs de ses rôles, pour une durée déterminée").

use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::within_days;
use crate::records::{Records, new_id};
use crate::{Clock, Person, Profile, SocleError, Storage};

/// One delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// Identifier.
    pub id: String,
    /// Who delegates.
    pub from: String,
    /// Who receives the role.
    pub to: String,
    /// The role delegated.
    pub profile: Profile,
    /// When it starts.
    pub starts: SystemTime,
    /// When it ends by itself.
    pub ends: SystemTime,
}

impl Delegation {
    /// Whether it is in force at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        self.starts <= now && now < self.ends
    }
}

/// What the administrator allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DelegationPolicy {
    /// Roles that may be delegated.
    pub delegable: Vec<Profile>,
    /// Longest delegation, in days.
    pub max_days: u64,
}

impl Default for DelegationPolicy {
    fn default() -> Self {
        DelegationPolicy {
            delegable: vec![Profile::Enseignant, Profile::Personnel],
            max_days: 30,
        }
    }
}

/// A delegation was refused.
#[derive(Debug, Error)]
pub enum DelegationError {
    /// The role is not delegable, or she does not hold it herself.
    #[error("you cannot delegate the role {0}: it is not yours or not delegable")]
    NotDelegable(Profile),
    /// To herself, or to nobody.
    #[error("choose another user to delegate to")]
    BadRecipient,
    /// The period is empty, in the past or too long.
    #[error("the delegation must end in the future and last at most {max_days} days")]
    BadPeriod {
        /// The longest delegation.
        max_days: u64,
    },
    /// No such delegation.
    #[error("no such delegation")]
    NotFound,
    /// Only the delegator or an administrator may revoke it.
    #[error("only who delegated, or an administrator, may end a delegation")]
    NotOwner,
    /// Storage failed.
    #[error(transparent)]
    Socle(#[from] SocleError),
}

/// The delegation service.
pub struct Delegations {
    records: Records<Delegation>,
    clock: Arc<dyn Clock>,
    policy: DelegationPolicy,
}

impl Delegations {
    /// Delegations kept in `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: DelegationPolicy) -> Self {
        Delegations {
            records: Records::new(storage, "cartable-delegations", "delegation/"),
            clock,
            policy,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &DelegationPolicy {
        &self.policy
    }

    /// Delegate one of `from`'s own roles (as the directory gives them, never a role she
    /// received by delegation) to `to` from now until `ends`.
    pub async fn delegate(
        &self,
        from: &Person,
        to: &str,
        profile: Profile,
        ends: SystemTime,
    ) -> Result<Delegation, DelegationError> {
        if !from.profiles.contains(&profile) || !self.policy.delegable.contains(&profile) {
            return Err(DelegationError::NotDelegable(profile));
        }
        let to = to.trim();
        if to.is_empty() || to == from.id || to.len() > 128 {
            return Err(DelegationError::BadRecipient);
        }
        let now = self.clock.now();
        if !within_days(now, ends, self.policy.max_days) {
            return Err(DelegationError::BadPeriod {
                max_days: self.policy.max_days,
            });
        }
        let d = Delegation {
            // Keyed by recipient: the per-request lookup of her roles reads only hers.
            id: format!("{}/{}", to.replace('/', "%2F"), new_id()),
            from: from.id.clone(),
            to: to.to_string(),
            profile,
            starts: now,
            ends,
        };
        self.records.put(&d.id, &d).await?;
        Ok(d)
    }

    /// End a delegation now (the delegator or an administrator).
    pub async fn revoke(&self, actor: &Person, id: &str) -> Result<(), DelegationError> {
        let d = self
            .records
            .get(id)
            .await?
            .ok_or(DelegationError::NotFound)?;
        if d.from != actor.id && !actor.has_profile(&Profile::Admin) {
            return Err(DelegationError::NotOwner);
        }
        Ok(self.records.delete(id).await?)
    }

    /// Delegations in force that `uid` received.
    pub async fn received_by(&self, uid: &str) -> Result<Vec<Delegation>, DelegationError> {
        let now = self.clock.now();
        let mut all = self.received_at_any_time(uid).await?;
        all.retain(|d| d.is_active(now));
        Ok(all)
    }

    /// Every stored delegation `uid` received, in force or not (a portal node caches
    /// them and checks [`Delegation::is_active`] on each request).
    pub async fn received_at_any_time(
        &self,
        uid: &str,
    ) -> Result<Vec<Delegation>, DelegationError> {
        Ok(self
            .records
            .with_id_prefix(&format!("{}/", uid.replace('/', "%2F")))
            .await?
            .into_iter()
            .filter(|d| d.to == uid)
            .collect())
    }

    /// Who received the delegation with this id (ids start with the receiver's uid).
    pub fn receiver_of(id: &str) -> Option<String> {
        id.split_once('/').map(|(to, _)| to.replace("%2F", "/"))
    }

    /// Delegations in force that `uid` gave.
    pub async fn given_by(&self, uid: &str) -> Result<Vec<Delegation>, DelegationError> {
        let now = self.clock.now();
        Ok(self
            .records
            .all()
            .await?
            .into_iter()
            .filter(|d| d.from == uid && d.is_active(now))
            .collect())
    }

    /// Her rights: the sum of her own roles and those delegated to her now.
    pub async fn effective_profiles(
        &self,
        person: &Person,
    ) -> Result<Vec<Profile>, DelegationError> {
        let mut profiles = person.profiles.clone();
        for d in self.received_by(&person.id).await? {
            if !profiles.contains(&d.profile) {
                profiles.push(d.profile);
            }
        }
        Ok(profiles)
    }
}
