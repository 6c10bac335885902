//! Function `tasks`: a petition's tasks — read, fill in, submit, upgrade. Every route
//! sits behind the product guards; the rules live in `app::tasks`.

use app::AppState;
use app::tasks::{self, TaskDetail, UpgradeInput, UpgradeOffer, UpgradeStarted};
use axum::extract::{Path, State};
use axum::{Json, Router};
use domain::petition::Task;
use serde_json::{Map, Value};
use web::ApiResult;
use web::http::extract::{ApiJson, AuthUser};
use web::http::guards::guarded;
use web::http::openapi::{ApiRoutes, ErrorBody};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .route(web::route!(list_petition_tasks))
        .route(web::route!(get_task))
        .route(web::route!(patch_task_data))
        .route(web::route!(submit_task))
        .route(web::route!(list_available_upgrades))
        .route(web::route!(start_upgrade))
}

pub fn router(state: AppState) -> Router {
    guarded(routes().into_router(), state.clone()).with_state(state)
}

/// Round trips (every route): the guards' BatchGetItem first. Then one Query on the
/// petition's collection.
#[utoipa::path(get, path = "/v1/petitions/{id}/tasks", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Task>), (status = "4XX", body = ErrorBody)))]
async fn list_petition_tasks(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<Vec<Task>>> {
    Ok(Json(tasks::list(&state, caller.caller(), &id).await?))
}

/// With its data rows. Round trips: one Query.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TaskDetail), (status = "4XX", body = ErrorBody)))]
async fn get_task(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(tasks::get(&state, caller.caller(), &id).await?))
}

/// `{key: value, ...}` for the model's input keys. Round trips: one Query, one
/// transaction.
#[utoipa::path(patch, path = "/v1/tasks/{id}/data", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Object, description = "1 to 50 of the model's input keys, each with any JSON value of at most 16 KiB, 16 levels deep, strings of 10,000 characters and numbers up to 1e125 in magnitude"),
    responses((status = 200, body = TaskDetail), (status = "4XX", body = ErrorBody)))]
async fn patch_task_data(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
    ApiJson(values): ApiJson<Map<String, Value>>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(tasks::patch_data(&state, caller.caller(), &id, values).await?))
}

/// Round trips: one Query, one conditional put, then one Query and an update per task
/// it unlocks.
#[utoipa::path(post, path = "/v1/tasks/{id}/submit", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TaskDetail), (status = "4XX", body = ErrorBody)))]
async fn submit_task(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(tasks::submit(&state, caller.caller(), &id).await?))
}

#[utoipa::path(get, path = "/v1/tasks/{id}/available-upgrades", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<UpgradeOffer>), (status = "4XX", body = ErrorBody)))]
async fn list_available_upgrades(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<UpgradeOffer>>> {
    Ok(Json(tasks::available_upgrades(&state, caller.caller(), &id).await?))
}

/// Opens payment of the cost difference; applied when the payment is reported.
#[utoipa::path(post, path = "/v1/tasks/{id}/upgrade", tag = "tasks", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpgradeInput,
    responses((status = 200, body = UpgradeStarted), (status = "4XX", body = ErrorBody)))]
async fn start_upgrade(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UpgradeInput>,
) -> ApiResult<Json<UpgradeStarted>> {
    Ok(Json(tasks::start_upgrade(&state, caller.caller(), &id, input).await?))
}
