//! Function `wills`: the will wizard. Every route sits behind the product guards.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::http::extract::AuthUser;
use shared::http::guards::guarded;
use shared::wills::{self, WillSummary};
use shared::{ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    let routes = Router::new().route("/v1/wills", get(list));
    guarded(routes, state.clone()).with_state(state)
}

/// Round trips: the guards' BatchGetItem, then one Query on the user's collection.
async fn list(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<WillSummary>>> {
    Ok(Json(wills::list(&state, caller.user_id()).await?))
}
