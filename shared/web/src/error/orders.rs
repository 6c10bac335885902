use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::orders::OrdersError;

impl From<OrdersError> for ApiError {
    fn from(err: OrdersError) -> Self {
        use OrdersError::*;
        match err {
            CheckoutInProgress => refusal(StatusCode::CONFLICT, "checkout_in_progress", &err),
            NotFound => ApiError::not_found(),
            Invalid(invalid) => invalid.into(),
            Payments(err) => err.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
