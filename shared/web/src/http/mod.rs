//! HTTP plumbing shared by every function: extractors, the product-route guards,
//! request ids, tracing, the JSON 404 and 405 fallbacks, and the SPEC error body on
//! every other error the framework answers by itself.

pub mod extract;
pub mod guards;
pub mod openapi;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a finished router (one function's, or all of them merged locally): a request
/// id on every request and response, one tracing span per request carrying it, and
/// the SPEC error body for unknown paths, for a known path with another method, and
/// for any error axum answers itself (a path parameter that is not UTF-8, a body over
/// its limit, ...).
pub fn serve(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::map_response(error_body))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", request_id, method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
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
