//! Re-reading Stripe for what the webhook missed. Stripe retries a failed webhook
//! delivery for three days; past that (an endpoint down or misconfigured), a paid
//! Checkout session would never be fulfilled and a subscription change never seen.
//! The reconciliation lists the completed sessions of a recent window and puts each
//! through the webhook's own idempotent path (`webhook::completed_session`), then
//! compares every subscription an account follows with Stripe's current record and
//! applies the difference; whatever is already applied changes nothing. Run daily by
//! the `reconcile` function and on demand by `ops reconcile-stripe`.

use chrono::{DateTime, Duration, Utc};

use adapters::payments::{CheckoutSessionDetails, SubscriptionDetails};
use domain::account::SubscriptionStatus;
use domain::order::OrderStatus;

use crate::state::AppState;
use adapters::store::stripe::ChangeOutcome;

/// The window a scheduled run re-reads: Stripe's three days of webhook retries and a
/// day more, so a daily run overlaps the previous one (re-applying is a no-op).
pub const WINDOW: Duration = Duration::days(4);

/// Outcomes that mean this run changed something.

#[derive(Debug, Default)]
pub struct Reconciled {
    /// Completed sessions read from Stripe.
    pub sessions: usize,
    /// What this run changed: (session or subscription id, outcome).
    pub fixed: Vec<(String, &'static str)>,
    /// Sessions or subscriptions whose handling failed (logged); the next run tries
    /// them again.
    pub failed: Vec<String>,
}

/// Applies every completed Checkout session created since `since`, then brings every
/// followed subscription in line with Stripe. A dry run reads the same and reports
/// what it would fix (`would_*` outcomes), writing nothing.
pub async fn stripe(state: &AppState, since: DateTime<Utc>, dry_run: bool) -> anyhow::Result<Reconciled> {
    let sessions = state.payments.completed_sessions(since.timestamp()).await?;
    let mut report = Reconciled { sessions: sessions.len(), ..Reconciled::default() };
    for session in &sessions {
        // The session's own time and id stand in for an event's: a subscription that has
        // seen a newer event keeps it.
        let event_id = format!("reconcile-{}", session.id);
        let handled = if dry_run {
            session_would_change(state, session).await
        } else {
            // Boxed: the delivery of every product is inside, too deep a future to inline.
            Box::pin(crate::webhook::completed_session(state, &event_id, session.created, session)).await
        };
        match handled {
            Ok(outcome) if crate::webhook::CHANGES.contains(&outcome) || outcome.starts_with("would_") => {
                tracing::warn!(session_id = %session.id, outcome, "reconciliation found a missed Checkout session");
                report.fixed.push((session.id.clone(), outcome));
            }
            Ok(_) => {}
            Err(err) => {
                tracing::error!(session_id = %session.id, error = format!("{err:#}"), "reconciling a Checkout session failed");
                report.failed.push(session.id.clone());
            }
        }
    }
    for subscription in state.payments.subscriptions().await? {
        match Box::pin(subscription_in_line(state, &subscription, dry_run)).await {
            Ok(Some(outcome)) => {
                tracing::warn!(subscription_id = %subscription.id, outcome, "reconciliation found a missed subscription change");
                report.fixed.push((subscription.id.clone(), outcome));
            }
            Ok(None) => {}
            Err(err) => {
                tracing::error!(subscription_id = %subscription.id, error = format!("{err:#}"), "reconciling a subscription failed");
                report.failed.push(subscription.id.clone());
            }
        }
    }
    Ok(report)
}

/// What `webhook::completed_session` would change for a session, read only: a paid
/// order still pending is settled; an account that does not follow the session's
/// subscription yet, and may take it, follows it.
async fn session_would_change(state: &AppState, session: &CheckoutSessionDetails) -> anyhow::Result<&'static str> {
    match session.mode.as_str() {
        "payment" => {
            let Some(order_id) = &session.order_id else { return Ok("ignored_no_order") };
            let pending = state.store.order(order_id).await?.is_some_and(|o| o.status == OrderStatus::Pending);
            Ok(if pending && crate::fulfilment::payment_of(session).is_some() { "would_settle_order" } else { "settled" })
        }
        "subscription" => {
            let (Some(customer), Some(subscription_id)) = (&session.customer, &session.subscription) else { return Ok("ignored") };
            let Some(account_id) = state.store.account_id_by_stripe_customer(customer).await? else { return Ok("unknown_customer") };
            let local = state.store.subscription(&account_id).await?;
            let follows = local.as_ref().is_some_and(|s| s.stripe_subscription_id.as_deref() == Some(subscription_id.as_str()));
            let may_take = local.as_ref().is_none_or(|s| s.follows_stripe_subscription(subscription_id, true));
            Ok(if !follows && may_take { "would_follow_subscription" } else { "followed" })
        }
        _ => Ok("ignored_checkout_mode"),
    }
}

/// Applies Stripe's current record of a subscription to the account that follows it,
/// when they differ; ends a second one that bills beside it. A subscription no account
/// follows yet is left to its checkout session. The outcome when something changed.
async fn subscription_in_line(state: &AppState, stripe: &SubscriptionDetails, dry_run: bool) -> anyhow::Result<Option<&'static str>> {
    let Some(account_id) = state.store.account_id_by_stripe_customer(&stripe.customer).await? else { return Ok(None) };
    let Some(local) = state.store.subscription(&account_id).await? else { return Ok(None) };
    if local.is_duplicated_by(&stripe.id, crate::webhook::status_from_stripe(&stripe.status)) {
        if dry_run {
            return Ok(Some("would_end_duplicate_subscription"));
        }
        return crate::fulfilment::end_duplicate_subscription(state, &account_id, &stripe.id).await.map(Some);
    }
    // Pilot accounts are complimentary by an operator's decision, not Stripe's.
    if local.status == SubscriptionStatus::Complimentary || !local.follows_stripe_subscription(&stripe.id, false) {
        return Ok(None);
    }
    let mut change = crate::webhook::change_from(state, stripe).await?;
    if !change.would_change(&local) {
        return Ok(None);
    }
    if dry_run {
        return Ok(Some("would_update_subscription"));
    }
    // Stripe's record as of now: newer than any event already applied.
    change.only_subscription = Some(stripe.id.clone());
    let now = Utc::now();
    let event = format!("reconcile-{}", now.timestamp_micros());
    let outcome = state.store.apply_subscription_change(&account_id, &change, (now.timestamp(), &event), None).await?;
    Ok(matches!(outcome, ChangeOutcome::Applied).then_some("subscription_updated"))
}
