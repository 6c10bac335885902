//! Function `petitions`. Every route sits behind the product guards.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::http::extract::AuthUser;
use shared::http::guards::guarded;
use shared::petitions::{self, PetitionSummary};
use shared::{ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    let routes = Router::new().route("/v1/petitions", get(list));
    guarded(routes, state.clone()).with_state(state)
}

/// Round trips: the guards' BatchGetItem, then one Query on the account's petitions.
async fn list(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<PetitionSummary>>> {
    Ok(Json(petitions::list(&state, caller.account_id()).await?))
}
