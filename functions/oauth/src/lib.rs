//! Function `oauth`: Google and Microsoft sign-in. Routing only; the flow lives in
//! `adapters::openid`.

use app::AppState;
use app::sign_in::{self, AuthorizationUrl, CallbackInput, OAuthTokens};
use axum::extract::{Path, State};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use web::ApiResult;
use web::http::extract::{ApiJson, ApiQuery};
use web::http::openapi::{ApiRoutes, ErrorBody};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new().route(web::route!(authorize)).route(web::route!(callback))
}

pub fn router(state: AppState) -> Router {
    routes().into_router().with_state(state)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuthorizeQuery {
    /// Where the provider sends the user back; must be on the allow-list.
    // Optional in the type only so that its absence is a 422 naming the field.
    #[param(required = true)]
    redirect_uri: Option<String>,
}

/// Round trips: one conditional put (the pending authorization); the provider's
/// discovery document is fetched once per warm instance.
#[utoipa::path(get, path = "/v1/auth/{provider}/authorize", tag = "oauth",
    params(("provider" = String, Path, description = "`google` or `microsoft`"), AuthorizeQuery),
    responses(
        (status = 200, description = "The provider's URL to send the user to", body = AuthorizationUrl),
        (status = "4XX", body = ErrorBody),
        (status = 502, description = "The provider is unreachable", body = ErrorBody),
        (status = 503, description = "This provider is not configured", body = ErrorBody)
    ))]
async fn authorize(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ApiQuery(query): ApiQuery<AuthorizeQuery>,
) -> ApiResult<Json<AuthorizationUrl>> {
    Ok(Json(sign_in::authorize(&state, &provider, query.redirect_uri.as_deref()).await?))
}

/// Round trips: take the state (1), identity lookup (1), then either the user (1), or
/// email lookup (2) and one transaction; plus the refresh-token put. Provider calls:
/// token endpoint and JWKS.
#[utoipa::path(post, path = "/v1/auth/{provider}/callback", tag = "oauth",
    params(("provider" = String, Path, description = "`google` or `microsoft`")), request_body = CallbackInput,
    responses(
        (status = 200, body = OAuthTokens),
        (status = "4XX", body = ErrorBody),
        (status = 502, description = "The provider is unreachable", body = ErrorBody),
        (status = 503, description = "This provider is not configured", body = ErrorBody)
    ))]
async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<Json<OAuthTokens>> {
    Ok(Json(sign_in::callback(&state, &provider, input).await?))
}
