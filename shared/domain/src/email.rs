use serde::{Deserialize, Serialize};

/// An email address as the user typed it, checked for shape. Uniqueness is
/// case-insensitive: compare and key by [`Email::normalized`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && !domain.contains('@')
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid { Ok(Email(value.to_owned())) } else { Err("not a valid email address".into()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity of the address (the uniqueness key).
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_and_normalizes_case() {
        let email = Email::parse(" Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ada@Example.COM");
        assert_eq!(email.normalized(), "ada@example.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in ["", "ada", "@example.com", "ada@", "ada@example", "a b@example.com", "ada@.com", "ada@ex..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
