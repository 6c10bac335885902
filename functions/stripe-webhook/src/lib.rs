//! Function `stripe-webhook` (a Lambda Function URL; locally `POST /webhooks/stripe`).
//! The signature is the gate: checked before anything in the body is trusted.

use app::AppState;
use app::webhook::{self, NoFaults, WebhookOutcome};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Json, Router};
use web::http::openapi::{ApiRoutes, ErrorBody};
use web::{ApiError, ApiResult};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new().route(web::route!(receive_stripe_event))
}

pub fn router(state: AppState) -> Router {
    routes().into_router().with_state(state)
}

/// Round trips: event record put (1), then for a subscription event the account by
/// customer (1 Query) and the conditional update with the processed mark (1
/// transaction); a payment's effect is its order's fulfilment, then the mark (1). The
/// plans from the catalogue held in memory.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "stripe",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the raw body")),
    request_body(content = Object, content_type = "application/json", description = "A Stripe event, byte for byte as Stripe signed it"),
    responses(
        (status = 200, body = WebhookOutcome),
        (status = "4XX", body = ErrorBody),
        (status = 503, description = "The webhook secret is not configured", body = ErrorBody),
    ))]
async fn receive_stripe_event(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Json<WebhookOutcome>> {
    let payload = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("invalid_payload", "body is not UTF-8"))?;
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    Ok(Json(webhook::receive(&state, payload, signature, &NoFaults).await?))
}
