//! Function `reconcile`: run daily by an EventBridge schedule, it applies the paid
//! Checkout sessions and subscription changes the Stripe webhook missed
//! (`app::reconcile`). Routing only.

use app::AppState;
use app::reconcile::WINDOW;
use chrono::Utc;
use serde_json::{Value, json};

/// One scheduled run; Err when a session or subscription could not be handled (the function's error
/// metric raises the template's alarm, and tomorrow's run tries it again).
pub async fn handle(state: &AppState) -> anyhow::Result<Value> {
    // Boxed: the whole webhook path is inside, too deep a future for the runtime's.
    let report = Box::pin(app::reconcile::stripe(state, Utc::now() - WINDOW, false)).await?;
    tracing::info!(sessions = report.sessions, fixed = report.fixed.len(), failed = report.failed.len(), "reconciliation done");
    anyhow::ensure!(
        report.failed.is_empty(),
        "{} Checkout sessions or subscriptions could not be reconciled: {:?}",
        report.failed.len(),
        report.failed
    );
    Ok(json!({"sessions": report.sessions, "fixed": report.fixed}))
}
