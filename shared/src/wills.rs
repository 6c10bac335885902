//! Wills: the wizard's documents, owned by one user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WillSummary {
    pub id: String,
    pub status: String,
    pub version: u32,
    pub current_section: String,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The caller's wills, newest first.
pub async fn list(state: &AppState, user_id: &str) -> ApiResult<Vec<WillSummary>> {
    let mut wills: Vec<WillSummary> = state.store.wills_of_user(user_id).await?;
    wills.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(wills)
}
