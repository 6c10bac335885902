//! Petitions: owned by an account (tenancy: only that account sees them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PetitionSummary {
    pub id: String,
    pub template_id: String,
    pub plan_id: String,
    pub created_at: DateTime<Utc>,
}

/// The caller's account's petitions, newest first (one Query).
pub async fn list(state: &AppState, account_id: &str) -> ApiResult<Vec<PetitionSummary>> {
    let mut petitions: Vec<PetitionSummary> = state.store.petitions_of_account(account_id).await?;
    petitions.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(petitions)
}
