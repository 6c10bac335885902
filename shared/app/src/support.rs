//! What support does for one account (`ops account ...`): a feature switched on or off
//! over the plan's default, a trial extended, a user deactivated. Each is a conditional
//! write of what was read, retried when something changed in between, and idempotent;
//! with `dry_run` it reads and answers what it would write, and writes nothing.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use crate::retry::until_settled;
use crate::state::AppState;
use domain::account::SubscriptionStatus;

/// Deactivates a user: every request with their tokens is then 403 `user_inactive` (the
/// guards read the user record on every request). True when this call did it (or, in
/// a dry run, would).
pub async fn deactivate_user(state: &AppState, user_id: &str, dry_run: bool) -> anyhow::Result<bool> {
    let user = state.store.user(user_id).await?.ok_or_else(|| anyhow::anyhow!("no user {user_id}"))?;
    if dry_run {
        return Ok(user.deactivated_at.is_none());
    }
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
    dry_run: bool,
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
            if after == before || dry_run {
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
    dry_run: bool,
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
                _ if dry_run => Ok(Some((before, wanted))),
                _ => Ok(state
                    .store
                    .set_period_end(account_id, SubscriptionStatus::Trialing, before, wanted)
                    .await?
                    .then_some((before, wanted))),
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

/// One difference between the catalogue and Stripe for a plan's price.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PriceDrift {
    pub plan: String,
    pub lookup_key: String,
    /// `price_id`, `amount`, `currency`, `interval`, or `missing` (no active price at
    /// Stripe has the lookup key).
    pub field: &'static str,
    pub catalogue: Option<String>,
    pub stripe: Option<String>,
}

/// The Stripe lookup key of a plan's price: `<plan>_monthly` or `<plan>_annual`.
pub fn lookup_key(plan: &str, interval: domain::billing::BillingInterval) -> String {
    match interval {
        domain::billing::BillingInterval::Monthly => format!("{plan}_monthly"),
        domain::billing::BillingInterval::Annual => format!("{plan}_annual"),
    }
}

/// The currency every catalogue price is in.
const CATALOGUE_CURRENCY: &str = "usd";

/// Compares each priced plan of the catalogue with Stripe's active price of its lookup
/// key; with `apply`, writes Stripe's price id into each plan whose id differs (the
/// amounts, currency and interval are reported: they are fixed at Stripe or in the
/// seed, not here). Returns every difference found before writing, and the plans written.
pub async fn sync_prices(state: &AppState, apply: bool) -> anyhow::Result<(Vec<PriceDrift>, Vec<String>)> {
    use domain::billing::BillingInterval::{Annual, Monthly};
    let plans = state.store.plans().await?;
    let wanted: Vec<(usize, domain::billing::BillingInterval, i64)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, p)| [(i, Monthly, p.monthly_price_cents), (i, Annual, p.annual_price_cents)])
        .filter_map(|(i, interval, cents)| Some((i, interval, cents?)))
        .collect();
    let keys: Vec<String> = wanted.iter().map(|(i, interval, _)| lookup_key(&plans[*i].plan, *interval)).collect();
    let prices = state.payments.prices_by_lookup_key(&keys).await?;
    let mut drifts = Vec::new();
    let mut updated = plans.clone();
    for ((i, interval, cents), key) in wanted.iter().zip(&keys) {
        let plan = &plans[*i];
        let drift = |field, catalogue: Option<String>, stripe: Option<String>| PriceDrift {
            plan: plan.plan.clone(),
            lookup_key: key.clone(),
            field,
            catalogue,
            stripe,
        };
        let Some(price) = prices.iter().find(|p| &p.lookup_key == key) else {
            drifts.push(drift("missing", plan.price_id(*interval).map(str::to_owned), None));
            continue;
        };
        if plan.price_id(*interval) != Some(price.id.as_str()) {
            drifts.push(drift("price_id", plan.price_id(*interval).map(str::to_owned), Some(price.id.clone())));
            let target = &mut updated[*i];
            match interval {
                Monthly => target.stripe_monthly_price_id = Some(price.id.clone()),
                Annual => target.stripe_annual_price_id = Some(price.id.clone()),
            }
        }
        if price.unit_amount != Some(*cents) {
            drifts.push(drift("amount", Some(cents.to_string()), price.unit_amount.map(|a| a.to_string())));
        }
        if price.currency != CATALOGUE_CURRENCY {
            drifts.push(drift("currency", Some(CATALOGUE_CURRENCY.into()), Some(price.currency.clone())));
        }
        let expected_interval = if *interval == Monthly { "month" } else { "year" };
        if price.interval.as_deref() != Some(expected_interval) {
            drifts.push(drift("interval", Some(expected_interval.into()), price.interval.clone()));
        }
    }
    let mut written = Vec::new();
    if apply {
        for (before, after) in plans.iter().zip(&updated) {
            if before != after {
                state.store.put_plan(after).await?;
                written.push(after.plan.clone());
            }
        }
    }
    Ok((drifts, written))
}
