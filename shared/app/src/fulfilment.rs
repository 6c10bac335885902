//! Paid ⇔ delivered or refunded, exactly once: the one path every reported payment
//! takes (the Stripe webhook and the reconciliation). A payment is checked against its
//! order, the order's item is delivered through its product's idempotent delivery, and
//! whatever cannot be delivered is refunded through Stripe, keyed by the payment so
//! that duplicates, concurrency and crashes never refund twice.

use chrono::Utc;

use crate::state::AppState;
use adapters::email::Mail;
use adapters::payments::CheckoutSessionDetails;
use domain::account::Role;
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
                if state.store.settle_order(order_id, Transition::DELIVERED, &payment.reference, None, Utc::now()).await? {
                    crate::metrics::order_fulfilled(order.item.kind(), payment.amount_cents);
                }
                tracing::info!(order_id, kind = order.item.kind(), "order fulfilled");
                Ok("order_fulfilled")
            }
            Delivery::Refused { reason, refund_cents } => refund(state, &order, payment, reason, refund_cents).await,
        },
    }
}

/// An operator's retry of a refund Stripe refused (`ops orders retry-refund`): the
/// order's payment, read back from Stripe, goes through the webhook's own path and so
/// through `fulfil` (same idempotency key, same settle, same email). Idempotent: an
/// order that is no longer `refund_failed` is left alone (`not_refund_failed`). A dry
/// run answers `would_retry_refund` for a `refund_failed` order and touches nothing.
pub async fn retry_refund(state: &AppState, order_id: &str, dry_run: bool) -> anyhow::Result<&'static str> {
    let order = state.store.order(order_id).await?.ok_or_else(|| anyhow::anyhow!("no order {order_id}"))?;
    if order.status != OrderStatus::RefundFailed {
        return Ok("not_refund_failed");
    }
    if dry_run {
        return Ok("would_retry_refund");
    }
    let reference = order.payment_reference.as_deref().ok_or_else(|| anyhow::anyhow!("order {order_id} records no payment"))?;
    let session = state.payments.checkout_session(reference).await?;
    let payment = payment_of(&session).ok_or_else(|| anyhow::anyhow!("Stripe has no completed payment for order {order_id}"))?;
    fulfil(state, order_id, &payment).await
}

/// The payment a Checkout session in payment mode made. Only money received counts:
/// `no_payment_required` or an open session is not a payment; delayed methods complete
/// later (`checkout.session.async_payment_succeeded`).
pub(crate) fn payment_of(session: &CheckoutSessionDetails) -> Option<Payment> {
    (session.status.as_deref() == Some("complete") && session.payment_status == "paid").then(|| Payment {
        amount_cents: session.amount_total.unwrap_or_default(),
        currency: session.currency.clone().unwrap_or_default(),
        reference: session.id.clone(),
        payment_intent: session.payment_intent.clone(),
    })
}

/// The product's delivery of what the order bought (each idempotent per order).
async fn deliver(state: &AppState, order: &Order) -> anyhow::Result<Delivery> {
    match &order.item {
        OrderItem::PetitionCheckout(item) => crate::petitions::deliver_checkout(state, order, item, crate::petitions::Paid::AtStripe).await,
        OrderItem::AddonPurchase(item) => crate::petitions::deliver_addons(state, order, item).await,
        OrderItem::TaskUpgrade(item) => crate::tasks::deliver_upgrade(state, order, item).await,
        OrderItem::WillPayment(item) => crate::wills::deliver_payment(state, order, item).await,
    }
}

/// Refunds `amount_cents` of `payment` and settles the order `refunded` (or
/// `partially_refunded` when part was delivered), telling the customer. The refund's
/// idempotency key is the payment's own id, so every retry of this step meets the
/// same refund at Stripe. A failed refund leaves the order `refund_failed` (logged
/// with `alarm = "refund_failed"` and counted in `RefundsFailed`, which pages through the
/// template's `RefundsFailedAlarm`) and returns Err,
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
            crate::metrics::refund_failed(order.item.kind(), amount_cents);
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
    if settled {
        crate::metrics::refunded(order.item.kind(), amount_cents);
    }
    // Only the delivery that settled the order tells the customer (a mail failure is
    // logged: the money is back either way).
    if settled && let Err(err) = tell_customer(state, order, &refund).await {
        crate::metrics::email_failed();
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

/// A second Stripe subscription that bills while the account's first one does (two
/// Checkout sessions paid, or one opened outside the app): what it charged is refunded,
/// keyed by the subscription so no retry refunds twice, then it is canceled at once
/// (no proration credit, no final invoice) and the owner is told. Refund before cancel:
/// a crash in between leaves it billing, so the redelivered event finds it again and
/// the replayed refund meets the first. Only the call that canceled it sends the email
/// (at most once: a crash after canceling loses the email, never the money).
pub async fn end_duplicate_subscription(state: &AppState, account_id: &str, subscription_id: &str) -> anyhow::Result<&'static str> {
    let mut refunded_cents = 0;
    for (payment_intent, amount_cents) in state.payments.subscription_charges(subscription_id).await? {
        let key = format!("refund-{subscription_id}-{payment_intent}");
        if let Err(err) = state.payments.refund(&payment_intent, amount_cents, &key).await {
            crate::metrics::refund_failed("subscription", amount_cents);
            tracing::error!(
                account_id,
                subscription_id,
                alarm = "refund_failed",
                error = format!("{err:#}"),
                "duplicate subscription refund failed"
            );
            return Err(anyhow::Error::from(err).context("refunding a duplicate subscription"));
        }
        refunded_cents += amount_cents;
    }
    if !state.payments.cancel_subscription(subscription_id).await? {
        return Ok("duplicate_subscription_already_canceled");
    }
    tracing::warn!(account_id, subscription_id, refunded_cents, "duplicate subscription refunded and canceled");
    crate::metrics::refunded("subscription", refunded_cents);
    if let Err(err) = tell_owner_of_duplicate(state, account_id, refunded_cents).await {
        crate::metrics::email_failed();
        tracing::warn!(account_id, error = format!("{err:#}"), "duplicate subscription email not sent");
    }
    Ok("duplicate_subscription_canceled")
}

async fn tell_owner_of_duplicate(state: &AppState, account_id: &str, refunded_cents: i64) -> anyhow::Result<()> {
    let mut owner = None;
    for user_id in state.store.member_ids(account_id).await? {
        if let Some(user) = state.store.user(&user_id).await?.filter(|u| u.role == Role::Owner) {
            owner = Some(user);
            break;
        }
    }
    let owner = owner.ok_or_else(|| anyhow::anyhow!("the account has no owner"))?;
    let refund = if refunded_cents > 0 {
        format!(
            " and refunded USD {:.2} it charged; the money returns to your card within 5-10 business days",
            refunded_cents as f64 / 100.0
        )
    } else {
        String::new()
    };
    let mail = Mail {
        subject: "We canceled a second subscription".into(),
        text: format!(
            "Your account was subscribed twice. We canceled the second subscription{refund}. Your first subscription continues unchanged.\n"
        ),
    };
    state.mailer.send(&owner.email, mail).await
}
