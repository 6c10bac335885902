use axum::http::StatusCode;
use serde::Serialize;

use super::{ApiError, ApiResult, refusal};
use app::invites::{BulkOutcome, InviteView, InvitesError};

impl From<InvitesError> for ApiError {
    fn from(err: InvitesError) -> Self {
        use InvitesError::*;
        match err {
            EmailTaken => refusal(StatusCode::CONFLICT, "email_taken", &err),
            InvitePending => refusal(StatusCode::CONFLICT, "invite_pending", &err),
            AlreadyAccepted => refusal(StatusCode::BAD_REQUEST, "invite_already_accepted", &err),
            NotFound => ApiError::not_found(),
            Invalid(invalid) => invalid.into(),
            NotAllowed(denied) => denied.into(),
            LimitReached(reached) => reached.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}

/// A refused entry of a bulk invitation: the code and message its own request would get.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkFailure {
    pub email: String,
    pub error: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub created: Vec<InviteView>,
    pub failed: Vec<BulkFailure>,
}

impl BulkResult {
    /// Sorts the entries into created and failed; an unexpected error fails the whole request.
    pub fn of(outcomes: Vec<BulkOutcome>) -> ApiResult<BulkResult> {
        let mut result = BulkResult { created: Vec::new(), failed: Vec::new() };
        for BulkOutcome { email, result: outcome } in outcomes {
            match outcome.map_err(ApiError::from) {
                Ok(view) => result.created.push(view),
                Err(ApiError::Client { code, message, .. }) => result.failed.push(BulkFailure { email, error: code, message }),
                Err(err) => return Err(err),
            }
        }
        Ok(result)
    }
}
