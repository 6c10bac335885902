//! Orders: something bought with a one-off payment (a petition checkout, add-ons, a
//! task upgrade, a will). The amount is computed on the server when the order is
//! created; the payment must match it before anything is delivered, and a paid order
//! ends delivered or refunded (see [`OrderStatus`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::petition::Benefit;

pub const CURRENCY: &str = "usd";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for its payment.
    Pending,
    /// Paid and delivered.
    Fulfilled,
    /// Paid and delivered in part; the rest of the payment was refunded.
    PartiallyRefunded,
    /// Paid, nothing delivered, the whole payment refunded.
    Refunded,
    /// Paid and owed a refund that Stripe has not accepted yet; retried by the next
    /// delivery of the payment event and by the reconciliation. (Orders stored as
    /// `needs_refund` or `amount_mismatch` before refunds were automatic read as this.)
    #[serde(alias = "needs_refund", alias = "amount_mismatch")]
    RefundFailed,
}

/// The payment reference of an order nothing was owed for.
pub const FREE_PAYMENT_REFERENCE: &str = "free";

/// A status change of an order: the statuses it may leave and the one it reaches.
/// The store applies it as one conditional update, so of two deliveries racing to
/// settle an order exactly one does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: &'static [OrderStatus],
    pub to: OrderStatus,
}

impl Transition {
    /// Delivered in full, or free: pending → fulfilled.
    pub const DELIVERED: Transition = Transition { from: &[OrderStatus::Pending], to: OrderStatus::Fulfilled };
    /// Stripe refused the refund: the order stays owed until a redelivery refunds it.
    pub const REFUND_FAILED: Transition =
        Transition { from: &[OrderStatus::Pending, OrderStatus::RefundFailed], to: OrderStatus::RefundFailed };

    /// Refunded `amount_cents` of an order of `order_cents`: partially when part of it
    /// was delivered; a wrong amount is refunded whole, whatever it was.
    pub fn refunded(reason: RefundReason, amount_cents: i64, order_cents: i64) -> Transition {
        let to = if reason != RefundReason::AmountMismatch && amount_cents < order_cents {
            OrderStatus::PartiallyRefunded
        } else {
            OrderStatus::Refunded
        };
        Transition { from: &[OrderStatus::Pending, OrderStatus::RefundFailed], to }
    }
}

impl OrderStatus {
    /// Whether the order has reached its end: nothing more will happen to it.
    pub fn is_settled(self) -> bool {
        matches!(self, OrderStatus::Fulfilled | OrderStatus::PartiallyRefunded | OrderStatus::Refunded)
    }
}

/// What an order buys, snapshotted when it was priced, so a later catalogue change
/// cannot alter what was paid for. Stored as `kind` plus `deliver`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "deliver", rename_all = "snake_case")]
pub enum OrderItem {
    PetitionCheckout(PetitionCheckout),
    AddonPurchase(AddonPurchase),
    TaskUpgrade(TaskUpgrade),
    WillPayment(WillPayment),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PetitionCheckout {
    pub petition_id: String,
    pub template_id: String,
    pub plan_id: String,
    pub root_form_task_model_id: String,
    pub included: Vec<Benefit>,
    pub addons: Vec<Benefit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddonPurchase {
    pub petition_id: String,
    pub addons: Vec<Benefit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskUpgrade {
    pub petition_id: String,
    pub task_id: String,
    pub from_task_model_id: String,
    pub to_task_model_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WillPayment {
    pub will_id: String,
}

impl OrderItem {
    /// The kind's name, as stored and shown.
    pub fn kind(&self) -> &'static str {
        match self {
            OrderItem::PetitionCheckout(_) => "petition_checkout",
            OrderItem::AddonPurchase(_) => "addon_purchase",
            OrderItem::TaskUpgrade(_) => "task_upgrade",
            OrderItem::WillPayment(_) => "will_payment",
        }
    }

    /// The purchasable thing this order buys: an account holds at most one open
    /// (pending) order per thing, so a second checkout returns the first.
    pub fn purchase_key(&self) -> String {
        let ids = |benefits: &[Benefit]| {
            let mut ids: Vec<&str> = benefits.iter().map(|b| b.id.as_str()).collect();
            ids.sort_unstable();
            ids.join(",")
        };
        match self {
            OrderItem::PetitionCheckout(c) => format!("petition_checkout#{}#{}#{}", c.template_id, c.plan_id, ids(&c.addons)),
            OrderItem::AddonPurchase(a) => format!("addon_purchase#{}#{}", a.petition_id, ids(&a.addons)),
            OrderItem::TaskUpgrade(u) => format!("task_upgrade#{}#{}", u.task_id, u.to_task_model_id),
            OrderItem::WillPayment(w) => format!("will_payment#{}", w.will_id),
        }
    }
}

/// Why a paid order was refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The payment's amount or currency differs from the order's.
    AmountMismatch,
    /// Another order delivered the same thing first (an add-on, an upgrade, a will).
    AlreadyDelivered,
    /// What was bought can no longer be delivered (the task moved on, was removed...).
    NoLongerDeliverable,
    /// A second payment for an order that was already paid.
    DuplicatePayment,
}

impl RefundReason {
    pub fn message(self) -> &'static str {
        match self {
            RefundReason::AmountMismatch => "the amount paid did not match the order",
            RefundReason::AlreadyDelivered => "what you bought was already delivered through another order",
            RefundReason::NoLongerDeliverable => "what you bought could no longer be delivered",
            RefundReason::DuplicatePayment => "the order was already paid",
        }
    }
}

/// A refund the provider accepted (or is owed, while `id` is None).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub reason: RefundReason,
    pub amount_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    #[serde(flatten)]
    pub item: OrderItem,
    pub account_id: String,
    pub user_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    /// Where the customer pays, while the order is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

/// What the payment provider says was paid for an order.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub amount_cents: i64,
    pub currency: String,
    /// The provider's id for the payment (the Checkout session).
    pub reference: String,
    /// The provider's id of the money movement a refund goes against.
    pub payment_intent: Option<String>,
}

/// What delivering a paid order came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Paid, but (part of) it can no longer be delivered as ordered: `refund_cents`
    /// go back to the customer; nothing is delivered twice.
    Refused {
        reason: RefundReason,
        refund_cents: i64,
    },
}

/// What to do with a payment reported for an order, before any delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentCheck {
    /// Deliver the order.
    Deliver,
    /// This payment was already settled on the order (a redelivered event).
    AlreadySettled,
    /// Refund this payment without delivering.
    Refund(RefundReason),
}

impl Order {
    pub fn new(id: String, item: OrderItem, account_id: &str, user_id: &str, amount_cents: i64, now: DateTime<Utc>) -> Self {
        Order {
            id,
            item,
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            amount_cents,
            currency: CURRENCY.to_owned(),
            status: OrderStatus::Pending,
            created_at: now,
            checkout_url: None,
            fulfilled_at: None,
            payment_reference: None,
            refund: None,
        }
    }

    /// A free order as it is stored once delivered: fulfilled now, nothing paid.
    pub fn settled_free(&self, now: DateTime<Utc>) -> Order {
        Order {
            status: OrderStatus::Fulfilled,
            fulfilled_at: Some(now),
            payment_reference: Some(FREE_PAYMENT_REFERENCE.to_owned()),
            ..self.clone()
        }
    }

    /// Whether `payment` pays exactly this order.
    pub fn is_paid_by(&self, payment: &Payment) -> bool {
        payment.amount_cents == self.amount_cents && payment.currency.eq_ignore_ascii_case(&self.currency)
    }

    /// The rule for a reported payment: a second, different payment of a settled order
    /// is refunded; a wrong amount is refunded; otherwise the order is delivered (again,
    /// harmlessly, when an earlier attempt crashed half-way).
    pub fn check_payment(&self, payment: &Payment) -> PaymentCheck {
        let same_payment = self.payment_reference.as_deref().is_none_or(|r| r == payment.reference);
        match self.status {
            OrderStatus::Pending if self.is_paid_by(payment) => PaymentCheck::Deliver,
            OrderStatus::Pending => PaymentCheck::Refund(RefundReason::AmountMismatch),
            _ if !same_payment => PaymentCheck::Refund(RefundReason::DuplicatePayment),
            OrderStatus::RefundFailed => PaymentCheck::Refund(self.refund.as_ref().map_or(RefundReason::NoLongerDeliverable, |r| r.reason)),
            _ => PaymentCheck::AlreadySettled,
        }
    }

    /// The status after a refund of `refund_cents` for this order's payment.
    pub fn status_after_refund(&self, refund_cents: i64) -> OrderStatus {
        if refund_cents >= self.amount_cents { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    fn order(amount_cents: i64) -> Order {
        Order::new("o1".into(), OrderItem::WillPayment(WillPayment { will_id: "w".into() }), "a", "u", amount_cents, Utc::now())
    }

    fn paid(amount_cents: i64, currency: &str, reference: &str) -> Payment {
        Payment { amount_cents, currency: currency.into(), reference: reference.into(), payment_intent: Some("pi".into()) }
    }

    #[test]
    fn a_refund_settles_partially_only_when_part_was_delivered() {
        use OrderStatus::*;
        let refunded = |reason, amount| Transition::refunded(reason, amount, 4900).to;
        assert_eq!(refunded(RefundReason::AlreadyDelivered, 4900), Refunded);
        assert_eq!(refunded(RefundReason::AlreadyDelivered, 900), PartiallyRefunded);
        assert_eq!(refunded(RefundReason::AmountMismatch, 100), Refunded, "a wrong amount is refunded whole");
        for transition in [Transition::refunded(RefundReason::AlreadyDelivered, 1, 2), Transition::REFUND_FAILED] {
            assert_eq!(transition.from, [Pending, RefundFailed], "a failed refund is retried");
        }
        assert_eq!(Transition::DELIVERED.from, [Pending], "a refunded order is never delivered");
    }

    #[test]
    fn only_the_exact_amount_and_currency_pay_an_order() {
        let order = order(4900);
        assert!(order.is_paid_by(&paid(4900, "usd", "cs")));
        assert!(order.is_paid_by(&paid(4900, "USD", "cs")));
        assert!(!order.is_paid_by(&paid(4899, "usd", "cs")));
        assert!(!order.is_paid_by(&paid(4901, "usd", "cs")));
        assert!(!order.is_paid_by(&paid(4900, "eur", "cs")));
    }

    #[test]
    fn each_payment_is_delivered_settled_or_refunded() {
        let mut order = order(4900);
        assert_eq!(order.check_payment(&paid(4900, "usd", "cs_1")), PaymentCheck::Deliver);
        assert_eq!(order.check_payment(&paid(100, "usd", "cs_1")), PaymentCheck::Refund(RefundReason::AmountMismatch));
        order.status = OrderStatus::Fulfilled;
        order.payment_reference = Some("cs_1".into());
        assert_eq!(order.check_payment(&paid(4900, "usd", "cs_1")), PaymentCheck::AlreadySettled);
        assert_eq!(order.check_payment(&paid(4900, "usd", "cs_2")), PaymentCheck::Refund(RefundReason::DuplicatePayment));
        order.status = OrderStatus::RefundFailed;
        order.refund = Some(Refund { reason: RefundReason::AlreadyDelivered, amount_cents: 4900, id: None });
        assert_eq!(order.check_payment(&paid(4900, "usd", "cs_1")), PaymentCheck::Refund(RefundReason::AlreadyDelivered));
    }

    #[test]
    fn an_order_is_stored_as_kind_and_deliver() {
        let order = order(4900);
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["kind"], "will_payment");
        assert_eq!(json["deliver"], serde_json::json!({"will_id": "w"}));
        assert_eq!(serde_json::from_value::<Order>(json).unwrap(), order);
        let old = serde_json::json!({"id": "o", "kind": "will_payment", "deliver": {"will_id": "w"}, "account_id": "a",
            "user_id": "u", "amount_cents": 1, "currency": "usd", "status": "needs_refund", "created_at": "2026-01-01T00:00:00Z"});
        assert_eq!(serde_json::from_value::<Order>(old).unwrap().status, OrderStatus::RefundFailed);
    }

    #[test]
    fn one_purchase_key_per_thing_whatever_the_order_of_the_addons() {
        let benefit = |id: &str| Benefit {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            cost_cents: 1,
            is_task_triggering: false,
            effects: vec![],
        };
        let a = OrderItem::AddonPurchase(AddonPurchase { petition_id: "p".into(), addons: vec![benefit("x"), benefit("y")] });
        let b = OrderItem::AddonPurchase(AddonPurchase { petition_id: "p".into(), addons: vec![benefit("y"), benefit("x")] });
        assert_eq!(a.purchase_key(), b.purchase_key());
    }
}
