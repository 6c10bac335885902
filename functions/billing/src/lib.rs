//! Routes land here with their issue; the router is already served on Lambda and locally.

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
