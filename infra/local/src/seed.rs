//! The petition catalogue seed (`infra/seed/petitions.json`): parsed and validated
//! whole before anything is written.

use app::AppState;
use domain::petition::Catalogue;

pub const PETITIONS_SEED: &str = include_str!("../../seed/petitions.json");

pub fn parse_petition_catalogue(json: &str) -> anyhow::Result<Catalogue> {
    let catalogue: Catalogue = serde_json::from_str(json)?;
    catalogue.validate().map_err(|problem| anyhow::anyhow!("invalid petition catalogue: {problem}"))?;
    Ok(catalogue)
}

/// Loads a petition catalogue; returns how many items were written.
pub async fn load_petition_catalogue(state: &AppState, json: &str) -> anyhow::Result<usize> {
    state.store.put_catalogue(&parse_petition_catalogue(json)?).await
}
