//! Routes land here with their issue, each behind `shared::http::guards::guarded`
//! (axum refuses a route layer on a router without routes, so it is added with them).

use axum::Router;
use shared::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
