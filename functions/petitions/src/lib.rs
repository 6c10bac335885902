//! Function `petitions`: the catalogue, petition checkout, petitions and add-ons.
//! Every route sits behind the product guards; the rules live in `app::petitions`.

use app::AppState;
use app::orders::CheckoutStarted;
use app::petitions::{self, PetitionCheckoutInput, PetitionDetail, PurchaseAddonsInput};
use axum::extract::{Path, State};
use axum::{Json, Router};
use domain::petition::{Benefit, Petition, PetitionPlan, Template};
use web::ApiResult;
use web::http::extract::{ApiJson, AuthUser};
use web::http::guards::{LiveSubscription, guarded};
use web::http::openapi::{ApiRoutes, ErrorBody};

/// Every route of this function: `router` serves them, the OpenAPI document lists them.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .route(web::route!(list_templates))
        .route(web::route!(list_template_plans))
        .route(web::route!(list_purchasable_addons))
        .route(web::route!(initiate_checkout))
        .route(web::route!(list_petitions))
        .route(web::route!(get_petition))
        .route(web::route!(list_available_purchase_addons))
        .route(web::route!(purchase_addons))
}

pub fn router(state: AppState) -> Router {
    guarded(routes().into_router(), state.clone()).with_state(state)
}

/// Round trips (every route): the guards' BatchGetItem first. Catalogue reads come
/// from the catalogue held in memory (`app::catalogue`): none, or one Query when not
/// held (here on GSI1).
#[utoipa::path(get, path = "/v1/petition-templates", tag = "petitions", security(("bearer" = [])),
    responses((status = 200, body = Vec<Template>), (status = "4XX", body = ErrorBody)))]
async fn list_templates(State(state): State<AppState>, _caller: AuthUser) -> ApiResult<Json<Vec<Template>>> {
    Ok(Json(petitions::templates(&state).await?))
}

/// Round trips: none (the catalogue held in memory), or one Query on the template's
/// collection.
#[utoipa::path(get, path = "/v1/petition-templates/{template_id}/plans", tag = "petitions", security(("bearer" = [])),
    params(("template_id" = String, Path)),
    responses((status = 200, body = Vec<PetitionPlan>), (status = "4XX", body = ErrorBody)))]
async fn list_template_plans(
    State(state): State<AppState>,
    _caller: AuthUser,
    Path(template_id): Path<String>,
) -> ApiResult<Json<Vec<PetitionPlan>>> {
    Ok(Json(petitions::plans(&state, &template_id).await?))
}

/// The template's add-ons minus the plan's included benefits. Round trips: as the plans.
#[utoipa::path(get, path = "/v1/petition-templates/{template_id}/plans/{plan_id}/purchasable-addons", tag = "petitions",
    security(("bearer" = [])), params(("template_id" = String, Path), ("plan_id" = String, Path)),
    responses((status = 200, body = Vec<Benefit>), (status = "4XX", body = ErrorBody)))]
async fn list_purchasable_addons(
    State(state): State<AppState>,
    _caller: AuthUser,
    Path((template_id, plan_id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Benefit>>> {
    Ok(Json(petitions::purchasable_addons(&state, &template_id, &plan_id).await?))
}

/// Total = plan + chosen add-ons, computed here; a zero total is fulfilled at once.
/// Round trips: one Query (this month's petitions, the plan's limit), then a paid
/// checkout as `orders::start_checkout` does; a free one stores its order (PutItem),
/// creates the petition (one transaction) and settles the order (UpdateItem). Plans
/// and task models from the catalogue held in memory.
#[utoipa::path(post, path = "/v1/petitions/initiate-checkout", tag = "petitions", security(("bearer" = [])),
    request_body = PetitionCheckoutInput,
    responses((status = 200, body = CheckoutStarted), (status = "4XX", body = ErrorBody)))]
async fn initiate_checkout(
    State(state): State<AppState>,
    caller: AuthUser,
    LiveSubscription(subscription): LiveSubscription,
    ApiJson(input): ApiJson<PetitionCheckoutInput>,
) -> ApiResult<Json<CheckoutStarted>> {
    Ok(Json(petitions::initiate_checkout(&state, caller.caller(), &subscription, input).await?))
}

/// The account's petitions, newest first. Round trips: one Query on GSI1.
#[utoipa::path(get, path = "/v1/petitions", tag = "petitions", security(("bearer" = [])),
    responses((status = 200, body = Vec<Petition>), (status = "4XX", body = ErrorBody)))]
async fn list_petitions(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<Petition>>> {
    Ok(Json(petitions::list(&state, caller.caller()).await?))
}

/// With its benefits and tasks. Round trips: one Query on the petition's collection.
#[utoipa::path(get, path = "/v1/petitions/{id}", tag = "petitions", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PetitionDetail), (status = "4XX", body = ErrorBody)))]
async fn get_petition(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<Json<PetitionDetail>> {
    Ok(Json(petitions::get(&state, caller.caller(), &id).await?))
}

/// The template's add-ons minus the benefits the petition holds. Round trips: one
/// Query (the petition's collection), its template from the catalogue held in memory.
#[utoipa::path(get, path = "/v1/petitions/{id}/available-purchase-addons", tag = "petitions", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Benefit>), (status = "4XX", body = ErrorBody)))]
async fn list_available_purchase_addons(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Benefit>>> {
    Ok(Json(petitions::available_purchase_addons(&state, caller.caller(), &id).await?))
}

/// Add-ons for an existing petition; free ones are applied at once.
#[utoipa::path(post, path = "/v1/petitions/{id}/purchase-addons", tag = "petitions", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PurchaseAddonsInput,
    responses((status = 200, body = CheckoutStarted), (status = "4XX", body = ErrorBody)))]
async fn purchase_addons(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PurchaseAddonsInput>,
) -> ApiResult<Json<CheckoutStarted>> {
    Ok(Json(petitions::purchase_addons(&state, caller.caller(), &id, input).await?))
}
