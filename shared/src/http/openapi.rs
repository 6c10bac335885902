//! The OpenAPI 3 document. Each function declares its routes through utoipa-axum's
//! `OpenApiRouter`, so a route is documented where it is mounted and the two cannot
//! drift; `infra/local` merges every function's part into `docs/openapi.json`, which
//! the `auth` function serves at `GET /v1/openapi.json`.

use axum::Router;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// A function's documented routes.
pub type ApiRouter = OpenApiRouter<AppState>;

/// The name handlers use in `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(title = "Serverless SaaS API", version = "1.0.0", description = "Identity, billing, petitions and wills over one account model."),
    components(schemas(ErrorBody, StatusBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// An empty set of routes carrying the document's common parts.
pub fn routes() -> ApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}

/// The axum router a function serves from its documented routes.
pub fn into_router(routes: ApiRouter) -> Router<AppState> {
    routes.split_for_parts().0
}

/// Merges every function's part into one document.
pub fn document(parts: impl IntoIterator<Item = ApiRouter>) -> utoipa::openapi::OpenApi {
    parts.into_iter().fold(ApiDoc::openapi(), |mut doc, part| {
        doc.merge(part.into_openapi());
        doc
    })
}

/// Every 4xx body (SPEC error body); some codes add fields next to these two.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `validation_failed`.
    pub error: String,
    pub message: String,
}

/// `{"status": "..."}` acknowledgements.
#[derive(Serialize, ToSchema)]
pub struct StatusBody {
    pub status: String,
}

impl StatusBody {
    pub fn new(status: &str) -> Self {
        StatusBody { status: status.to_owned() }
    }
}
