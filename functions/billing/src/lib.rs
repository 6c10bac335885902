//! Function `billing`: plans, billing state, sales leads, the Stripe checkout and
//! portal sessions, and the account's orders. Routing only; rules live in
//! `app::billing` and `app::orders`.

use app::AppState;
use app::billing::{self, BillingState, PlanView, RedirectUrl, SalesLeadInput, SalesLeadReceipt, SubscriptionCheckoutInput};
use app::orders::{self, OrderList, OrderView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use web::ApiResult;
use web::http::extract::{ApiJson, ApiQuery, AuthUser, CallerAccount, CallerOrder};
use web::http::openapi::{ApiRoutes, ErrorBody};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .route(web::route!(plans))
        .route(web::route!(billing_state))
        .route(web::route!(checkout_session))
        .route(web::route!(portal_session))
        .route(web::route!(sales_lead))
        .route(web::route!(list_orders))
        .route(web::route!(get_order))
}

pub fn router(state: AppState) -> Router {
    routes().into_router().with_state(state)
}

/// Public. Round trips: none while the catalogue is held in memory, else one Query.
#[utoipa::path(get, path = "/v1/billing/plans", tag = "billing",
    responses((status = 200, body = Vec<PlanView>)))]
async fn plans(State(state): State<AppState>) -> ApiResult<Json<Vec<PlanView>>> {
    Ok(Json(billing::public_plans(&state).await?))
}

/// Round trips: one BatchGetItem (the caller's user, account and subscription); the
/// plan from the catalogue held in memory (one Query when not held).
#[utoipa::path(get, path = "/v1/billing/state", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = BillingState), (status = "4XX", body = ErrorBody)))]
async fn billing_state(State(state): State<AppState>, read: CallerAccount) -> ApiResult<Json<BillingState>> {
    Ok(Json(billing::billing_state(&state, read.account, read.subscription).await?))
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

/// Owner only. One open subscription Checkout per account: the same plan, seats and
/// interval again return the open session's URL; another first expires it at Stripe.
/// 409 `subscription_exists` while a paid subscription runs (or the open session was
/// just paid). Round trips: one BatchGetItem (the caller's user, account and
/// subscription), the plan from the catalogue held in memory (one Query when not
/// held), on the first checkout the conditional customer write, and one conditional
/// update recording the session (none when it is reused); Stripe: customer (first
/// time), expire (when replacing) and session.
#[utoipa::path(post, path = "/v1/billing/checkout-session", tag = "billing", security(("bearer" = [])),
    request_body = SubscriptionCheckoutInput,
    responses((status = 200, body = RedirectUrl), (status = "4XX", body = ErrorBody)))]
async fn checkout_session(
    State(state): State<AppState>,
    read: CallerAccount,
    ApiJson(input): ApiJson<SubscriptionCheckoutInput>,
) -> ApiResult<Json<RedirectUrl>> {
    let records = (read.account, read.subscription);
    Ok(Json(billing::checkout_session(&state, read.caller.caller(), records, input).await?))
}

/// Owner only. Round trips: one BatchGetItem (the caller's user, account and
/// subscription); Stripe: portal session.
#[utoipa::path(post, path = "/v1/billing/portal-session", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = RedirectUrl), (status = "4XX", body = ErrorBody)))]
async fn portal_session(State(state): State<AppState>, read: CallerAccount) -> ApiResult<Json<RedirectUrl>> {
    Ok(Json(billing::portal_session(&state, read.caller.caller(), read.account).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OrderListQuery {
    /// Orders per page, 1 to 100 (default 20).
    limit: Option<i32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The account's orders, newest first. Round trips: one Query on GSI1.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", security(("bearer" = [])), params(OrderListQuery),
    responses((status = 200, body = OrderList), (status = "4XX", body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<OrderListQuery>,
) -> ApiResult<Json<OrderList>> {
    Ok(Json(orders::list(&state, caller.caller(), query.limit, query.cursor.as_deref()).await?))
}

/// One of the account's orders (another account's is a 404): what the front end polls
/// when Checkout returns to `/orders/{id}`. Round trips: one BatchGetItem (the
/// caller's user and the order).
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "The order id")),
    responses((status = 200, body = OrderView), (status = "4XX", body = ErrorBody)))]
async fn get_order(read: CallerOrder) -> ApiResult<Json<OrderView>> {
    Ok(Json(orders::get(read.caller.caller(), read.order)?))
}
