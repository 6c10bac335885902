//! Local hosting: every function's router merged on one port (same paths as API
//! Gateway), plus the operator commands' shared set-up code.

use app::AppState;
use axum::Router;
use web::http::route_group;

/// All route groups in one router, wrapped in the same plumbing each Lambda uses.
pub fn app(state: AppState) -> Router {
    web::http::serve(
        Router::new()
            .merge(route_group("auth", auth::router(state.clone())))
            .merge(route_group("oauth", oauth::router(state.clone())))
            .merge(route_group("billing", billing::router(state.clone())))
            .merge(route_group("stripe-webhook", stripe_webhook::router(state.clone())))
            .merge(route_group("petitions", petitions::router(state.clone())))
            .merge(route_group("tasks", tasks::router(state.clone())))
            .merge(route_group("wills", wills::router(state))),
    )
}

/// The whole API's OpenAPI document: every function's documented routes merged
/// (`ops openapi` writes it to `docs/openapi.json`, which `auth` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    web::http::openapi::document([
        auth::routes(),
        oauth::routes(),
        billing::routes(),
        stripe_webhook::routes(),
        wills::routes(),
        petitions::routes(),
        tasks::routes(),
    ])
}

pub mod audit;
pub mod demo;
pub mod docs;
pub mod events;
pub mod ops;
pub mod queue_ops;
pub mod seed;
pub mod setup;
pub mod worker;
