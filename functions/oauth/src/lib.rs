//! Function `oauth`: Google and Microsoft sign-in. Routing only; the flow lives in
//! `shared::oauth`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::http::extract::{ApiJson, ApiQuery};
use shared::oauth::{self, AuthorizationUrl, CallbackInput, OAuthTokens};
use shared::{ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/auth/{provider}/authorize", get(authorize))
        .route("/v1/auth/{provider}/callback", post(callback))
        .with_state(state)
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    redirect_uri: Option<String>,
}

/// Round trips: one conditional put (the pending authorization); the provider's
/// discovery document is fetched once per warm instance.
async fn authorize(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ApiQuery(query): ApiQuery<AuthorizeQuery>,
) -> ApiResult<Json<AuthorizationUrl>> {
    Ok(Json(oauth::authorize(&state, &provider, query.redirect_uri.as_deref()).await?))
}

/// Round trips: take the state (1), identity lookup (1), then either the user (1), or
/// email lookup (2) and one transaction; plus the refresh-token put. Provider calls:
/// token endpoint and JWKS.
async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<Json<OAuthTokens>> {
    Ok(Json(oauth::callback(&state, &provider, input).await?))
}
