use secrecy::{ExposeSecret, SecretString};

use super::email::Email;

pub const MIN_PASSWORD_LEN: usize = 10;
/// argon2 work grows with input length; cap it so a request cannot buy CPU.
pub const MAX_PASSWORD_LEN: usize = 256;

/// A password that meets the policy: at least 10 characters, not all of one
/// character class, and not the account's email.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: SecretString, email: &Email) -> Result<Self, String> {
        let value = raw.expose_secret();
        let length = value.chars().count();
        if length < MIN_PASSWORD_LEN {
            return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
        }
        if length > MAX_PASSWORD_LEN {
            return Err(format!("must be at most {MAX_PASSWORD_LEN} characters"));
        }
        let classes = [
            value.chars().any(|c| c.is_lowercase()),
            value.chars().any(|c| c.is_uppercase()),
            value.chars().any(|c| c.is_ascii_digit()),
            value.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|present| **present).count() < 2 {
            return Err("must mix at least two kinds of character (lower, upper, digit, symbol)".into());
        }
        let lowered = value.to_lowercase();
        if lowered == email.normalized() || lowered == email.normalized().split('@').next().unwrap_or_default() {
            return Err("must not be your email address".into());
        }
        Ok(NewPassword(raw))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    fn check(password: &str) -> Result<NewPassword, String> {
        NewPassword::parse(SecretString::from(password), &Email::parse("ada.lovelace@example.com").unwrap())
    }

    #[test]
    fn policy() {
        assert!(check("correct horse 9").is_ok());
        assert!(check("Short1!").is_err(), "too short");
        assert!(check("alllowercaseletters").is_err(), "one class");
        assert!(check("12345678901234").is_err(), "one class");
        assert!(check("ADA.LOVELACE@EXAMPLE.COM").is_err(), "the email");
        assert!(check(&"aA".repeat(200)).is_err(), "too long");
    }
}
