//! Account lifecycle: an account past its end date is first deactivated (no login) for a
//! grace period, then due for deletion (SDET Tableau A, "Inscription à l'ENT").

use std::time::{Duration, SystemTime};

use crate::{DAY, Person, parse_generalized_time};

/// The directory attribute holding an account's end date (GeneralizedTime); an
/// unreadable value deactivates the account.
pub const END_ATTRIBUTE: &str = "cartableAccountEnd";
/// The directory attribute deactivating an account at once (`TRUE`).
pub const DISABLED_ATTRIBUTE: &str = "cartableAccountDisabled";

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// She may log in.
    Active,
    /// Past its end date (or disabled): no login; kept for the grace period.
    Deactivated,
    /// Past the grace period: to be deleted from the directory.
    DueForDeletion,
}

/// The lifecycle rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLifecycle {
    /// How long a deactivated account is kept before deletion.
    pub grace: Duration,
}

impl Default for AccountLifecycle {
    fn default() -> Self {
        AccountLifecycle { grace: DAY * 90 }
    }
}

impl AccountLifecycle {
    /// The status of an account at `now`.
    pub fn status(&self, person: &Person, now: SystemTime) -> AccountStatus {
        let end = match person.attribute(END_ATTRIBUTE) {
            None => None,
            Some(raw) => match parse_generalized_time(raw) {
                Some(end) => Some(end),
                None => {
                    // Refuse rather than guess: the LDAP backend does the same.
                    tracing::warn!(user = %person.id, value = raw, "unreadable account end date");
                    return AccountStatus::Deactivated;
                }
            },
        };
        match end {
            Some(end) if now >= end + self.grace => AccountStatus::DueForDeletion,
            Some(end) if now >= end => AccountStatus::Deactivated,
            _ if person
                .attribute(DISABLED_ATTRIBUTE)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")) =>
            {
                AccountStatus::Deactivated
            }
            _ => AccountStatus::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_date_then_grace_period() {
        let mut p = Person {
            id: "x".into(),
            display_name: "x".into(),
            profiles: vec![],
            attributes: Default::default(),
        };
        let l = AccountLifecycle { grace: DAY * 10 };
        let end = parse_generalized_time("20270831000000Z").unwrap();
        assert_eq!(l.status(&p, end), AccountStatus::Active);
        p.attributes
            .insert(END_ATTRIBUTE.into(), vec!["20270831000000Z".into()]);
        assert_eq!(l.status(&p, end - DAY), AccountStatus::Active);
        assert_eq!(l.status(&p, end), AccountStatus::Deactivated);
        assert_eq!(l.status(&p, end + DAY * 10), AccountStatus::DueForDeletion);
        p.attributes.remove(END_ATTRIBUTE);
        p.attributes
            .insert(DISABLED_ATTRIBUTE.into(), vec!["TRUE".into()]);
        assert_eq!(l.status(&p, end), AccountStatus::Deactivated);
        p.attributes.remove(DISABLED_ATTRIBUTE);
        p.attributes
            .insert(END_ATTRIBUTE.into(), vec!["bientôt".into()]);
        assert_eq!(
            l.status(&p, end - DAY),
            AccountStatus::Deactivated,
            "unreadable"
        );
    }
}
