//! What support does for one account (`ops account ...`): a feature switched on or off
//! over the plan's default, a trial extended. Each is a conditional write of what was
//! read, retried when something changed in between, and idempotent.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use crate::retry::until_settled;
use crate::state::AppState;
use domain::account::SubscriptionStatus;

/// Deactivates a user: every request with their tokens is then 403 `user_inactive` (the
/// guards read the user record on every request). True when this call did it.
pub async fn deactivate_user(state: &AppState, user_id: &str) -> anyhow::Result<bool> {
    state.store.user(user_id).await?.ok_or_else(|| anyhow::anyhow!("no user {user_id}"))?;
    state.store.deactivate_user(user_id, Utc::now()).await
}

/// The longest extension one command grants (a typo of 3650 should not give ten years).
pub const MAX_TRIAL_EXTENSION_DAYS: i64 = 90;

/// A feature flag's name: what the catalogue's flags look like (`snake_case`, bounded).
fn valid_flag(flag: &str) -> bool {
    (1..=64).contains(&flag.len()) && flag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Sets (`Some`) or clears (`None`: back to the plan's default) one flag's override.
/// Returns the overrides before and after.
pub async fn set_feature(
    state: &AppState,
    account_id: &str,
    flag: &str,
    value: Option<bool>,
) -> anyhow::Result<(BTreeMap<String, bool>, BTreeMap<String, bool>)> {
    anyhow::ensure!(valid_flag(flag), "{flag:?} is not a feature flag name (lower-case letters, digits, _)");
    until_settled(
        || async {
            let account = state.store.account(account_id).await?.ok_or_else(|| anyhow::anyhow!("no account {account_id}"))?;
            let before = account.feature_overrides;
            let mut after = before.clone();
            match value {
                Some(on) => after.insert(flag.to_owned(), on),
                None => after.remove(flag),
            };
            if after == before {
                return Ok(Some((before, after)));
            }
            Ok(state.store.set_feature_overrides(account_id, &before, &after).await?.then_some((before, after)))
        },
        || anyhow::anyhow!("the account's overrides kept changing"),
    )
    .await
}

/// Extends a trial so that it runs `days` more days from now (a trial ending that late
/// already, give or take an hour, is left alone, so running the command twice changes
/// nothing more):
/// the guards then let the account in until the new end. Only a trial (not a paid or
/// complimentary subscription) can be extended. Returns the end before and after.
pub async fn extend_trial(
    state: &AppState,
    account_id: &str,
    days: i64,
) -> anyhow::Result<(Option<chrono::DateTime<Utc>>, chrono::DateTime<Utc>)> {
    anyhow::ensure!((1..=MAX_TRIAL_EXTENSION_DAYS).contains(&days), "extend by 1 to {MAX_TRIAL_EXTENSION_DAYS} days");
    until_settled(
        || async {
            let subscription =
                state.store.subscription(account_id).await?.ok_or_else(|| anyhow::anyhow!("no subscription for {account_id}"))?;
            anyhow::ensure!(
                subscription.status == SubscriptionStatus::Trialing && subscription.stripe_subscription_id.is_none(),
                "account {account_id} is not on a trial (status {})",
                subscription.status.as_str()
            );
            let before = subscription.current_period_end;
            let wanted = Utc::now() + Duration::days(days);
            match before {
                // Within the hour counts as run already: a second run changes nothing.
                Some(end) if end + Duration::hours(1) >= wanted => Ok(Some((before, end))),
                _ => Ok(state.store.set_trial_end(account_id, before, wanted).await?.then_some((before, wanted))),
            }
        },
        || anyhow::anyhow!("the subscription kept changing"),
    )
    .await
}

/// One account as support sees it (`ops account show`): the account, its members and
/// roles, the subscription with its Stripe ids, the plan's limits and the feature flags
/// resolved and overridden, and its last orders. `who` is an account id or a member's
/// email.
#[derive(Debug, serde::Serialize)]
pub struct AccountSummary {
    pub account: domain::account::Account,
    pub members: Vec<Member>,
    pub subscription: Option<domain::account::Subscription>,
    pub billing: Option<crate::billing::BillingState>,
    pub last_orders: Vec<crate::orders::OrderView>,
}

#[derive(Debug, serde::Serialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: domain::account::Role,
    pub deactivated_at: Option<chrono::DateTime<Utc>>,
}

pub async fn account_summary(state: &AppState, who: &str) -> anyhow::Result<AccountSummary> {
    let account_id = match domain::email::Email::parse(who) {
        Ok(email) => state.store.user_by_email(&email.normalized()).await?.ok_or_else(|| anyhow::anyhow!("no user {who}"))?.account_id,
        Err(_) => who.to_owned(),
    };
    let account = state.store.account(&account_id).await?.ok_or_else(|| anyhow::anyhow!("no account {account_id}"))?;
    let mut members = Vec::new();
    for user_id in state.store.member_ids(&account_id).await? {
        if let Some(user) = state.store.user(&user_id).await? {
            members.push(Member {
                user_id: user.id,
                email: user.email.as_str().to_owned(),
                role: user.role,
                deactivated_at: user.deactivated_at,
            });
        }
    }
    let subscription = state.store.subscription(&account_id).await?;
    let billing = crate::billing::billing_state(state, Some(account.clone()), subscription.clone()).await.ok();
    let last_orders = state.store.orders_of_account(&account_id, 10, None).await?.orders.into_iter().map(Into::into).collect();
    Ok(AccountSummary { account, members, subscription, billing, last_orders })
}
