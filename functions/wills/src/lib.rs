//! Function `wills`: the will wizard, payment, regeneration and download. Every route
//! but the download sits behind the product guards; the download's signed token is
//! its own credential (links open in a browser without a bearer token).

use app::AppState;
use app::orders::CheckoutStarted;
use app::wills::{self, CurrentSectionInput, Regenerated, WillSummary, WillView};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use web::http::extract::{ApiJson, ApiQuery, AuthUser};
use web::http::guards::{LiveSubscription, PathResource, PathWill, guarded_reading};
use web::http::openapi::{ApiRoutes, ErrorBody};
use web::{ApiError, ApiResult};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    wizard().merge(download_route())
}

pub fn router(state: AppState) -> Router {
    guarded_reading(wizard().into_router(), state.clone(), PathResource::Will).merge(download_route().into_router()).with_state(state)
}

/// The guarded routes.
fn wizard() -> ApiRoutes {
    ApiRoutes::new()
        .route(web::route!(list_wills, create_will))
        .route(web::route!(get_will))
        .route(web::route!(put_will_section))
        .route(web::route!(set_current_section))
        .route(web::route!(verify_will))
        .route(web::route!(checkout_will))
        .route(web::route!(regenerate_will))
}

fn download_route() -> ApiRoutes {
    ApiRoutes::new().route(web::route!(download_will))
}

/// Round trips (each route): the guards' BatchGetItem (the caller's user and
/// subscription, and the will `{id}` where the path names one), then as noted.
/// One Query on the user's collection.
#[utoipa::path(get, path = "/v1/wills", tag = "wills", security(("bearer" = [])),
    responses((status = 200, body = Vec<WillSummary>), (status = "4XX", body = ErrorBody)))]
async fn list_wills(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<WillSummary>>> {
    Ok(Json(wills::list(&state, caller.caller()).await?))
}

/// One transaction (the will and the account's will count).
#[utoipa::path(post, path = "/v1/wills", tag = "wills", security(("bearer" = [])),
    responses((status = 201, body = WillView), (status = "4XX", body = ErrorBody)))]
async fn create_will(
    State(state): State<AppState>,
    caller: AuthUser,
    LiveSubscription(subscription): LiveSubscription,
) -> ApiResult<(StatusCode, Json<WillView>)> {
    Ok((StatusCode::CREATED, Json(wills::create(&state, caller.caller(), &subscription).await?)))
}

/// Nothing more: the guards read the will.
#[utoipa::path(get, path = "/v1/wills/{id}", tag = "wills", security(("bearer" = [])),
    params(("id" = String, Path, description = "Will id")),
    responses((status = 200, body = WillView), (status = "4XX", body = ErrorBody)))]
async fn get_will(State(state): State<AppState>, PathWill(will): PathWill) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::get(&state, will)?))
}

/// One conditional PutItem (optimistic: 409 if the will changed meanwhile).
#[utoipa::path(put, path = "/v1/wills/{id}/sections/{section}", tag = "wills", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Will id"),
        ("section" = String, Path, description = "personal, family, executors, guardians, gifts, residuary or funeral"),
    ),
    request_body(content = app::wills::SectionBody, description = "The section's content: the shape of the section named in the path (other fields are kept, within the published bounds)"),
    responses((status = 200, body = WillView), (status = "4XX", body = ErrorBody)))]
async fn put_will_section(
    State(state): State<AppState>,
    PathWill(will): PathWill,
    Path((_, section)): Path<(String, String)>,
    ApiJson(content): ApiJson<Value>,
) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::put_section(&state, will, &section, content).await?))
}

/// One conditional PutItem.
#[utoipa::path(patch, path = "/v1/wills/{id}/current-section", tag = "wills", security(("bearer" = [])),
    params(("id" = String, Path, description = "Will id")),
    request_body = CurrentSectionInput,
    responses((status = 200, body = WillView), (status = "4XX", body = ErrorBody)))]
async fn set_current_section(
    State(state): State<AppState>,
    PathWill(will): PathWill,
    ApiJson(input): ApiJson<CurrentSectionInput>,
) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::set_current_section(&state, will, input).await?))
}

/// One conditional PutItem.
#[utoipa::path(post, path = "/v1/wills/{id}/verify", tag = "wills", security(("bearer" = [])),
    params(("id" = String, Path, description = "Will id")),
    responses((status = 200, body = WillView), (status = "4XX", body = ErrorBody)))]
async fn verify_will(State(state): State<AppState>, PathWill(will): PathWill) -> ApiResult<Json<WillView>> {
    Ok(Json(wills::verify(&state, will).await?))
}

/// The order's open purchase (GetItem), then one transaction (order + open purchase);
/// Stripe: one Checkout session.
#[utoipa::path(post, path = "/v1/wills/{id}/checkout", tag = "wills", security(("bearer" = [])),
    params(("id" = String, Path, description = "Will id")),
    responses(
        (status = 200, body = CheckoutStarted),
        (status = "4XX", body = ErrorBody),
        (status = 503, description = "Payments are not configured", body = ErrorBody),
    ))]
async fn checkout_will(State(state): State<AppState>, caller: AuthUser, PathWill(will): PathWill) -> ApiResult<Json<CheckoutStarted>> {
    Ok(Json(wills::checkout(&state, caller.caller(), will).await?))
}

/// One conditional UpdateItem (version + 1 from the version read).
#[utoipa::path(post, path = "/v1/wills/{id}/regenerate", tag = "wills", security(("bearer" = [])),
    params(("id" = String, Path, description = "Will id")),
    responses((status = 200, body = Regenerated), (status = "4XX", body = ErrorBody)))]
async fn regenerate_will(State(state): State<AppState>, PathWill(will): PathWill) -> ApiResult<Json<Regenerated>> {
    Ok(Json(wills::regenerate(&state, will).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DownloadQuery {
    /// The `download_token` of the will's current version.
    // An Option so that the error for a missing token names the `token` field.
    #[param(required = true)]
    token: Option<String>,
}

/// No guard (the token is the credential). One GetItem.
#[utoipa::path(get, path = "/v1/wills/{id}/download", tag = "wills",
    params(("id" = String, Path, description = "Will id"), DownloadQuery),
    responses(
        (status = 200, description = "The will document", content_type = "application/pdf", body = String),
        (status = "4XX", body = ErrorBody),
    ))]
async fn download_will(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> ApiResult<Response> {
    let token = query.token.ok_or_else(|| ApiError::invalid_field("token", "is required"))?;
    let pdf = wills::download(&state, &token, &id).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"will-{id}.pdf\""))
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(pdf))
        .map_err(|e| ApiError::Internal(e.into()))
}
