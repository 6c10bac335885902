//! Paid ⇔ delivered or refunded, exactly once: the one path every reported payment
//! takes (the Stripe webhook and the reconciliation). A payment is checked against its
//! order, the order's item is delivered through its product's idempotent delivery, and
//! whatever cannot be delivered is refunded through Stripe, keyed by the payment so
//! that duplicates, concurrency and crashes never refund twice.

use chrono::Utc;

use crate::state::AppState;
use adapters::email::Mail;
use domain::order::{Delivery, Order, OrderItem, OrderStatus, Payment, PaymentCheck, Refund, RefundReason, Transition};

/// Delivers or refunds the payment of one order. Returns a label for the webhook's
/// record; Err when a step failed and must be retried (a redelivery finishes it).
pub async fn fulfil(state: &AppState, order_id: &str, payment: &Payment) -> anyhow::Result<&'static str> {
    let Some(order) = state.store.order(order_id).await? else {
        tracing::warn!(order_id, "payment for an unknown order");
        return Ok("unknown_order");
    };
    match order.check_payment(payment) {
        PaymentCheck::AlreadySettled => Ok("order_already_settled"),
        PaymentCheck::Refund(reason) => {
            let amount = order
                .refund
                .as_ref()
                .filter(|_| order.status == OrderStatus::RefundFailed)
                .map_or(payment.amount_cents, |r| r.amount_cents);
            refund(state, &order, payment, reason, amount).await
        }
        PaymentCheck::Deliver => match deliver(state, &order).await? {
            // Nothing paid is owed back (a free add-on that could not be delivered).
            Delivery::Delivered | Delivery::Refused { refund_cents: 0, .. } => {
                state.store.settle_order(order_id, Transition::DELIVERED, &payment.reference, None, Utc::now()).await?;
                tracing::info!(order_id, kind = order.item.kind(), "order fulfilled");
                Ok("order_fulfilled")
            }
            Delivery::Refused { reason, refund_cents } => refund(state, &order, payment, reason, refund_cents).await,
        },
    }
}

/// The product's delivery of what the order bought (each idempotent per order).
async fn deliver(state: &AppState, order: &Order) -> anyhow::Result<Delivery> {
    match &order.item {
        OrderItem::PetitionCheckout(item) => crate::petitions::deliver_checkout(state, order, item).await,
        OrderItem::AddonPurchase(item) => crate::petitions::deliver_addons(state, order, item).await,
        OrderItem::TaskUpgrade(item) => crate::tasks::deliver_upgrade(state, order, item).await,
        OrderItem::WillPayment(item) => crate::wills::deliver_payment(state, order, item).await,
    }
}

/// Refunds `amount_cents` of `payment` and settles the order `refunded` (or
/// `partially_refunded` when part was delivered), telling the customer. The refund's
/// idempotency key is the payment's own id, so every retry of this step meets the
/// same refund at Stripe. A failed refund leaves the order `refund_failed` (logged
/// with `alarm = "refund_failed"`, which the template's alarm counts) and returns Err,
/// so Stripe redelivers the event and the refund is tried again.
async fn refund(
    state: &AppState,
    order: &Order,
    payment: &Payment,
    reason: RefundReason,
    amount_cents: i64,
) -> anyhow::Result<&'static str> {
    let duplicate = reason == RefundReason::DuplicatePayment;
    let attempt = match &payment.payment_intent {
        Some(intent) => {
            state.payments.refund(intent, amount_cents, &format!("refund-{}", payment.reference)).await.map_err(anyhow::Error::from)
        }
        None => Err(anyhow::anyhow!("the payment names no payment intent to refund")),
    };
    let refund_id = match attempt {
        Ok(id) => id,
        Err(err) => {
            if !duplicate {
                let owed = Refund { reason, amount_cents, id: None };
                state.store.settle_order(&order.id, Transition::REFUND_FAILED, &payment.reference, Some(&owed), Utc::now()).await?;
            }
            tracing::error!(order_id = %order.id, alarm = "refund_failed", error = format!("{err:#}"), "refund failed; retried on redelivery");
            return Err(err.context("refunding a payment"));
        }
    };
    tracing::warn!(order_id = %order.id, ?reason, amount_cents, refund_id, "payment refunded");
    let refund = Refund { reason, amount_cents, id: Some(refund_id) };
    let settled = if duplicate {
        true // the order stays as its first payment left it
    } else {
        let transition = Transition::refunded(reason, amount_cents, order.amount_cents);
        state.store.settle_order(&order.id, transition, &payment.reference, Some(&refund), Utc::now()).await?
    };
    // Only the delivery that settled the order tells the customer (a mail failure is
    // logged: the money is back either way).
    if settled && let Err(err) = tell_customer(state, order, &refund).await {
        tracing::warn!(order_id = %order.id, error = format!("{err:#}"), "refund email not sent");
    }
    Ok(if duplicate { "duplicate_payment_refunded" } else { "order_refunded" })
}

async fn tell_customer(state: &AppState, order: &Order, refund: &Refund) -> anyhow::Result<()> {
    let user = state.store.user(&order.user_id).await?.ok_or_else(|| anyhow::anyhow!("the order's user is gone"))?;
    let mail = Mail {
        subject: "Your payment was refunded".into(),
        text: format!(
            "We refunded {} {:.2} of your payment for order {}: {}.\n\nThe money returns to your card within 5-10 business days.\n",
            order.currency.to_uppercase(),
            refund.amount_cents as f64 / 100.0,
            order.id,
            refund.reason.message()
        ),
    };
    state.mailer.send(&user.email, mail).await
}
