//! Stripe webhook deliveries: the signature check and the events the app acts on.
//!
//! The check is Stripe's documented scheme (docs.stripe.com/webhooks/signature): the
//! `Stripe-Signature` header carries `t=<unix time>` and one or more `v1=<hex>`; a
//! delivery is Stripe's when one `v1` is the HMAC-SHA256, keyed with the endpoint's
//! signing secret, of `<t>.<raw body>` (compared in constant time), and `t` is within
//! 5 minutes of now. The tests sign with async-stripe's own signer, so the two
//! implementations are checked against each other.
//!
//! Events are read into the few fields the app uses (the same small types as Stripe's
//! API answers, `super`), not into async-stripe's typed `EventObject` of every
//! resource Stripe has, which weighed 3 MiB in the webhook's binary.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{CheckoutSessionDetails, ListedSession, Subscription, SubscriptionDetails};

/// Stripe's tolerance for a delivery's timestamp, in seconds.
const TOLERANCE_SECS: i64 = 300;

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
    check_signature(payload, signature, secret, chrono::Utc::now().timestamp())?;
    parse(payload)
}

/// Stripe's signature scheme (see the module doc) at time `now`.
fn check_signature(payload: &str, header: &str, secret: &str, now: i64) -> Result<(), DeliveryRefused> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", hex)) => candidates.push(hex),
            _ => {} // v0 (test mode's legacy scheme) and unknown schemes are ignored, as Stripe's libraries do
        }
    }
    let timestamp = timestamp.ok_or(DeliveryRefused::BadSignature("no timestamp in the header"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| DeliveryRefused::BadSignature("unusable signing secret"))?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    let matches = candidates.iter().any(|candidate| hex::decode(candidate).is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok()));
    if !matches {
        return Err(DeliveryRefused::BadSignature("signature does not match"));
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| DeliveryRefused::BadSignature("timestamp is not a number"))?;
    if (now - signed_at).abs() > TOLERANCE_SECS {
        return Err(DeliveryRefused::BadSignature("timestamp outside the 5-minute tolerance"));
    }
    Ok(())
}

/// Reads an event Stripe sent (a webhook body, or an event read back from Stripe's
/// Events API) into what the app acts on.
pub fn parse(payload: &str) -> Result<StripeEvent, DeliveryRefused> {
    let bad = |what: &str| DeliveryRefused::BadPayload(format!("could not read {what}"));
    let envelope: Envelope = miniserde::json::from_str(payload).map_err(|_| bad("the event"))?;
    let session = || -> Result<CheckoutSessionDetails, DeliveryRefused> {
        let event: SessionEvent = miniserde::json::from_str(payload).map_err(|_| bad("the Checkout session"))?;
        Ok(event.data.object.into_details())
    };
    let subscription = || -> Result<SubscriptionDetails, DeliveryRefused> {
        let event: SubscriptionEvent = miniserde::json::from_str(payload).map_err(|_| bad("the subscription"))?;
        Ok(event.data.object.into_details())
    };
    let invoice = || -> Result<InvoiceSubject, DeliveryRefused> {
        let event: InvoiceEvent = miniserde::json::from_str(payload).map_err(|_| bad("the invoice"))?;
        Ok(event.data.object.subject())
    };
    let kind = match envelope.type_.as_str() {
        "checkout.session.completed" => EventKind::CheckoutCompleted(session()?),
        "checkout.session.async_payment_succeeded" => match session()? {
            details if details.mode == "payment" => EventKind::CheckoutCompleted(details),
            _ => EventKind::Other,
        },
        // A new subscription's first event; applied as an update is.
        "customer.subscription.created" | "customer.subscription.updated" => EventKind::SubscriptionUpdated(subscription()?),
        "customer.subscription.deleted" => EventKind::SubscriptionDeleted(subscription()?),
        "invoice.payment_failed" => EventKind::InvoicePaymentFailed(invoice()?),
        "invoice.payment_succeeded" => EventKind::InvoicePaymentSucceeded(invoice()?),
        _ => EventKind::Other,
    };
    Ok(StripeEvent { id: envelope.id, type_: envelope.type_, created: envelope.created, kind })
}

#[derive(miniserde::Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    type_: String,
    created: i64,
}

#[derive(miniserde::Deserialize)]
struct SessionEvent {
    data: SessionData,
}

#[derive(miniserde::Deserialize)]
struct SessionData {
    object: ListedSession,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionEvent {
    data: SubscriptionData,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionData {
    object: Subscription,
}

#[derive(miniserde::Deserialize)]
struct InvoiceEvent {
    data: InvoiceData,
}

#[derive(miniserde::Deserialize)]
struct InvoiceData {
    object: Invoice,
}

#[derive(miniserde::Deserialize)]
struct Invoice {
    customer: Option<String>,
    /// Before API 2025-03.
    subscription: Option<String>,
    parent: Option<InvoiceParent>,
}

#[derive(miniserde::Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetailsRef>,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionDetailsRef {
    subscription: Option<String>,
}

impl Invoice {
    /// An invoice names its subscription under `parent.subscription_details` (API
    /// 2025-03 and later) or at the top level (before).
    fn subject(self) -> InvoiceSubject {
        let from_parent = self.parent.and_then(|p| p.subscription_details).and_then(|d| d.subscription);
        InvoiceSubject { customer: self.customer, subscription: from_parent.or(self.subscription) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &str = r#"{"id":"evt_1","type":"invoice.payment_failed","created":1,"data":{"object":{"customer":"cus_1","parent":{"subscription_details":{"subscription":"sub_1"}}}}}"#;

    fn sign(payload: &str, t: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{t}.{payload}").as_bytes());
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn stripes_scheme_accepts_any_matching_v1_within_the_tolerance() {
        let now = 1_700_000_000;
        assert!(check_signature(BODY, &sign(BODY, now), SECRET, now + TOLERANCE_SECS).is_ok());
        let two = format!("t={now},v1=00ff,v0=abc,{}", sign(BODY, now).split(',').nth(1).unwrap());
        assert!(check_signature(BODY, &two, SECRET, now).is_ok());
    }

    #[test]
    fn a_wrong_secret_body_timestamp_or_header_is_refused() {
        let now = 1_700_000_000;
        let header = sign(BODY, now);
        assert!(check_signature(BODY, &header, "whsec_other", now).is_err());
        assert!(check_signature(&BODY.replace("cus_1", "cus_2"), &header, SECRET, now).is_err());
        assert!(check_signature(BODY, &header, SECRET, now + TOLERANCE_SECS + 1).is_err());
        assert!(check_signature(BODY, &header.replace(&format!("t={now}"), &format!("t={}", now + 1)), SECRET, now + 1).is_err());
        for header in ["", "v1=abc", &format!("t={now}"), &format!("t={now},v0={}", &header[header.len() - 64..])] {
            assert!(check_signature(BODY, header, SECRET, now).is_err(), "{header}");
        }
    }

    #[test]
    fn an_invoice_names_its_subscription_under_parent_or_at_the_top() {
        let event = parse(BODY).unwrap();
        let EventKind::InvoicePaymentFailed(subject) = event.kind else { panic!("not an invoice event") };
        assert_eq!((subject.customer.as_deref(), subject.subscription.as_deref()), (Some("cus_1"), Some("sub_1")));
        let old = r#"{"id":"evt_2","type":"invoice.payment_succeeded","created":1,"data":{"object":{"customer":"cus_1","subscription":"sub_0"}}}"#;
        let EventKind::InvoicePaymentSucceeded(subject) = parse(old).unwrap().kind else { panic!("not an invoice event") };
        assert_eq!(subject.subscription.as_deref(), Some("sub_0"));
    }

    #[test]
    fn unknown_types_are_other_and_a_broken_object_is_refused() {
        let other = r#"{"id":"evt_3","type":"charge.succeeded","created":1,"data":{"object":{}}}"#;
        assert!(matches!(parse(other).unwrap().kind, EventKind::Other));
        let broken = r#"{"id":"evt_4","type":"customer.subscription.updated","created":1,"data":{"object":{"id":"sub_1"}}}"#;
        assert!(matches!(parse(broken), Err(DeliveryRefused::BadPayload(_))));
        assert!(matches!(parse("[]"), Err(DeliveryRefused::BadPayload(_))));
    }
}
