//! Extractors that turn bad input into SPEC error bodies instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use adapters::security::jwt::Claims;
use adapters::store::caller::{Along, CallerRecords};
use app::state::AppState;
use axum::response::IntoResponse;
use domain::access::{self, UserDenial};
use domain::account::{Account, Caller, Subscription, User};
use domain::order::Order;

/// Largest request body accepted (JSON or form).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body. Malformed JSON → 400 `invalid_json`; well-formed JSON of the wrong
/// shape or types → 422 `validation_failed` naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        if !has_content_type(req.headers(), "application/json") {
            return Err(unsupported_media_type());
        }
        let bytes = body_bytes(req).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A body that is JSON or a URL-encoded form (OAuth2-style password login).
pub struct JsonOrForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_form = has_content_type(req.headers(), "application/x-www-form-urlencoded");
        if !is_form && !has_content_type(req.headers(), "application/json") {
            return Err(unsupported_media_type());
        }
        let bytes = body_bytes(req).await?;
        if is_form {
            serde_urlencoded::from_bytes(&bytes).map(JsonOrForm).map_err(|e| ApiError::validation([("body".to_owned(), e.to_string())]))
        } else {
            parse_json(&bytes).map(JsonOrForm)
        }
    }
}

fn has_content_type(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json")
}

async fn body_bytes(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "request body is too large"))
}

/// Parses JSON, naming the offending field on a type error.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let inner = err.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request("invalid_json", format!("request body is not valid JSON: {inner}"));
        }
        let path = err.path().to_string();
        let field = if path == "." { missing_field(&inner.to_string()).unwrap_or_else(|| "body".to_owned()) } else { path };
        ApiError::validation([(field, strip_position(&inner.to_string()))])
    })
}

/// serde names a missing field only in its message: "missing field `email` at ...".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_owned)
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

/// The caller: a valid access JWT in `Authorization: Bearer ...` whose user still
/// exists in the token's account and is active. Account and role come from the user
/// record, so a changed role or a removed user takes effect at once. One GetItem
/// (`CallerAccount` and the product guards read the user with what their routes need,
/// in one BatchGetItem, and hand it over).
#[derive(Clone, Debug)]
pub struct AuthUser {
    caller: Caller,
    /// The session (refresh-token family) the access token was issued in.
    session: Option<String>,
    /// The user record as this request read it (use cases need not read it again).
    user: Box<User>,
}

impl AuthUser {
    /// Who calls, as the use cases take it.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    /// Admits the token's user: 401 unless it exists in the token's account and the
    /// token's session is still open (a password change or reset ends the others), 403
    /// `user_inactive` or `password_change_required` (`access::check_active`).
    pub fn admit(claims: &Claims, user: Option<User>, path: &str) -> Result<AuthUser, ApiError> {
        let user = user.filter(|u| u.account_id == claims.acc).ok_or_else(|| ApiError::unauthorized("user no longer exists"))?;
        // Tokens from before sessions carried their start count from their issue time.
        let started_ms = claims.sst.unwrap_or(claims.iat.saturating_mul(1000));
        if !user.session_is_open(claims.fam.as_deref(), started_ms) {
            return Err(ApiError::unauthorized("this session has ended; sign in again"));
        }
        access::check_active(&user, path).map_err(|denial| match denial {
            UserDenial::Inactive => ApiError::forbidden("user_inactive", "this user has been deactivated"),
            UserDenial::PasswordChangeRequired => ApiError::forbidden("password_change_required", "change your password to continue")
                .with("allowed_paths", serde_json::json!(access::PASSWORD_CHANGE_ALLOWLIST)),
        })?;
        crate::telemetry::record_caller(&user.account_id, &user.id);
        Ok(AuthUser { caller: user.caller(), session: claims.fam.clone(), user: Box::new(user) })
    }
}

/// The verified claims of the bearer token; 401 without a valid one.
pub fn bearer_claims(parts: &Parts, state: &AppState) -> Result<Claims, ApiError> {
    let token = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    state.jwt.verify(token.trim()).map_err(|_| ApiError::unauthorized("invalid or expired token"))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        Ok(authenticate(parts, state, Along::default()).await?.0)
    }
}

/// Admits the bearer token's user, read with what `along` names (one round trip),
/// and makes them the request's `AuthUser`.
pub(crate) async fn authenticate(parts: &mut Parts, state: &AppState, along: Along<'_>) -> Result<(AuthUser, CallerRecords), ApiError> {
    let claims = bearer_claims(parts, state)?;
    let mut records = state.store.caller_records(&claims.sub, &claims.acc, along).await?;
    let caller = AuthUser::admit(&claims, records.user.take(), parts.uri.path())?;
    parts.extensions.insert(caller.clone());
    Ok((caller, records))
}

/// The caller with their account and its subscription, read with the user record in
/// one BatchGetItem (the account's own pages: me, the account, the billing state).
pub struct CallerAccount {
    pub caller: AuthUser,
    pub account: Option<Account>,
    pub subscription: Option<Subscription>,
}

impl FromRequestParts<AppState> for CallerAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (caller, records) = authenticate(parts, state, Along { account: true, subscription: true, ..Along::default() }).await?;
        Ok(CallerAccount { caller, account: records.account, subscription: records.subscription })
    }
}

/// The caller with the order the path's `{id}` names, read with the user record in
/// one BatchGetItem (None: no such order; the use case checks it is the caller's
/// account's).
pub struct CallerOrder {
    pub caller: AuthUser,
    pub order: Option<Order>,
}

impl FromRequestParts<AppState> for CallerOrder {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A path that does not decode is axum's own 400 (given the SPEC body by `http`).
        let params = axum::extract::RawPathParams::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let id = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned());
        let along = Along { order: id.as_deref(), ..Along::default() };
        let (caller, records) = authenticate(parts, state, along).await.map_err(IntoResponse::into_response)?;
        Ok(CallerOrder { caller, order: records.order })
    }
}

/// The client address as API Gateway reports it: the last `X-Forwarded-For` entry
/// (the one the gateway appended; earlier entries are the client's to forge).
/// `None` when no proxy set the header (a direct local call).
pub struct SourceAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let last = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .map(str::to_owned);
        Ok(SourceAddress(last))
    }
}

/// Query parameters; a malformed query string is a 422 naming the problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(ApiQuery)
            .map_err(|e| ApiError::validation([("query".to_owned(), e.to_string())]))
    }
}
