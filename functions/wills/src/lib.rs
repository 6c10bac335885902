//! Function `wills`: the will wizard, payment, regeneration and download. Every route
//! but the download sits behind the product guards; the download's signed token is
//! its own credential (links open in a browser without a bearer token).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use shared::http::extract::{ApiJson, ApiQuery, AuthUser};
use shared::http::guards::guarded;
use shared::orders::CheckoutStarted;
use shared::wills::{self, CurrentSectionInput, Regenerated, WillSummary, WillView};
use shared::{ApiError, ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    let wizard = Router::new()
        .route("/v1/wills", get(list).post(create))
        .route("/v1/wills/{id}", get(read))
        .route("/v1/wills/{id}/sections/{section}", put(put_section))
        .route("/v1/wills/{id}/current-section", patch(current_section))
        .route("/v1/wills/{id}/verify", post(verify))
        .route("/v1/wills/{id}/checkout", post(checkout))
        .route("/v1/wills/{id}/regenerate", post(regenerate));
    guarded(wizard, state.clone())
        .route("/v1/wills/{id}/download", get(download))
        .with_state(state)
}

/// Round trips (each route): the guards' BatchGetItem, then as noted.
/// One Query on the user's collection.
async fn list(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<WillSummary>>> {
    Ok(Json(wills::list(&state, caller.user_id()).await?))
}

/// One conditional PutItem.
async fn create(State(state): State<AppState>, caller: AuthUser) -> ApiResult<(StatusCode, Json<WillView>)> {
    Ok((StatusCode::CREATED, Json(wills::create(&state, caller.user_id()).await?)))
}

/// One GetItem.
async fn read(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::get(&state, caller.user_id(), &id).await?))
}

/// GetItem + conditional PutItem (optimistic: 409 if the will changed meanwhile).
async fn put_section(
    State(state): State<AppState>,
    caller: AuthUser,
    Path((id, section)): Path<(String, String)>,
    ApiJson(content): ApiJson<Value>,
) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::put_section(&state, caller.user_id(), &id, &section, content).await?))
}

/// GetItem + conditional PutItem.
async fn current_section(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CurrentSectionInput>,
) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::set_current_section(&state, caller.user_id(), &id, input).await?))
}

/// GetItem + conditional PutItem.
async fn verify(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::verify(&state, caller.user_id(), &id).await?))
}

/// GetItem (will), GetItem (user), PutItem (order); Stripe: one Checkout session.
async fn checkout(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<CheckoutStarted>> {
    Ok(Json(wills::checkout(&state, caller.user_id(), caller.account_id(), &id).await?))
}

/// GetItem + one conditional UpdateItem (version + 1 from the version read).
async fn regenerate(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<Regenerated>> {
    Ok(Json(wills::regenerate(&state, caller.user_id(), &id).await?))
}

#[derive(Deserialize)]
struct DownloadQuery {
    token: Option<String>,
}

/// No guard (the token is the credential). One GetItem.
async fn download(State(state): State<AppState>, Path(id): Path<String>, ApiQuery(query): ApiQuery<DownloadQuery>) -> ApiResult<Response> {
    let token = query.token.ok_or_else(|| ApiError::invalid_field("token", "is required"))?;
    let pdf = wills::download(&state, &token, &id).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"will-{id}.pdf\""))
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(pdf))
        .map_err(|e| ApiError::Internal(e.into()))
}
