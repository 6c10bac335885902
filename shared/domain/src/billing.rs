//! The billing catalogue (per plan: prices, Stripe price ids, limits, feature-flag
//! defaults) and the entitlement rules read from a subscription.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::{Subscription, SubscriptionStatus};

/// Plans that carry Pro entitlement.
const PRO_PLANS: &[&str] = &["pro", "team"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan: String,
    pub display_name: String,
    pub description: Option<String>,
    pub monthly_price_cents: Option<i64>,
    pub annual_price_cents: Option<i64>,
    pub stripe_product_id: Option<String>,
    pub stripe_monthly_price_id: Option<String>,
    pub stripe_annual_price_id: Option<String>,
    pub is_public: bool,
    pub is_archived: bool,
    pub sort_order: i32,
    /// Plan limits: name → value (null = unlimited).
    pub limits: BTreeMap<String, Option<i64>>,
    /// Feature-flag defaults for the plan.
    pub features: BTreeMap<String, bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Monthly,
    Annual,
}

impl Plan {
    pub fn price_id(&self, interval: BillingInterval) -> Option<&str> {
        match interval {
            BillingInterval::Monthly => self.stripe_monthly_price_id.as_deref(),
            BillingInterval::Annual => self.stripe_annual_price_id.as_deref(),
        }
    }

    pub fn has_price(&self, price_id: &str) -> bool {
        [&self.stripe_monthly_price_id, &self.stripe_annual_price_id].iter().any(|p| p.as_deref() == Some(price_id))
    }
}

/// Public, non-archived plans in sort order.
pub fn public_plans(mut plans: Vec<Plan>) -> Vec<Plan> {
    plans.retain(|p| p.is_public && !p.is_archived);
    plans.sort_by_key(|p| p.sort_order);
    plans
}

/// Plan defaults overridden by the account's overrides.
pub fn resolve_features(defaults: &BTreeMap<String, bool>, overrides: &BTreeMap<String, bool>) -> BTreeMap<String, bool> {
    let mut resolved = defaults.clone();
    resolved.extend(overrides.iter().map(|(k, v)| (k.clone(), *v)));
    resolved
}

/// The plan limits the product enforces, by their names in the billing catalogue.
pub const MAX_SEATS: &str = "max_seats";
pub const MAX_PETITIONS_PER_MONTH: &str = "max_petitions_per_month";
pub const MAX_WILLS: &str = "max_wills";

/// Creating one more of something would pass its plan limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the plan allows {max} ({limit})")]
pub struct LimitReached {
    pub limit: &'static str,
    pub max: i64,
}

impl Plan {
    /// The plan's maximum for `limit`; None is unlimited (missing or null).
    pub fn limit(&self, limit: &str) -> Option<i64> {
        self.limits.get(limit).copied().flatten()
    }

    /// Whether `used` plus `adding` stays within the plan's `limit` (a missing or null
    /// limit is unlimited).
    pub fn allows(&self, limit: &'static str, used: i64, adding: i64) -> Result<(), LimitReached> {
        match self.limit(limit) {
            Some(max) if used + adding > max => Err(LimitReached { limit, max }),
            _ => Ok(()),
        }
    }
}

impl Subscription {
    /// Can the account use Pro features right now?
    pub fn has_pro_entitlement(&self, now: DateTime<Utc>) -> bool {
        PRO_PLANS.contains(&self.plan.as_str())
            && match self.status {
                SubscriptionStatus::Active => true,
                SubscriptionStatus::Complimentary | SubscriptionStatus::Trialing => self.is_live(now),
                _ => false,
            }
    }

    /// Paying customer: a paid plan that is active or past due (still owed). A trial,
    /// a complimentary pilot, a canceled or incomplete subscription is not, so that
    /// paid-customer metrics are not inflated (seed 002).
    pub fn is_paid(&self) -> bool {
        PRO_PLANS.contains(&self.plan.as_str()) && matches!(self.status, SubscriptionStatus::Active | SubscriptionStatus::PastDue)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn entitlement_and_paid() {
        let now = Utc::now();
        let mut sub = Subscription::trial("a", now);
        assert!(sub.has_pro_entitlement(now) && !sub.is_paid(), "a trial is not paid");
        for (status, paid) in [
            (SubscriptionStatus::Active, true),
            (SubscriptionStatus::PastDue, true),
            (SubscriptionStatus::Canceled, false),
            (SubscriptionStatus::Incomplete, false),
        ] {
            assert_eq!(Subscription { status, ..sub.clone() }.is_paid(), paid, "{status:?}");
        }
        sub.current_period_end = Some(now - Duration::hours(1));
        assert!(!sub.has_pro_entitlement(now));
        sub.status = SubscriptionStatus::Complimentary;
        assert!(!sub.has_pro_entitlement(now), "a grant that ended");
        sub.current_period_end = None;
        assert!(sub.has_pro_entitlement(now) && !sub.is_paid());
        sub.plan = "starter".into();
        assert!(!sub.has_pro_entitlement(now) && !sub.is_paid());
    }

    #[test]
    fn overrides_beat_defaults() {
        let defaults = BTreeMap::from([("a".to_owned(), true), ("b".to_owned(), false)]);
        let overrides = BTreeMap::from([("b".to_owned(), true), ("c".to_owned(), false)]);
        let resolved = resolve_features(&defaults, &overrides);
        assert_eq!(resolved, BTreeMap::from([("a".into(), true), ("b".into(), true), ("c".into(), false)]));
    }

    #[test]
    fn limits_count_what_exists_and_what_is_added() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "plan": "pro", "display_name": "Pro", "sort_order": 1, "is_public": true, "is_archived": false,
            "limits": {"max_seats": 10, "max_wills": null}, "features": {}
        }))
        .unwrap();
        assert_eq!(plan.allows(MAX_SEATS, 9, 1), Ok(()));
        assert_eq!(plan.allows(MAX_SEATS, 9, 2), Err(LimitReached { limit: MAX_SEATS, max: 10 }));
        assert_eq!(plan.allows(MAX_SEATS, 0, 500), Err(LimitReached { limit: MAX_SEATS, max: 10 }));
        assert_eq!(plan.allows(MAX_WILLS, 1_000, 1), Ok(()), "null is unlimited");
        assert_eq!(plan.allows(MAX_PETITIONS_PER_MONTH, 1_000, 1), Ok(()), "missing is unlimited");
    }
}
