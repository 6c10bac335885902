//! Function `stripe-webhook` (a Lambda Function URL; locally `POST /webhooks/stripe`).
//! The signature is the gate: checked before anything in the body is trusted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use shared::webhook::{self, NoFaults, WebhookOutcome};
use shared::{ApiError, ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    Router::new().route("/webhooks/stripe", post(receive)).with_state(state)
}

/// Round trips: event record put (1), the effect (account by customer: 1 Query;
/// catalogue: 1 Query; subscription: 1 conditional update), processed mark (1).
async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Json<WebhookOutcome>> {
    let payload = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("invalid_payload", "body is not UTF-8"))?;
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    Ok(Json(webhook::receive(&state, payload, signature, &NoFaults).await?))
}
