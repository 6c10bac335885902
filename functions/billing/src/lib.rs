//! Function `billing`: plans, billing state, sales leads (and the Stripe checkout and
//! portal sessions). Routing only; rules live in `shared::billing`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use shared::billing::{self, BillingState, CheckoutInput, PlanView, RedirectUrl, SalesLeadInput};
use shared::http::extract::{ApiJson, AuthUser};
use shared::{ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/billing/plans", get(plans))
        .route("/v1/billing/state", get(billing_state))
        .route("/v1/billing/checkout-session", post(checkout_session))
        .route("/v1/billing/portal-session", post(portal_session))
        .route("/v1/sales-leads", post(sales_lead))
        .with_state(state)
}

/// Public. Round trips: one Query on the catalogue.
async fn plans(State(state): State<AppState>) -> ApiResult<Json<Vec<PlanView>>> {
    Ok(Json(billing::public_plans(&state).await?))
}

/// Round trips: BatchGetItem (account + subscription), GetItem (plan).
async fn billing_state(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<BillingState>> {
    Ok(Json(billing::billing_state(&state, caller.account_id()).await?))
}

/// Public. Round trips: one PutItem.
async fn sales_lead(State(state): State<AppState>, ApiJson(input): ApiJson<SalesLeadInput>) -> ApiResult<(StatusCode, Json<Value>)> {
    let lead = billing::create_sales_lead(&state, input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": lead.id, "status": lead.status}))))
}

/// Owner only. Round trips: GetItem (plan), BatchGetItem (account + subscription),
/// and on the first checkout a user read and the conditional customer write; Stripe:
/// customer (first time) and session.
async fn checkout_session(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<CheckoutInput>,
) -> ApiResult<Json<RedirectUrl>> {
    Ok(Json(billing::checkout_session(&state, &caller, input).await?))
}

/// Owner only. Round trips: GetItem (account); Stripe: portal session.
async fn portal_session(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<RedirectUrl>> {
    Ok(Json(billing::portal_session(&state, &caller).await?))
}
