//! `require_active_subscription` and `require_verified_email_after_grace`, mounted on
//! every product router. One BatchGetItem per request: the user (who becomes the
//! request's `AuthUser`), the subscription (the request's `LiveSubscription`) and,
//! on the routes of a router that reads one, the resource the path names (`PathWill`);
//! they never write.

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use crate::error::ApiError;
use crate::http::extract::authenticate;
use adapters::store::caller::Along;
use app::state::AppState;
use domain::access::{self, RESEND_VERIFICATION_URL, SubscriptionDenial, UPGRADE_URL};
use domain::account::Subscription;
use domain::will::Will;

/// What a guarded router's routes read with the guards' user and subscription, named
/// by the path's `{id}` (routes without one read nothing more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathResource {
    Nothing,
    /// The caller's will `{id}`.
    Will,
}

/// Puts both guards in front of every route of `router` (not its fallback, so an
/// unknown path is still a 404).
pub fn guarded(router: Router<AppState>, state: AppState) -> Router<AppState> {
    guarded_reading(router, state, PathResource::Nothing)
}

/// `guarded`, the guards also reading the resource each route's path names.
pub fn guarded_reading(router: Router<AppState>, state: AppState, resource: PathResource) -> Router<AppState> {
    router.route_layer(middleware::from_fn_with_state((state, resource), product_access))
}

async fn product_access(
    State((state, resource)): State<(AppState, PathResource)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let path_id = match resource {
        PathResource::Nothing => None,
        // A path that does not decode is axum's own 400 (given the SPEC body by `http`).
        PathResource::Will => match RawPathParams::from_request_parts(&mut parts, &()).await {
            Ok(params) => params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()),
            Err(rejection) => return Ok(rejection.into_response()),
        },
    };
    let along = Along { subscription: true, will: path_id.as_deref(), ..Along::default() };
    let (caller, records) = authenticate(&mut parts, &state, along).await?;
    let now = Utc::now();
    access::check_subscription(records.subscription.as_ref(), now).map_err(subscription_error)?;
    access::check_email_verified(caller.user(), now).map_err(|grace_ended_at| {
        ApiError::forbidden("email_not_verified", "verify your email address to continue")
            .with("grace_ended_at", grace_ended_at.to_rfc3339())
            .with("resend_url", RESEND_VERIFICATION_URL)
    })?;
    // Some: `check_subscription` refuses a missing one.
    if let Some(subscription) = records.subscription {
        parts.extensions.insert(LiveSubscription(subscription));
    }
    if path_id.is_some() {
        parts.extensions.insert(PathWill(records.will));
    }
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// The caller's subscription as the guards read it (live: they let the request in).
#[derive(Clone, Debug)]
pub struct LiveSubscription(pub Subscription);

/// The caller's will the path's `{id}` names, as the guards read it with the caller
/// (None: the caller has no such will).
#[derive(Clone, Debug)]
pub struct PathWill(pub Option<Will>);

/// Takes what the guards put on the request; a route that is not behind them (or not
/// on a router reading it) is a bug of ours.
fn guards_extension<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, ApiError> {
    parts
        .extensions
        .get::<T>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{} is read by the product guards only", std::any::type_name::<T>())))
}

impl<S: Send + Sync> FromRequestParts<S> for LiveSubscription {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        guards_extension(parts)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathWill {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        guards_extension(parts)
    }
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
