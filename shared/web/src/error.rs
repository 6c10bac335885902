//! The one error type every route returns, rendered as SPEC's error body:
//! `{"error": "<stable_code>", "message": "<human text>", ...extra fields}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use adapters::unavailable::Dependency;

mod billing;
mod identity;
mod invites;
mod orders;
mod petitions;
mod sign_in;
mod tasks;
mod webhook;
mod wills;

pub use invites::{BulkFailure, BulkResult};

pub const NO_ROUTE: &str = "no route matches this path";

/// The `Retry-After` of a 503: long enough for DynamoDB to lift a throttle or Stripe to
/// recover from a blip, short enough that a person retrying does not notice.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error with a stable code, a message and optional extra body fields.
    #[error("{code}: {message}")]
    Client { status: StatusCode, code: &'static str, message: String, extra: Map<String, Value>, retry_after_secs: Option<u64> },
    /// Anything unexpected: logged with its whole cause chain, answered with an opaque 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client { status, code, message: message.into(), extra: Map::new(), retry_after_secs: None }
    }

    /// Adds one field to the body next to `error` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let ApiError::Client { extra, .. } = &mut self {
            extra.insert(key.to_owned(), value.into());
        }
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        if let ApiError::Client { retry_after_secs, .. } = &mut self {
            *retry_after_secs = Some(secs);
        }
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// The fallback's 404: no route matches the method and path (told apart from a
    /// route's own 404 by its message, which the OpenAPI completeness test relies on).
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", NO_ROUTE)
    }

    /// The path exists but not with this method (axum adds the `Allow` header).
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take this method")
    }

    /// 503 `service_unavailable`: a dependency failed after its client's own retries;
    /// the same request may well succeed in a moment (SPEC section 4).
    pub fn unavailable(dependency: Dependency) -> Self {
        tracing::warn!(dependency = dependency.as_str(), "dependency unavailable; answered 503");
        app::metrics::dependency_unavailable(dependency);
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "a service we depend on is unavailable; try again shortly")
            .retry_after(RETRY_AFTER_UNAVAILABLE_SECS)
    }

    /// 422 with the offending fields: `{"fields": {"email": "..."}}`.
    pub fn validation(fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let fields: Map<String, Value> = fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "request validation failed").with("fields", Value::Object(fields))
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation([(field.to_owned(), message.into())])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client { status, code, message, extra, retry_after_secs } => {
                let mut body = Map::new();
                body.insert("error".into(), json!(code));
                body.insert("message".into(), json!(message));
                body.extend(extra);
                let mut response = (status, axum::Json(Value::Object(body))).into_response();
                if let Some(secs) = retry_after_secs {
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
            ApiError::Internal(error) => {
                if let Some(dependency) = adapters::unavailable::dependency_of(&error) {
                    tracing::warn!(error = format!("{error:#}"), "request failed on an unavailable dependency");
                    return ApiError::unavailable(dependency).into_response();
                }
                tracing::error!(error = format!("{error:#}"), "unexpected error");
                let body = json!({"error": "internal_error", "message": "something went wrong on our side"});
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A use case's refusal as a client error: its status and stable code, with the
/// error's own text as the message.
fn refusal(status: StatusCode, code: &'static str, err: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(status, code, err.to_string())
}

impl From<domain::Invalid> for ApiError {
    fn from(invalid: domain::Invalid) -> Self {
        Self::validation(invalid.0)
    }
}

impl From<adapters::payments::PaymentsError> for ApiError {
    fn from(err: adapters::payments::PaymentsError) -> Self {
        match err {
            adapters::payments::PaymentsError::NotConfigured => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "stripe_not_configured", "payments are not configured")
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<domain::account::NotAllowed> for ApiError {
    fn from(denied: domain::account::NotAllowed) -> Self {
        use domain::account::Permission::{ManageAccount, ManageBilling};
        let error = match denied.permission {
            ManageAccount | ManageBilling => Self::forbidden("owner_required", "only the account owner can do this"),
            _ => Self::forbidden("role_not_allowed", "your role in this account does not allow this"),
        };
        error.with("role", serde_json::to_value(denied.role).unwrap_or(Value::Null))
    }
}

impl From<domain::billing::LimitReached> for ApiError {
    fn from(reached: domain::billing::LimitReached) -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, "plan_limit_reached", format!("the plan allows {} ({})", reached.max, reached.limit))
            .with("limit", reached.limit)
            .with("max", reached.max)
            .with("upgrade_url", domain::access::UPGRADE_URL)
    }
}
