use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::sign_in::SignInError;

impl From<SignInError> for ApiError {
    fn from(err: SignInError) -> Self {
        use SignInError::*;
        match err {
            UnknownProvider => ApiError::not_found(),
            ProviderNotConfigured(_) => refusal(StatusCode::SERVICE_UNAVAILABLE, "provider_not_configured", &err),
            ProviderUnavailable => ApiError::unavailable(adapters::unavailable::Dependency::Openid),
            CodeRefused => refusal(StatusCode::BAD_REQUEST, "oauth_code_invalid", &err),
            InvalidIdToken => refusal(StatusCode::BAD_REQUEST, "invalid_id_token", &err),
            InvalidState => refusal(StatusCode::BAD_REQUEST, "invalid_state", &err),
            RedirectNotAllowed => refusal(StatusCode::BAD_REQUEST, "redirect_uri_not_allowed", &err),
            EmailMissing => refusal(StatusCode::BAD_REQUEST, "oauth_email_missing", &err),
            EmailUnverified => refusal(StatusCode::CONFLICT, "oauth_email_unverified", &err),
            Invalid(invalid) => invalid.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
