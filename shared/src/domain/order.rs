//! Orders: something bought with a one-off payment (a petition checkout, add-ons, a
//! task upgrade, a will). The amount is computed on the server when the order is
//! created; the payment must match it before anything is delivered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const CURRENCY: &str = "usd";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for its payment.
    Pending,
    /// Paid and delivered.
    Fulfilled,
    /// A payment arrived that does not match the order; nothing was delivered.
    AmountMismatch,
    /// Paid, but what it bought could no longer be delivered (see `orders::Delivery`).
    NeedsRefund,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    /// Which fulfilment delivers it (e.g. `will_payment`).
    pub kind: String,
    pub account_id: String,
    pub user_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: OrderStatus,
    /// What to deliver, in the kind's own terms.
    pub deliver: serde_json::Value,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
}

/// What the payment provider says was paid for an order.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub amount_cents: i64,
    pub currency: String,
    /// The provider's id for the payment (the Checkout session).
    pub reference: String,
}

impl Order {
    pub fn new(kind: &str, account_id: &str, user_id: &str, amount_cents: i64, deliver: serde_json::Value, now: DateTime<Utc>) -> Self {
        Order {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            amount_cents,
            currency: CURRENCY.to_owned(),
            status: OrderStatus::Pending,
            deliver,
            created_at: now,
            fulfilled_at: None,
            payment_reference: None,
        }
    }

    /// Whether `payment` pays exactly this order.
    pub fn is_paid_by(&self, payment: &Payment) -> bool {
        payment.amount_cents == self.amount_cents && payment.currency.eq_ignore_ascii_case(&self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_amount_and_currency_pay_an_order() {
        let order = Order::new("k", "a", "u", 4900, serde_json::Value::Null, Utc::now());
        let paid = |amount_cents, currency: &str| Payment { amount_cents, currency: currency.into(), reference: "cs".into() };
        assert!(order.is_paid_by(&paid(4900, "usd")));
        assert!(order.is_paid_by(&paid(4900, "USD")));
        assert!(!order.is_paid_by(&paid(4899, "usd")));
        assert!(!order.is_paid_by(&paid(4901, "usd")));
        assert!(!order.is_paid_by(&paid(4900, "eur")));
    }
}
