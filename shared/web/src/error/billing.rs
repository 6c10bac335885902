use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::billing::BillingError;

impl From<BillingError> for ApiError {
    fn from(err: BillingError) -> Self {
        use BillingError::*;
        match err {
            AccountNotFound => ApiError::not_found(),
            NoSubscription => refusal(StatusCode::NOT_FOUND, "no_subscription", &err),
            UnknownPlan(_) => refusal(StatusCode::BAD_REQUEST, "unknown_plan", &err),
            NoPriceForInterval { .. } => refusal(StatusCode::BAD_REQUEST, "no_price_for_interval", &err),
            SubscriptionExists => refusal(StatusCode::CONFLICT, "subscription_exists", &err),
            NoBillingAccount => refusal(StatusCode::BAD_REQUEST, "no_billing_account", &err),
            Invalid(invalid) => invalid.into(),
            Payments(err) => err.into(),
            NotAllowed(denied) => denied.into(),
            LimitReached(reached) => reached.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
