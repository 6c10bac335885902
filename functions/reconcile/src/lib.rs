//! Function `reconcile`: run daily by an EventBridge schedule, it applies the paid
//! Checkout sessions the Stripe webhook missed (`app::reconcile`). Routing only.

use app::AppState;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// The window re-read each run: Stripe's three days of webhook retries and a day more,
/// so a daily run overlaps the previous one (re-applying is a no-op).
pub const WINDOW: Duration = Duration::days(4);

/// One scheduled run; Err when a session could not be handled (the function's error
/// metric raises the template's alarm, and tomorrow's run tries it again).
pub async fn handle(state: &AppState) -> anyhow::Result<Value> {
    let report = app::reconcile::stripe(state, Utc::now() - WINDOW).await?;
    tracing::info!(sessions = report.sessions, fixed = report.fixed.len(), failed = report.failed.len(), "reconciliation done");
    anyhow::ensure!(report.failed.is_empty(), "{} Checkout sessions could not be reconciled: {:?}", report.failed.len(), report.failed);
    Ok(json!({"sessions": report.sessions, "fixed": report.fixed}))
}
