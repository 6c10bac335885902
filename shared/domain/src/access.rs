//! The two access guards of product routes, as pure decisions. They never change
//! state: an expired trial stays `trialing` (no auto-downgrade on read).

use chrono::{DateTime, Utc};

use super::account::{Subscription, User};

/// Where the client sends a user whose subscription does not grant access.
pub const UPGRADE_URL: &str = "/account/billing/select-plan";
pub const RESEND_VERIFICATION_URL: &str = "/v1/auth/email/send-verification";

// The seed's allow-lists (auth me/logout/password change/email verification,
// users/me and onboarding, billing state/checkout/portal) are kept by where the guards
// are mounted: only the product routers (petitions, tasks, wills) are guarded, and
// every allow-listed path belongs to `auth` or `billing`. `tests/api/guards.rs` checks
// those paths with an expired trial past the verification grace.

/// Paths a user who must change their password may still use (seed 002): enough to
/// see who they are, change the password and sign out.
pub const PASSWORD_CHANGE_ALLOWLIST: &[&str] = &["/v1/auth/me", "/v1/users/me", "/v1/auth/password/change", "/v1/auth/logout"];

/// Why an authenticated user is turned away whatever the route.
#[derive(Debug, PartialEq, Eq)]
pub enum UserDenial {
    Inactive,
    PasswordChangeRequired,
}

/// `get_current_active_user` as a rule: a deactivated user is refused everywhere; one
/// who must change their password everywhere but `PASSWORD_CHANGE_ALLOWLIST`.
pub fn check_active(user: &User, path: &str) -> Result<(), UserDenial> {
    if user.deactivated_at.is_some() {
        return Err(UserDenial::Inactive);
    }
    if user.must_change_password && !PASSWORD_CHANGE_ALLOWLIST.contains(&path) {
        return Err(UserDenial::PasswordChangeRequired);
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
pub enum SubscriptionDenial {
    NoSubscription,
    Inactive(Box<Subscription>),
}

/// `require_active_subscription` as a rule.
pub fn check_subscription(subscription: Option<&Subscription>, now: DateTime<Utc>) -> Result<(), SubscriptionDenial> {
    match subscription {
        None => Err(SubscriptionDenial::NoSubscription),
        Some(sub) if sub.is_live(now) => Ok(()),
        Some(sub) => Err(SubscriptionDenial::Inactive(Box::new(sub.clone()))),
    }
}

/// `require_verified_email_after_grace` as a rule: Err carries when grace ended.
pub fn check_email_verified(user: &User, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    let grace_ends = user.verification_grace_ends_at();
    if now < grace_ends { Ok(()) } else { Err(grace_ends) }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::account::{Role, SubscriptionStatus};
    use crate::email::Email;

    fn user(created_days_ago: i64, verified: bool) -> User {
        let now = Utc::now();
        User {
            email_verified_at: verified.then_some(now),
            ..User::new(
                "u".into(),
                "a",
                Email::parse("a@example.com").unwrap(),
                "A".into(),
                Role::Owner,
                now - Duration::days(created_days_ago),
            )
        }
    }

    #[test]
    fn grace_is_seven_days_from_sign_up() {
        let now = Utc::now();
        assert!(check_email_verified(&user(6, false), now).is_ok());
        assert!(check_email_verified(&user(8, false), now).is_err());
        assert!(check_email_verified(&user(30, true), now).is_ok());
    }

    #[test]
    fn an_expired_trial_is_denied_with_its_state() {
        let now = Utc::now();
        let mut sub = Subscription::trial("a", now - Duration::days(20));
        assert_eq!(sub.status, SubscriptionStatus::Trialing);
        assert_eq!(check_subscription(Some(&sub), now), Err(SubscriptionDenial::Inactive(Box::new(sub.clone()))));
        sub.status = SubscriptionStatus::Complimentary;
        assert!(check_subscription(Some(&sub), now).is_err(), "a grant that ended");
        sub.current_period_end = None;
        assert_eq!(check_subscription(Some(&sub), now), Ok(()));
    }

    #[test]
    fn inactive_users_are_refused_and_a_due_password_change_comes_first() {
        let mut u = user(1, true);
        assert_eq!(check_active(&u, "/v1/wills"), Ok(()));
        u.must_change_password = true;
        assert_eq!(check_active(&u, "/v1/wills"), Err(UserDenial::PasswordChangeRequired));
        assert_eq!(check_active(&u, "/v1/auth/password/change"), Ok(()));
        u.deactivated_at = Some(Utc::now());
        assert_eq!(check_active(&u, "/v1/auth/password/change"), Err(UserDenial::Inactive));
    }
}
