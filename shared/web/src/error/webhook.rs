use axum::http::StatusCode;

use super::{ApiError, refusal};
use adapters::payments::events::DeliveryRefused;
use app::webhook::DeliveryError;

impl From<DeliveryError> for ApiError {
    fn from(err: DeliveryError) -> Self {
        use DeliveryError::*;
        match err {
            Refused(DeliveryRefused::BadSignature(_)) => refusal(StatusCode::BAD_REQUEST, "invalid_signature", &err),
            Refused(DeliveryRefused::BadPayload(_)) => refusal(StatusCode::BAD_REQUEST, "invalid_payload", &err),
            Payments(err) => err.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
