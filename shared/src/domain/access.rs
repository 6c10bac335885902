//! The two access guards of product routes, as pure decisions. They never change
//! state: an expired trial stays `trialing` (no auto-downgrade on read).

use chrono::{DateTime, Utc};

use super::account::{Subscription, User};

/// Where the client sends a user whose subscription does not grant access.
pub const UPGRADE_URL: &str = "/account/billing/select-plan";
pub const RESEND_VERIFICATION_URL: &str = "/v1/auth/email/send-verification";

/// Paths that bypass `require_active_subscription` (the seed's list).
pub const SUBSCRIPTION_GUARD_ALLOWLIST: &[&str] = &[
    "/v1/auth/me",
    "/v1/auth/logout",
    "/v1/auth/password/change",
    "/v1/auth/email/send-verification",
    "/v1/auth/email/verify",
    "/v1/billing/state",
    "/v1/billing/checkout-session",
    "/v1/billing/portal-session",
    "/v1/users/me",
    "/v1/users/me/onboarding-step",
];

/// Paths that bypass `require_verified_email_after_grace` (the seed's list).
pub const EMAIL_VERIFICATION_ALLOWLIST: &[&str] = &[
    "/v1/auth/me",
    "/v1/auth/logout",
    "/v1/auth/email/send-verification",
    "/v1/auth/email/verify",
    "/v1/auth/password/change",
    "/v1/users/me",
    "/v1/billing/state",
    "/v1/billing/checkout-session",
    "/v1/billing/portal-session",
];

#[derive(Debug, PartialEq)]
pub enum SubscriptionDenial {
    NoSubscription,
    Inactive(Subscription),
}

/// `require_active_subscription` as a rule.
pub fn check_subscription(
    path: &str,
    subscription: Option<&Subscription>,
    now: DateTime<Utc>,
) -> Result<(), SubscriptionDenial> {
    if SUBSCRIPTION_GUARD_ALLOWLIST.contains(&path) {
        return Ok(());
    }
    match subscription {
        None => Err(SubscriptionDenial::NoSubscription),
        Some(sub) if sub.is_live(now) => Ok(()),
        Some(sub) => Err(SubscriptionDenial::Inactive(sub.clone())),
    }
}

/// `require_verified_email_after_grace` as a rule: Err carries when grace ended.
pub fn check_email_verified(path: &str, user: &User, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
    if EMAIL_VERIFICATION_ALLOWLIST.contains(&path) || user.email_verified_at.is_some() {
        return Ok(());
    }
    let grace_ends = user.verification_grace_ends_at();
    if now < grace_ends { Ok(()) } else { Err(grace_ends) }
}
