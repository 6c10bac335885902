//! Product routes land here with their issue. The access guards are mounted already.

use axum::Router;
use shared::AppState;
use shared::http::guards::guarded;

pub fn router(state: AppState) -> Router {
    guarded(Router::new(), state.clone()).with_state(state)
}
