use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::wills::WillsError;

impl From<WillsError> for ApiError {
    fn from(err: WillsError) -> Self {
        use WillsError::*;
        match err {
            NotFound => ApiError::not_found(),
            UnknownSection(_) => refusal(StatusCode::BAD_REQUEST, "unknown_section", &err),
            InvalidCurrentSection(_) => refusal(StatusCode::BAD_REQUEST, "invalid_section", &err),
            ChangedMeanwhile => refusal(StatusCode::CONFLICT, "will_changed", &err),
            SectionsIncomplete { ref missing_sections } => {
                refusal(StatusCode::BAD_REQUEST, "sections_incomplete", &err).with("missing_sections", missing_sections.clone())
            }
            AlreadyPaid => refusal(StatusCode::CONFLICT, "already_paid", &err),
            VerificationRequired => refusal(StatusCode::BAD_REQUEST, "verification_required", &err),
            PaymentRequired => refusal(StatusCode::PAYMENT_REQUIRED, "payment_required", &err),
            ReverificationRequired => refusal(StatusCode::BAD_REQUEST, "reverification_required", &err),
            DownloadExpired => refusal(StatusCode::GONE, "download_expired", &err),
            Invalid(invalid) => invalid.into(),
            Order(err) => err.into(),
            LimitReached(reached) => reached.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
