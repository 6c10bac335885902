//! The one fulfilment path every paid product uses: an Order with a server-computed
//! amount, a Stripe Checkout session in payment mode (metadata `order_id`), and
//! `fulfil` when the payment is reported. Products plug in an [`OrderKind`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use chrono::Utc;
use serde::Serialize;

use crate::domain::order::{Order, OrderStatus, Payment};
use crate::error::ApiResult;
use crate::payments::PaymentCheckout;
use crate::state::AppState;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Delivers one kind of order. `deliver` must be idempotent (conditional writes keyed
/// by the order): after a crash it runs again for the same order.
pub trait OrderKind: Send + Sync {
    fn kind(&self) -> &'static str;
    fn deliver<'a>(&'a self, state: &'a AppState, order: &'a Order) -> BoxFuture<'a, anyhow::Result<Delivery>>;
}

/// What a delivery came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Paid, but it can no longer be delivered as ordered (e.g. a rival order got
    /// the same add-on first): the order is settled `needs_refund`, never delivered
    /// twice. The reason goes to the error log for the refund.
    Refused(String),
}

/// Order kinds by name: the products' own ([`product_kind`]) and any registered at
/// run time (tests register their own).
#[derive(Default)]
pub struct Fulfilment {
    registered: RwLock<HashMap<&'static str, Arc<dyn OrderKind>>>,
}

impl Fulfilment {
    pub fn register(&self, kind: Arc<dyn OrderKind>) {
        self.registered.write().expect("fulfilment registry").insert(kind.kind(), kind);
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn OrderKind>> {
        product_kind(kind).or_else(|| self.registered.read().expect("fulfilment registry").get(kind).cloned())
    }
}

/// The products' order kinds. Looked up only by [`fulfil`], so a function that never
/// fulfils an order (auth, oauth, billing, task-worker) does not link their deliveries.
fn product_kind(kind: &str) -> Option<Arc<dyn OrderKind>> {
    use crate::{petitions, tasks, wills};
    let kind: Arc<dyn OrderKind> = match kind {
        wills::WILL_PAYMENT => Arc::new(wills::WillPaymentKind),
        petitions::PETITION_CHECKOUT => Arc::new(petitions::PetitionCheckoutKind),
        petitions::ADDON_PURCHASE => Arc::new(petitions::AddonPurchaseKind),
        tasks::TASK_UPGRADE => Arc::new(tasks::TaskUpgradeKind),
        _ => return None,
    };
    Some(kind)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckoutStarted {
    pub order_id: String,
    pub total_cents: i64,
    /// None when nothing was owed and the order was fulfilled at once.
    pub checkout_url: Option<String>,
}

/// Stores the order and opens a Stripe Checkout session for its amount; a zero total
/// skips payment and fulfils at once.
pub async fn start_checkout(state: &AppState, order: Order, description: &str, email: Option<&str>) -> ApiResult<CheckoutStarted> {
    if order.amount_cents > 0 && !state.payments.is_configured() {
        return Err(crate::payments::not_configured());
    }
    state.store.put_order(&order).await?;
    if order.amount_cents == 0 {
        let free = Payment { amount_cents: 0, currency: order.currency.clone(), reference: "free".into() };
        fulfil(state, &order.id, &free).await?;
        return Ok(CheckoutStarted { order_id: order.id, total_cents: 0, checkout_url: None });
    }
    let base = &state.config.app_base_url;
    let url = state
        .payments
        .payment_checkout(PaymentCheckout {
            order_id: &order.id,
            description,
            amount_cents: order.amount_cents,
            customer_email: email,
            success_url: format!("{base}/orders/{}?paid=1", order.id),
            cancel_url: format!("{base}/orders/{}", order.id),
        })
        .await?;
    Ok(CheckoutStarted { order_id: order.id, total_cents: order.amount_cents, checkout_url: Some(url) })
}

/// Delivers a paid order, once: checks the payment against the order's amount and
/// currency, runs the kind's (idempotent) delivery, then settles the order
/// conditionally. Returns a label for the webhook's record.
pub async fn fulfil(state: &AppState, order_id: &str, payment: &Payment) -> anyhow::Result<&'static str> {
    let Some(order) = state.store.order(order_id).await? else {
        tracing::warn!(order_id, "payment for an unknown order");
        return Ok("unknown_order");
    };
    match order.status {
        OrderStatus::Fulfilled => return Ok("order_already_fulfilled"),
        OrderStatus::AmountMismatch => return Ok("order_amount_mismatch"),
        OrderStatus::NeedsRefund => return Ok("order_needs_refund"),
        OrderStatus::Pending => {}
    }
    if !order.is_paid_by(payment) {
        tracing::error!(
            order_id,
            expected_cents = order.amount_cents,
            expected_currency = %order.currency,
            paid_cents = payment.amount_cents,
            paid_currency = %payment.currency,
            "payment does not match the order; not fulfilled"
        );
        state.store.settle_order(order_id, OrderStatus::AmountMismatch, &payment.reference, Utc::now()).await?;
        return Ok("order_amount_mismatch");
    }
    let kind =
        state.fulfilment.get(&order.kind).ok_or_else(|| anyhow::anyhow!("no fulfilment registered for order kind {:?}", order.kind))?;
    match kind.deliver(state, &order).await? {
        Delivery::Delivered => {
            state.store.settle_order(order_id, OrderStatus::Fulfilled, &payment.reference, Utc::now()).await?;
            tracing::info!(order_id, kind = %order.kind, "order fulfilled");
            Ok("order_fulfilled")
        }
        Delivery::Refused(reason) => {
            state.store.settle_order(order_id, OrderStatus::NeedsRefund, &payment.reference, Utc::now()).await?;
            tracing::error!(order_id, kind = %order.kind, reason, "paid order not deliverable; refund it");
            Ok("order_needs_refund")
        }
    }
}
