use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::petitions::PetitionsError;

impl From<PetitionsError> for ApiError {
    fn from(err: PetitionsError) -> Self {
        use PetitionsError::*;
        match err {
            NotFound => ApiError::not_found(),
            AddonNotPurchasable { ref benefit_id } => {
                refusal(StatusCode::BAD_REQUEST, "addon_not_purchasable", &err).with("benefit_id", benefit_id.clone())
            }
            Invalid(invalid) => invalid.into(),
            Order(err) => err.into(),
            NotAllowed(denied) => denied.into(),
            LimitReached(reached) => reached.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
