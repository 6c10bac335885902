//! Function `billing`: plans, billing state, sales leads (and the Stripe checkout and
//! portal sessions). Routing only; rules live in `shared::billing`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use shared::billing::{self, BillingState, CheckoutInput, PlanView, RedirectUrl, SalesLeadInput, SalesLeadReceipt};
use shared::http::extract::{ApiJson, AuthUser};
use shared::http::openapi::{ApiRoutes, ErrorBody};
use shared::{ApiResult, AppState};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .route(shared::route!(plans))
        .route(shared::route!(billing_state))
        .route(shared::route!(checkout_session))
        .route(shared::route!(portal_session))
        .route(shared::route!(sales_lead))
}

pub fn router(state: AppState) -> Router {
    routes().into_router().with_state(state)
}

/// Public. Round trips: one Query on the catalogue.
#[utoipa::path(get, path = "/v1/billing/plans", tag = "billing",
    responses((status = 200, body = Vec<PlanView>)))]
async fn plans(State(state): State<AppState>) -> ApiResult<Json<Vec<PlanView>>> {
    Ok(Json(billing::public_plans(&state).await?))
}

/// Round trips: BatchGetItem (account + subscription), GetItem (plan).
#[utoipa::path(get, path = "/v1/billing/state", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = BillingState), (status = "4XX", body = ErrorBody)))]
async fn billing_state(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<BillingState>> {
    Ok(Json(billing::billing_state(&state, caller.account_id()).await?))
}

/// Public. Round trips: one PutItem.
#[utoipa::path(post, path = "/v1/sales-leads", tag = "billing", request_body = SalesLeadInput,
    responses((status = 201, body = SalesLeadReceipt), (status = "4XX", body = ErrorBody)))]
async fn sales_lead(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SalesLeadInput>,
) -> ApiResult<(StatusCode, Json<SalesLeadReceipt>)> {
    Ok((StatusCode::CREATED, Json(billing::create_sales_lead(&state, input).await?)))
}

/// Owner only. Round trips: GetItem (plan), BatchGetItem (account + subscription),
/// and on the first checkout a user read and the conditional customer write; Stripe:
/// customer (first time) and session.
#[utoipa::path(post, path = "/v1/billing/checkout-session", tag = "billing", security(("bearer" = [])),
    request_body = CheckoutInput,
    responses((status = 200, body = RedirectUrl), (status = "4XX", body = ErrorBody)))]
async fn checkout_session(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<CheckoutInput>,
) -> ApiResult<Json<RedirectUrl>> {
    Ok(Json(billing::checkout_session(&state, &caller, input).await?))
}

/// Owner only. Round trips: GetItem (account); Stripe: portal session.
#[utoipa::path(post, path = "/v1/billing/portal-session", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = RedirectUrl), (status = "4XX", body = ErrorBody)))]
async fn portal_session(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<RedirectUrl>> {
    Ok(Json(billing::portal_session(&state, &caller).await?))
}
