use axum::http::StatusCode;

use super::{ApiError, refusal};
use app::tasks::TasksError;

impl From<TasksError> for ApiError {
    fn from(err: TasksError) -> Self {
        use TasksError::*;
        match err {
            NotFound => ApiError::not_found(),
            NotEditable { status } => {
                refusal(StatusCode::CONFLICT, "task_not_editable", &err).with("status", serde_json::to_value(status).unwrap_or_default())
            }
            ChangedMeanwhile => refusal(StatusCode::CONFLICT, "task_changed", &err),
            InvalidUpgrade(_) => refusal(StatusCode::BAD_REQUEST, "invalid_upgrade", &err),
            Invalid(invalid) => invalid.into(),
            Order(err) => err.into(),
            NotAllowed(denied) => denied.into(),
            Internal(err) => ApiError::Internal(err),
        }
    }
}
