//! Account invitations: an owner invites an email with a role; the invitee signs up
//! with the emailed code and joins the account.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::account::Role;
use super::email::Email;

pub const INVITE_TTL: Duration = Duration::days(7);
/// Most invitations one bulk request may carry.
pub const MAX_BULK_INVITES: usize = 50;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub id: String,
    pub account_id: String,
    pub email: Email,
    pub role: Role,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl Invite {
    pub fn new(id: String, account_id: &str, email: Email, role: Role, invited_by: &str, now: DateTime<Utc>) -> Self {
        Invite {
            id,
            account_id: account_id.to_owned(),
            email,
            role,
            invited_by: invited_by.to_owned(),
            created_at: now,
            expires_at: now + INVITE_TTL,
            email_sent_at: None,
            used_at: None,
            revoked_at: None,
        }
    }

    pub fn status(&self, now: DateTime<Utc>) -> InviteStatus {
        if self.used_at.is_some() {
            InviteStatus::Accepted
        } else if self.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }

    /// Valid = not used, not expired, not revoked.
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == InviteStatus::Pending
    }

    /// Whether `email` is the invited address (case-insensitive).
    pub fn is_for(&self, email: &Email) -> bool {
        self.email.normalized() == email.normalized()
    }
}

/// The role an invitation may grant: an account has one owner, so never `owner`.
pub fn invitable_role(role: Role) -> Result<Role, String> {
    if role == Role::Owner { Err("an invitation cannot make an owner".into()) } else { Ok(role) }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    #[test]
    fn status_follows_use_revocation_and_expiry() {
        let now = Utc::now();
        let mut invite = Invite::new("i".into(), "a", Email::parse("x@example.com").unwrap(), Role::Viewer, "u", now);
        assert_eq!(invite.status(now), InviteStatus::Pending);
        assert_eq!(invite.status(now + Duration::days(7)), InviteStatus::Expired);
        invite.revoked_at = Some(now);
        assert_eq!(invite.status(now), InviteStatus::Revoked);
        invite.used_at = Some(now);
        assert_eq!(invite.status(now), InviteStatus::Accepted);
        assert!(invite.is_for(&Email::parse("X@EXAMPLE.com").unwrap()));
        assert!(invitable_role(Role::Owner).is_err());
    }
}
