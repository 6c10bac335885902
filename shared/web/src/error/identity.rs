use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::identity::IdentityError;

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        use IdentityError::*;
        match err {
            InvalidCredentials => refusal(StatusCode::UNAUTHORIZED, "invalid_credentials", &err),
            InvalidToken => refusal(StatusCode::BAD_REQUEST, "invalid_or_expired_token", &err),
            UseOAuthProvider { ref providers } => {
                refusal(StatusCode::BAD_REQUEST, "use_oauth_provider", &err).with("providers", providers.clone())
            }
            InviteInvalid => refusal(StatusCode::BAD_REQUEST, "invite_invalid_or_expired", &err),
            InviteEmailMismatch => refusal(StatusCode::BAD_REQUEST, "invite_email_mismatch", &err),
            EmailTaken => refusal(StatusCode::CONFLICT, "email_taken", &err),
            TooManyLogins { retry_after_secs } => refusal(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", &err)
                .with("retry_after", retry_after_secs)
                .retry_after(retry_after_secs),
            TooManyMails { retry_after_secs } => {
                refusal(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", &err).retry_after(retry_after_secs)
            }
            RefreshRefused | UserGone => ApiError::unauthorized(err.to_string()),
            WrongCurrentPassword => refusal(StatusCode::BAD_REQUEST, "invalid_current_password", &err),
            AccountNotFound => ApiError::not_found(),
            Invalid(invalid) => invalid.into(),
            NotAllowed(denied) => denied.into(),
            LimitReached(reached) => reached.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
