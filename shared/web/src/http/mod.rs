//! HTTP plumbing shared by every function: extractors, the product-route guards,
//! request ids, tracing, the JSON 404 and 405 fallbacks, and the SPEC error body on
//! every other error the framework answers by itself.

pub mod extract;
pub mod guards;
pub mod openapi;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ApiError;
use crate::telemetry;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a finished router (one function's, or all of them merged locally): a
/// correlation id on every request and response (`x-request-id`), one invocation span
/// per request with the Powertools keys (`telemetry`), the metrics flushed after each
/// request, and the SPEC error body for unknown paths, for a known path with another
/// method, and for any error axum answers itself (a path parameter that is not UTF-8,
/// a body over its limit, ...).
pub fn serve(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::map_response(error_body))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(axum::middleware::map_request(set_correlation_id))
        .layer(axum::middleware::map_response(|response: Response| async {
            telemetry::flush_metrics();
            response
        }))
}

/// One function's routes (`name`: its route group), with a line for each request
/// routed to them. The local server names the group in `function_name` (in Lambda it
/// is the function's own name already).
pub fn route_group(name: &'static str, router: Router) -> Router {
    router.layer(axum::middleware::map_request(move |request: Request<axum::body::Body>| async move {
        telemetry::record_local_function(name);
        tracing::info!(method = %request.method(), path = %request.uri().path(), "request");
        request
    }))
}

/// The request's correlation id, as `x-request-id`: API Gateway's request id (what its
/// access log writes), else a well-formed id the client sent, else a new one.
async fn set_correlation_id(mut request: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let gateway = match request.extensions().get::<lambda_http::request::RequestContext>() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    let client = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| is_well_formed_id(id)).map(str::to_owned);
    let id = gateway.or(client).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    request
}

/// A client's request id is kept when it could be one of ours or a gateway's: 8 to 64
/// letters, digits, `-` or `_` (nothing a log line could be forged with).
fn is_well_formed_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let correlation_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    match request.extensions().get::<lambda_http::Context>() {
        Some(context) => {
            let invocation = telemetry::Invocation {
                request_id: &context.request_id,
                function_arn: &context.invoked_function_arn,
                trace_header: context.xray_trace_id.as_deref(),
            };
            telemetry::invocation_span(&invocation, Some(correlation_id), None)
        }
        None => {
            // The local server: its own request id stands in for Lambda's.
            let arn = telemetry::local_function_arn("local-api");
            let invocation = telemetry::Invocation { request_id: correlation_id, function_arn: &arn, trace_header: None };
            telemetry::invocation_span(&invocation, Some(correlation_id), None)
        }
    }
}

/// Gives an error response that is not JSON (one axum wrote: plain text or empty) the
/// SPEC body, keeping its status and headers (`Allow`, `Retry-After`). The text of a
/// client error becomes the message; a server error's stays opaque.
async fn error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok()).unwrap_or_default();
    let message = match text.trim() {
        _ if status.is_server_error() => "something went wrong on our side".to_owned(),
        "" => status.canonical_reason().unwrap_or("request refused").to_lowercase(),
        text => text.chars().take(300).collect(),
    };
    let body = serde_json::json!({"error": error_code(status), "message": message}).to_string();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        s if s.is_server_error() => "internal_error",
        _ => "request_refused",
    }
}
