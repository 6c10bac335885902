//! The OpenAPI 3 document and the routes it describes. Each function lists its routes
//! once, as [`route!`](crate::route) groups of handlers annotated with
//! `#[utoipa::path]`: a function serves them ([`ApiRoutes::into_router`]) at the paths
//! and methods of those annotations, and `infra/local` documents them
//! ([`document`], through utoipa-axum) into `docs/openapi.json`, which the `auth`
//! function serves at `GET /v1/openapi.json`. Route and document cannot drift, and a
//! cold start never builds the document's entries (about 1 ms of schema objects).

use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::PathItemExt;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use app::state::AppState;

/// The name handlers use in `security(("bearer" = []))`.
const BEARER: &str = "bearer";

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

/// A function's routes.
#[derive(Default)]
pub struct ApiRoutes(Vec<Route>);

/// One [`route!`](crate::route) group: how to mount it and how to document it.
pub struct Route {
    pub mount: fn(Router<AppState>) -> Router<AppState>,
    pub document: fn() -> UtoipaMethodRouter<AppState>,
}

impl ApiRoutes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, route: Route) -> Self {
        self.0.push(route);
        self
    }

    pub fn merge(mut self, other: ApiRoutes) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The axum router a function serves.
    pub fn into_router(self) -> Router<AppState> {
        self.0.iter().fold(Router::new(), |router, route| (route.mount)(router))
    }

    fn documented(self) -> OpenApiRouter<AppState> {
        self.0.iter().fold(OpenApiRouter::new(), |router, route| router.routes((route.document)()))
    }
}

/// Mounts `handler` at the path and methods of its `#[utoipa::path]` (`P`, the struct
/// that attribute generates). Used by [`route!`](crate::route).
pub fn mount<P: utoipa::Path, H: Handler<T, AppState>, T: 'static>(router: Router<AppState>, handler: H) -> Router<AppState> {
    let methods = P::methods().iter().fold(MethodRouter::new(), |methods, method| methods.on(method.to_method_filter(), handler.clone()));
    router.route(&P::path(), methods)
}

/// Handlers annotated with `#[utoipa::path]` (several when they share a path) as one
/// [`Route`]: `ApiRoutes::new().route(route!(list_wills, create_will))`.
#[macro_export]
macro_rules! route {
    ($($handler:ident),+ $(,)?) => {
        $crate::http::openapi::Route {
            mount: |router| {
                $( let router = $crate::__paste! { $crate::http::openapi::mount::<[<__path_ $handler>], _, _>(router, $handler) }; )+
                router
            },
            document: || ::utoipa_axum::routes!($($handler),+),
        }
    };
}

/// Merges every function's routes into one document; every operation may answer 503
/// (a dependency unavailable: retry after `Retry-After` seconds).
pub fn document(parts: impl IntoIterator<Item = ApiRoutes>) -> utoipa::openapi::OpenApi {
    let mut doc = parts.into_iter().fold(ApiDoc::openapi(), |mut doc, part| {
        doc.merge(part.documented().into_openapi());
        doc
    });
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.insert("503".into(), unavailable_response().into());
        }
    }
    doc
}

fn unavailable_response() -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, header::HeaderBuilder, schema::Type};
    let retry_after = HeaderBuilder::new()
        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some("Seconds to wait before trying again"))
        .build();
    ResponseBuilder::new()
        .description(
            "`service_unavailable`: a service we depend on is unavailable; the same request may succeed after `Retry-After` seconds",
        )
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .header("Retry-After", retry_after)
        .build()
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
