//! `require_active_subscription` and `require_verified_email_after_grace`, mounted on
//! every product router. One BatchGetItem per request (the user, who becomes the
//! request's `AuthUser`, and the subscription); they never write.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::Utc;
use serde_json::Value;

use crate::error::ApiError;
use crate::http::extract::{AuthUser, bearer_claims};
use app::state::AppState;
use domain::access::{self, RESEND_VERIFICATION_URL, SubscriptionDenial, UPGRADE_URL};

/// Puts both guards in front of every route of `router` (not its fallback, so an
/// unknown path is still a 404).
pub fn guarded(router: Router<AppState>, state: AppState) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state(state, product_access))
}

async fn product_access(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let claims = bearer_claims(&parts, &state)?;
    let (user, subscription) = state.store.user_and_subscription(&claims.sub, &claims.acc).await?;
    let caller = AuthUser::admit(&claims, user, parts.uri.path())?;
    let now = Utc::now();
    access::check_subscription(subscription.as_ref(), now).map_err(subscription_error)?;
    access::check_email_verified(caller.user(), now).map_err(|grace_ended_at| {
        ApiError::forbidden("email_not_verified", "verify your email address to continue")
            .with("grace_ended_at", grace_ended_at.to_rfc3339())
            .with("resend_url", RESEND_VERIFICATION_URL)
    })?;
    parts.extensions.insert(caller);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

fn subscription_error(denial: SubscriptionDenial) -> ApiError {
    match denial {
        SubscriptionDenial::NoSubscription => {
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "no_subscription", "this account has no subscription")
                .with("upgrade_url", UPGRADE_URL)
        }
        SubscriptionDenial::Inactive(sub) => {
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "subscription_inactive", "this account's subscription is not active")
                .with("status", serde_json::to_value(sub.status).unwrap_or(Value::Null))
                .with("plan", sub.plan)
                .with("current_period_end", sub.current_period_end.map(|t| Value::String(t.to_rfc3339())).unwrap_or(Value::Null))
                .with("upgrade_url", UPGRADE_URL)
        }
    }
}
