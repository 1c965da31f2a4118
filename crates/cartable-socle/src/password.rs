//! The administrator's password policy, and generated passwords.

use serde::Deserialize;
use thiserror::Error;

/// A password the policy refuses, with every reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("password refused: {}", .0.join("; "))]
pub struct PasswordRejected(pub Vec<String>);

/// Rules for passwords users choose.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: usize,
    /// Fewest character classes among lower case, upper case, digits, others.
    pub min_classes: usize,
    /// Refuse passwords containing the login.
    pub forbid_login: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            min_classes: 3,
            forbid_login: true,
        }
    }
}

impl PasswordPolicy {
    /// Check a password she chose.
    pub fn check(&self, login: &str, password: &str) -> Result<(), PasswordRejected> {
        let mut reasons = Vec::new();
        let len = password.chars().count();
        if len < self.min_length {
            reasons.push(format!("at least {} characters", self.min_length));
        }
        if len > 256 {
            reasons.push("at most 256 characters".into());
        }
        let classes = [
            password.chars().any(char::is_lowercase),
            password.chars().any(char::is_uppercase),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if classes < self.min_classes {
            reasons.push(format!(
                "at least {} of: lower case, upper case, digits, other characters",
                self.min_classes
            ));
        }
        if self.forbid_login
            && !login.is_empty()
            && password.to_lowercase().contains(&login.to_lowercase())
        {
            reasons.push("must not contain the login".into());
        }
        if password.chars().any(char::is_control) {
            reasons.push("no control characters".into());
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(PasswordRejected(reasons))
        }
    }

    /// A random password meeting the policy (for an administrator's regeneration): words
    /// of unambiguous characters separated by digits and a symbol.
    pub fn generate(&self) -> String {
        const LOWER: &[u8] = b"abcdefghjkmnpqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGIT: &[u8] = b"23456789";
        let bytes: [u8; 32] = rand::random();
        let len = self.min_length.max(12);
        let mut out = String::with_capacity(len + 2);
        for (i, b) in bytes.iter().cycle().take(len).enumerate() {
            let set = match i % 4 {
                0 => UPPER,
                3 => DIGIT,
                _ => LOWER,
            };
            out.push(set[*b as usize % set.len()] as char);
        }
        out.push('-');
        out.push(DIGIT[bytes[0] as usize % DIGIT.len()] as char);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_gives_every_reason() {
        let p = PasswordPolicy::default();
        let e = p.check("lea", "lea").unwrap_err();
        assert_eq!(e.0.len(), 3, "{e}");
        assert!(p.check("lea", "Correct-Horse-7").is_ok());
        assert!(p.check("lea", "Lea-Is-Here-2026").is_err());
    }

    #[test]
    fn generated_passwords_pass_and_differ() {
        let p = PasswordPolicy::default();
        let a = p.generate();
        let b = p.generate();
        assert_ne!(a, b);
        p.check("someone", &a).unwrap();
    }
}
