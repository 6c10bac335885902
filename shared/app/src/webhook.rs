//! The Stripe webhook: signature first, then exactly-once application per event id.
//!
//! Exactly-once without locks: every effect is an idempotent conditional write (a
//! subscription change applies only if the subscription has not seen this or a newer
//! event), and the event's `processed` mark is written last. Concurrent duplicates
//! may each attempt the effect; the conditions let one through, and exactly one
//! delivery wins the mark (`applied: true`). A crash between any two steps leaves the
//! event unmarked, so Stripe's retry runs the remaining steps; the ones already done
//! are no-ops. See ARCHITECTURE.md.

use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::metrics;
use crate::state::AppState;
use adapters::payments::events::{self, DeliveryRefused, EventKind, InvoiceSubject};
use adapters::payments::{CheckoutSessionDetails, PaymentsError, SubscriptionDetails};
use adapters::store::stripe::{ChangeOutcome, SubscriptionChange, event_record};
use domain::account::SubscriptionStatus;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    /// Always `ok` (the delivery was accepted).
    pub status: &'static str,
    /// Whether this delivery applied the event (false for a duplicate).
    pub applied: bool,
}

/// The points between processing steps where a crash can happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The event record was written.
    Recorded,
    /// The event's effect was applied (the processed mark is next).
    Applied,
}

/// Lets tests fail processing at a chosen step, as a crash would.
pub trait FaultInjector: Send + Sync {
    fn after(&self, step: Step) -> anyhow::Result<()>;
}

pub struct NoFaults;

impl FaultInjector for NoFaults {
    fn after(&self, _step: Step) -> anyhow::Result<()> {
        Ok(())
    }
}

/// What a delivery is refused for; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Refused(#[from] DeliveryRefused),
    #[error(transparent)]
    Payments(#[from] PaymentsError),
    /// Stripe redelivers after a 500, so a failed refund or store write is retried.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Outcomes that changed something (an order settled, a subscription moved, money
/// given back); every other outcome acknowledges an event with nothing to do.
pub(crate) const CHANGES: [&str; 5] =
    ["order_fulfilled", "order_refunded", "duplicate_payment_refunded", "subscription_updated", "duplicate_subscription_canceled"];

/// Verifies and applies one delivery. `signature` is the `Stripe-Signature` header.
/// Counts it in `WebhookEvents` by type and outcome.
pub async fn receive(
    state: &AppState,
    payload: &str,
    signature: Option<&str>,
    faults: &dyn FaultInjector,
) -> Result<WebhookOutcome, DeliveryError> {
    let secret = state.config.stripe.webhook_secret.as_ref().ok_or(PaymentsError::NotConfigured)?;
    let event = match events::verify(payload, signature, secret.expose_secret()) {
        Ok(event) => event,
        Err(refused) => {
            metrics::webhook_event("unknown", metrics::WebhookOutcome::Refused);
            return Err(refused.into());
        }
    };
    let event_type = event.type_.clone();
    let result = process(state, payload, event, faults).await;
    metrics::webhook_event(&event_type, counted(&result));
    let (_, applied) = result?;
    Ok(WebhookOutcome { status: "ok", applied })
}

/// Applies an event read back from Stripe's Events API (`ops stripe replay`) through
/// the same path as a delivery: an event already processed stays a no-op. The
/// signature is not checked: the event came from Stripe's API over TLS with our key.
pub async fn replay(state: &AppState, payload: &str) -> Result<Replayed, DeliveryError> {
    let event = events::parse(payload)?;
    let (event_id, event_type) = (event.id.clone(), event.type_.clone());
    let result = process(state, payload, event, &NoFaults).await;
    metrics::webhook_event(&event_type, counted(&result));
    let (outcome, applied) = result?;
    Ok(Replayed { event_id, event_type, outcome, applied })
}

/// What replaying one event did.
#[derive(Debug, Serialize)]
pub struct Replayed {
    pub event_id: String,
    pub event_type: String,
    pub outcome: &'static str,
    /// False when the event had already been applied.
    pub applied: bool,
}

/// A replay reaches back at most as far as Stripe keeps events (30 days), and not
/// into the future.
pub fn check_replay_window(since: DateTime<Utc>) -> anyhow::Result<()> {
    let now = Utc::now();
    let retention = chrono::Duration::days(adapters::payments::operator::EVENT_RETENTION_DAYS);
    anyhow::ensure!(
        since >= now - retention && since <= now,
        "the replay window must start within Stripe's {} days of event retention and not in the future",
        retention.num_days()
    );
    Ok(())
}

/// Fetches one event from Stripe and replays it.
pub async fn replay_event(state: &AppState, event_id: &str) -> Result<Replayed, DeliveryError> {
    let payload = state.payments.event(event_id).await?;
    replay(state, &payload).await
}

/// Replays every event Stripe created since `since`, oldest first. Stripe keeps events
/// 30 days: an older `since` is refused rather than silently cut short.
pub async fn replay_since(state: &AppState, since: DateTime<Utc>) -> Result<Vec<Replayed>, DeliveryError> {
    check_replay_window(since)?;
    let mut done = Vec::new();
    for payload in state.payments.events_since(since.timestamp()).await? {
        done.push(replay(state, &payload).await?);
    }
    Ok(done)
}

fn counted(result: &Result<(&'static str, bool), DeliveryError>) -> metrics::WebhookOutcome {
    match result {
        Ok((_, false)) => metrics::WebhookOutcome::Duplicate,
        Ok((outcome, true)) if CHANGES.contains(outcome) => metrics::WebhookOutcome::Applied,
        Ok(_) => metrics::WebhookOutcome::Ignored,
        Err(_) => metrics::WebhookOutcome::Failed,
    }
}

/// Records, applies and marks one verified event: its outcome label and whether this
/// delivery applied it (false for a duplicate).
async fn process(
    state: &AppState,
    payload: &str,
    event: events::StripeEvent,
    faults: &dyn FaultInjector,
) -> Result<(&'static str, bool), DeliveryError> {
    let event_id = event.id.as_str();
    // The webhook's lines are found by the Stripe event id.
    tracing::Span::current().record("correlation_id", event_id);
    tracing::info!(event_id, event_type = event.type_, "Stripe event received");

    let record = event_record(event_id, &event.type_, event.created, payload, Utc::now());
    if let Some(existing) = state.store.record_stripe_event(&record).await?
        && existing.status == "processed"
    {
        return Ok(("duplicate", false));
    }
    faults.after(Step::Recorded)?;
    let Effected { outcome, marked } = apply(state, event_id, event.created, event.kind).await?;
    let applied = match marked {
        // The effect wrote the mark in its own transaction: no step between them.
        Some(won) => won,
        None => {
            faults.after(Step::Applied)?;
            state.store.mark_stripe_event_processed(event_id, outcome, Utc::now()).await?
        }
    };
    tracing::info!(event_id, outcome, applied, "Stripe event processed");
    Ok((outcome, applied))
}

/// An effect's outcome label, and whether it wrote the event's processed mark with
/// its own write (`Some(won)`: the subscription updates) or left it to `process`.
struct Effected {
    outcome: &'static str,
    marked: Option<bool>,
}

impl From<&'static str> for Effected {
    fn from(outcome: &'static str) -> Self {
        Effected { outcome, marked: None }
    }
}

/// A subscription event, as read from its payload before anything is looked up.
struct SubscriptionEvent {
    customer: Option<String>,
    subscription_id: Option<String>,
    /// A checkout, an update or a deletion may be the first event of a new Stripe
    /// subscription (events arrive in any order); an invoice only changes the one followed.
    may_replace: bool,
    /// The update writes the event's processed mark in the same transaction (a
    /// delivery's own events; a completed checkout is shared with the reconciliation,
    /// which has no event record).
    marks_event: bool,
    effect: Effect,
}

enum Effect {
    /// A subscription-mode checkout completed (this session): read the subscription
    /// from Stripe.
    CheckoutCompleted(String),
    /// The subscription as the event carries it, with the status it forces (deleted).
    Details(SubscriptionDetails, Option<SubscriptionStatus>),
    InvoiceFailed,
    InvoicePaid,
}

/// The event's effect; returns a label recorded on the event.
async fn apply(state: &AppState, event_id: &str, created: i64, kind: EventKind) -> anyhow::Result<Effected> {
    let of_subscription = |sub: SubscriptionDetails, forced| SubscriptionEvent {
        customer: Some(sub.customer.clone()),
        subscription_id: Some(sub.id.clone()),
        may_replace: true,
        marks_event: true,
        effect: Effect::Details(sub, forced),
    };
    let of_invoice = |invoice: InvoiceSubject, effect| SubscriptionEvent {
        customer: invoice.customer,
        subscription_id: invoice.subscription,
        may_replace: false,
        marks_event: true,
        effect,
    };
    let event = match kind {
        EventKind::CheckoutCompleted(session) => return Ok(completed_session(state, event_id, created, &session).await?.into()),
        EventKind::SubscriptionUpdated(sub) => of_subscription(sub, None),
        // Delivered before the subscription's own updates, it still ends it.
        EventKind::SubscriptionDeleted(sub) => of_subscription(sub, Some(SubscriptionStatus::Canceled)),
        EventKind::InvoicePaymentFailed(invoice) => of_invoice(invoice, Effect::InvoiceFailed),
        EventKind::InvoicePaymentSucceeded(invoice) => of_invoice(invoice, Effect::InvoicePaid),
        EventKind::Other => return Ok("ignored_event_type".into()),
    };
    apply_to_subscription(state, event_id, created, event).await
}

/// Applies a subscription event to the account's subscription, if it is about the
/// Stripe subscription the account follows (`Subscription::follows_stripe_subscription`).
/// A second Stripe subscription that bills while the followed one does (two Checkout
/// sessions paid) is refunded and canceled instead (`fulfilment::end_duplicate_subscription`).
/// Round trips: account by customer (1 Query), then as the effect needs (a Stripe
/// read), and one conditional update (with the event's processed mark, one
/// transaction); the plan from the catalogue held in memory. The update's conditions
/// are the rules below, so the subscription is not read first: a refusal returns it,
/// which tells why.
async fn apply_to_subscription(state: &AppState, event_id: &str, created: i64, event: SubscriptionEvent) -> anyhow::Result<Effected> {
    let Some(customer) = event.customer else { return Ok("ignored_no_customer".into()) };
    let Some(subscription_id) = event.subscription_id else { return Ok("ignored_no_subscription".into()) };
    let Some(account_id) = state.store.account_id_by_stripe_customer(&customer).await? else {
        tracing::warn!(event_id, customer, "Stripe event for an unknown customer");
        return Ok("unknown_customer".into());
    };
    let effect = match event.effect {
        Effect::CheckoutCompleted(session_id) => {
            // The account's open checkout is paid: a later one (after a cancellation)
            // opens a new session.
            state.store.clear_open_checkout(&account_id, &session_id).await?;
            match state.payments.subscription(&subscription_id).await {
                // Gone at Stripe (deleted, or another Stripe account's): a retry cannot help.
                Err(err) if err.is_resource_missing() => {
                    tracing::warn!(event_id, subscription_id, "completed checkout of a subscription Stripe does not know");
                    return Ok("ignored_subscription_missing".into());
                }
                read => Effect::Details(read?, None),
            }
        }
        effect => effect,
    };
    // The subscription's own status, when the event carries it.
    let status = match &effect {
        Effect::Details(details, forced) => Some(forced.unwrap_or_else(|| status_from_stripe(&details.status))),
        _ => None,
    };
    let mut change = match effect {
        Effect::Details(details, forced) => {
            let change = change_from(state, &details).await?;
            SubscriptionChange { status: forced.or(change.status), ..change }
        }
        Effect::InvoiceFailed => SubscriptionChange { status: Some(SubscriptionStatus::PastDue), ..Default::default() },
        Effect::InvoicePaid => SubscriptionChange {
            status: Some(SubscriptionStatus::Active),
            only_from: Some(SubscriptionStatus::PastDue),
            ..Default::default()
        },
        Effect::CheckoutCompleted(_) => anyhow::bail!("a checkout's subscription is read from Stripe first"),
    };
    if !event.may_replace {
        change.only_subscription = Some(subscription_id.clone());
    }
    let mark = event.marks_event.then(|| ("subscription_updated", Utc::now()));
    let current = match state.store.apply_subscription_change(&account_id, &change, (created, event_id), mark).await? {
        ChangeOutcome::Applied => {
            if let Some(status) = change.status {
                metrics::subscription_changed(status.as_str());
            }
            return Ok(Effected { outcome: "subscription_updated", marked: mark.map(|_| true) });
        }
        ChangeOutcome::AlreadyProcessed => return Ok(Effected { outcome: "subscription_updated", marked: Some(false) }),
        ChangeOutcome::Refused(current) => current,
    };
    // A second Stripe subscription that bills while the followed one does.
    if status.zip(current.as_deref()).is_some_and(|(status, current)| current.is_duplicated_by(&subscription_id, status)) {
        return Ok(crate::fulfilment::end_duplicate_subscription(state, &account_id, &subscription_id).await?.into());
    }
    if !current.is_some_and(|s| s.follows_stripe_subscription(&subscription_id, event.may_replace)) {
        tracing::info!(event_id, subscription_id, "event for another subscription of the customer");
        return Ok("other_subscription".into());
    }
    Ok("subscription_not_changed".into())
}

/// A completed Checkout session: in payment mode it pays the order in its metadata,
/// in subscription mode the account follows the new subscription. The webhook and the
/// reconciliation (`reconcile`) both come here, so each is idempotent for the other.
pub(crate) async fn completed_session(
    state: &AppState,
    event_id: &str,
    created: i64,
    session: &CheckoutSessionDetails,
) -> anyhow::Result<&'static str> {
    match session.mode.as_str() {
        "payment" => fulfil_order(state, session).await,
        "subscription" => {
            let event = SubscriptionEvent {
                customer: session.customer.clone(),
                subscription_id: session.subscription.clone(),
                may_replace: true,
                marks_event: false,
                effect: Effect::CheckoutCompleted(session.id.clone()),
            };
            Ok(apply_to_subscription(state, event_id, created, event).await?.outcome)
        }
        _ => Ok("ignored_checkout_mode"),
    }
}

/// A paid Checkout session in payment mode fulfils the order in its metadata.
async fn fulfil_order(state: &AppState, session: &CheckoutSessionDetails) -> anyhow::Result<&'static str> {
    let Some(order_id) = &session.order_id else {
        return Ok("ignored_no_order");
    };
    match crate::fulfilment::payment_of(session) {
        Some(payment) => crate::fulfilment::fulfil(state, order_id, &payment).await,
        None => Ok("awaiting_payment"),
    }
}

/// The local view of a Stripe subscription: status, plan (by price id), seats, period.
pub(crate) async fn change_from(state: &AppState, details: &SubscriptionDetails) -> anyhow::Result<SubscriptionChange> {
    let plan = match &details.price_id {
        Some(price) => state.catalogues.plan_with_price(&state.store, price).await?.map(|p| p.plan),
        None => None,
    };
    Ok(SubscriptionChange {
        status: Some(status_from_stripe(&details.status)),
        only_from: None,
        plan,
        seat_limit: details.quantity.and_then(|q| u32::try_from(q).ok()),
        current_period_start: details.current_period_start.and_then(timestamp),
        current_period_end: details.current_period_end.and_then(timestamp),
        cancel_at_period_end: Some(details.cancel_at_period_end),
        stripe_subscription_id: Some(details.id.clone()),
        stripe_price_id: details.price_id.clone(),
        only_subscription: None,
    })
}

fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Stripe's subscription statuses in ours: unpaid still owes (past due); expired or
/// paused subscriptions grant nothing (canceled).
pub fn status_from_stripe(status: &str) -> SubscriptionStatus {
    match status {
        "active" => SubscriptionStatus::Active,
        "trialing" => SubscriptionStatus::Trialing,
        "past_due" | "unpaid" => SubscriptionStatus::PastDue,
        "incomplete" => SubscriptionStatus::Incomplete,
        _ => SubscriptionStatus::Canceled,
    }
}
