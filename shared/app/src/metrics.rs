//! Every business and reliability metric the product emits, in one place, through the
//! `metrics` facade. The function's entry point installs the recorder (CloudWatch
//! Embedded Metric Format, `web::telemetry`) and flushes it once per invocation; without
//! one (unit tests, `ops`) these calls do nothing.
//!
//! Dimensions are bounded sets only (a kind, a status, a method, an outcome class):
//! never an id, an email or anything a user can vary. Ids go in log lines instead.

use metrics::{Unit, counter, describe_counter};

use adapters::unavailable::Dependency;

/// Registers the units (CloudWatch shows counts as `Count`; amounts in cents have none).
pub fn describe() {
    for name in [
        "ColdStart",
        "SignUps",
        "OrdersOpened",
        "OrdersFulfilled",
        "OrdersRefunded",
        "RefundsFailed",
        "SubscriptionChanges",
        "WebhookEvents",
        "TasksCreated",
        "EmailsFailed",
        "DependencyUnavailable",
    ] {
        describe_counter!(name, Unit::Count, "");
    }
}

/// How a user joined: `password`, `google`, `microsoft` or `invite`.
pub fn sign_up(method: &'static str) {
    counter!("SignUps", "method" => method).increment(1);
}

/// An order (of `kind`, see `OrderItem::kind`) opened a Checkout session or was
/// fulfilled at once.
pub fn order_opened(kind: &'static str, amount_cents: i64) {
    money("OrdersOpened", "OrdersOpenedCents", kind, amount_cents);
}

pub fn order_fulfilled(kind: &'static str, amount_cents: i64) {
    money("OrdersFulfilled", "OrdersFulfilledCents", kind, amount_cents);
}

/// Money given back: an order's (`kind`) or a duplicate subscription's (`subscription`).
pub fn refunded(kind: &'static str, amount_cents: i64) {
    money("OrdersRefunded", "OrdersRefundedCents", kind, amount_cents);
}

/// A refund Stripe did not make (the `RefundsFailed` alarm pages on it).
pub fn refund_failed(kind: &'static str, amount_cents: i64) {
    money("RefundsFailed", "RefundsFailedCents", kind, amount_cents);
}

/// By kind, and once more over all kinds (the stream an alarm can name: CloudWatch
/// alarms cannot add up a metric's dimension values).
fn money(count: &'static str, cents: &'static str, kind: &'static str, amount_cents: i64) {
    counter!(count, "kind" => kind).increment(1);
    counter!(count).increment(1);
    counter!(cents, "kind" => kind).increment(u64::try_from(amount_cents).unwrap_or(0));
}

/// A subscription took a new status (`SubscriptionStatus` in snake case).
pub fn subscription_changed(status: &'static str) {
    counter!("SubscriptionChanges", "status" => status).increment(1);
}

/// One webhook delivery: the event type (Stripe's, a bounded set) and what came of it.
pub fn webhook_event(event_type: &str, outcome: WebhookOutcome) {
    // Only the types we subscribe to; anything else counts as `other`.
    let event_type = SUBSCRIBED_EVENTS.iter().find(|t| **t == event_type).copied().unwrap_or("other");
    counter!("WebhookEvents", "type" => event_type, "outcome" => outcome.as_str()).increment(1);
    // Over all types, for the alarm on failures.
    counter!("WebhookEvents", "outcome" => outcome.as_str()).increment(1);
}

const SUBSCRIBED_EVENTS: [&str; 8] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.paid",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// This delivery applied the event.
    Applied,
    /// An event already applied (a redelivery).
    Duplicate,
    /// Recorded and acknowledged with nothing to do (another subscription, an unknown customer, ...).
    Ignored,
    /// Refused before anything was recorded (bad signature or payload).
    Refused,
    /// Processing failed; Stripe redelivers.
    Failed,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Refused => "refused",
            WebhookOutcome::Failed => "failed",
        }
    }
}

pub fn tasks_created(count: u64) {
    counter!("TasksCreated").increment(count);
}

/// A mail SES did not take (the flow went on without it).
pub fn email_failed() {
    counter!("EmailsFailed").increment(1);
}

/// A request answered 503 (or a message or event left to be retried) because a
/// dependency was unavailable after its client's retries.
pub fn dependency_unavailable(dependency: Dependency) {
    counter!("DependencyUnavailable", "dependency" => dependency.as_str()).increment(1);
}
