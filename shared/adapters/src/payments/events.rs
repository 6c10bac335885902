//! Stripe webhook deliveries: the signature check (async-stripe's, with Stripe's
//! 5-minute tolerance) and the events the app acts on, read out of the typed event.

use stripe_events::{EventObject, Webhook, WebhookError};

use super::{CheckoutSessionDetails, SubscriptionDetails};

/// A verified delivery.
pub struct StripeEvent {
    pub id: String,
    pub type_: String,
    /// When Stripe created the event (epoch seconds): orders subscription changes.
    pub created: i64,
    pub kind: EventKind,
}

pub enum EventKind {
    /// `checkout.session.completed`, or `checkout.session.async_payment_succeeded` of a
    /// payment-mode session.
    CheckoutCompleted(CheckoutSessionDetails),
    SubscriptionUpdated(SubscriptionDetails),
    SubscriptionDeleted(SubscriptionDetails),
    InvoicePaymentFailed(InvoiceSubject),
    InvoicePaymentSucceeded(InvoiceSubject),
    /// Any other type: acknowledged, not acted on.
    Other,
}

/// Whose subscription an invoice bills; a one-off invoice names none.
pub struct InvoiceSubject {
    pub customer: Option<String>,
    pub subscription: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryRefused {
    #[error("webhook signature check failed: {0}")]
    BadSignature(&'static str),
    #[error("not a Stripe event: {0}")]
    BadPayload(String),
}

/// Checks `signature` (the `Stripe-Signature` header) over `payload` with the
/// endpoint's secret and reads the event.
pub fn verify(payload: &str, signature: Option<&str>, secret: &str) -> Result<StripeEvent, DeliveryRefused> {
    let signature = signature.ok_or(DeliveryRefused::BadSignature("missing Stripe-Signature header"))?;
    let event = Webhook::construct_event(payload, signature, secret).map_err(|err| match err {
        WebhookError::BadParse(detail) => DeliveryRefused::BadPayload(detail),
        WebhookError::BadTimestamp(_) => DeliveryRefused::BadSignature("timestamp outside the 5-minute tolerance"),
        _ => DeliveryRefused::BadSignature("signature does not match"),
    })?;
    Ok(StripeEvent {
        id: event.id.as_str().to_owned(),
        type_: event.type_.as_str().to_owned(),
        created: event.created,
        kind: kind(event.data.object),
    })
}

fn kind(object: EventObject) -> EventKind {
    match object {
        EventObject::CheckoutSessionCompleted(session) => EventKind::CheckoutCompleted(CheckoutSessionDetails::from_stripe(&session)),
        EventObject::CheckoutSessionAsyncPaymentSucceeded(session) if session.mode.as_str() == "payment" => {
            EventKind::CheckoutCompleted(CheckoutSessionDetails::from_stripe(&session))
        }
        // A new subscription's first event; applied as an update is.
        EventObject::CustomerSubscriptionCreated(sub) => EventKind::SubscriptionUpdated(SubscriptionDetails::from_stripe(&sub)),
        EventObject::CustomerSubscriptionUpdated(sub) => EventKind::SubscriptionUpdated(SubscriptionDetails::from_stripe(&sub)),
        EventObject::CustomerSubscriptionDeleted(sub) => EventKind::SubscriptionDeleted(SubscriptionDetails::from_stripe(&sub)),
        EventObject::InvoicePaymentFailed(invoice) => EventKind::InvoicePaymentFailed(invoice_subject(&invoice)),
        EventObject::InvoicePaymentSucceeded(invoice) => EventKind::InvoicePaymentSucceeded(invoice_subject(&invoice)),
        _ => EventKind::Other,
    }
}

/// An invoice names its subscription under `parent.subscription_details` (API
/// 2025-03 and later) or at the top level (before).
fn invoice_subject(invoice: &stripe_shared::Invoice) -> InvoiceSubject {
    let from_parent =
        invoice.parent.as_ref().and_then(|p| p.subscription_details.as_ref()).map(|d| d.subscription.id().as_str().to_owned());
    let top_level = invoice.subscription.as_ref().map(|s| s.id().as_str().to_owned());
    InvoiceSubject { customer: invoice.customer.as_ref().map(|c| c.id().as_str().to_owned()), subscription: from_parent.or(top_level) }
}
