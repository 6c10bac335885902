//! Re-reading Stripe for what the webhook missed. Stripe retries a failed webhook
//! delivery for three days; past that (an endpoint down or misconfigured), a paid
//! Checkout session would never be fulfilled. The reconciliation lists the completed
//! sessions of a recent window and puts each through the webhook's own idempotent path
//! (`webhook::completed_session`), so a session already applied changes nothing.
//! Run daily by the `reconcile` function and on demand by `ops reconcile-stripe`.

use chrono::{DateTime, Utc};

use crate::state::AppState;

/// Outcomes that mean this run changed something.
const FIXES: [&str; 4] = ["order_fulfilled", "order_refunded", "duplicate_payment_refunded", "subscription_updated"];

#[derive(Debug, Default)]
pub struct Reconciled {
    /// Completed sessions read from Stripe.
    pub sessions: usize,
    /// What this run changed: (session id, outcome).
    pub fixed: Vec<(String, &'static str)>,
    /// Sessions whose handling failed (logged); the next run tries them again.
    pub failed: Vec<String>,
}

/// Applies every completed Checkout session created since `since`.
pub async fn stripe(state: &AppState, since: DateTime<Utc>) -> anyhow::Result<Reconciled> {
    let sessions = state.payments.completed_sessions(since.timestamp()).await?;
    let mut report = Reconciled { sessions: sessions.len(), ..Reconciled::default() };
    for session in &sessions {
        // The session's own time and id stand in for an event's: a subscription that has
        // seen a newer event keeps it.
        let event_id = format!("reconcile-{}", session.id);
        // Boxed: the delivery of every product is inside, too deep a future to inline.
        match Box::pin(crate::webhook::completed_session(state, &event_id, session.created, session)).await {
            Ok(outcome) if FIXES.contains(&outcome) => {
                tracing::warn!(session_id = %session.id, outcome, "reconciliation applied a missed Checkout session");
                report.fixed.push((session.id.clone(), outcome));
            }
            Ok(_) => {}
            Err(err) => {
                tracing::error!(session_id = %session.id, error = format!("{err:#}"), "reconciling a Checkout session failed");
                report.failed.push(session.id.clone());
            }
        }
    }
    Ok(report)
}
