//! Buying: an Order with a server-computed amount and a Stripe Checkout session in
//! payment mode (metadata `order_id`), at most one open per purchasable thing; and the
//! customer's view of their orders. Delivery is `fulfilment`'s.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::retry::until_settled;
use crate::state::AppState;
use adapters::payments::{PaymentCheckout, PaymentsError};
use adapters::store::orders::{OpenPurchase, OrderCursor};
use domain::Invalid;
use domain::account::Caller;
use domain::order::{FREE_PAYMENT_REFERENCE, Order, OrderItem, OrderStatus, RefundReason, Transition};

/// What buying and reading orders refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("another checkout of this purchase is starting; try again")]
    CheckoutInProgress,
    #[error("no such order")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Payments(#[from] PaymentsError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type OrdersResult<T> = Result<T, OrdersError>;

/// How long a Checkout session takes payment: Stripe allows at most 24 hours from
/// its own clock, so an hour of margin for ours.
const CHECKOUT_LIFETIME: Duration = Duration::hours(23);
/// The longest page of `GET /v1/orders`.
pub const MAX_PAGE: i32 = 100;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckoutStarted {
    pub order_id: String,
    pub total_cents: i64,
    /// None when nothing was owed and the order was fulfilled at once.
    pub checkout_url: Option<String>,
}

impl CheckoutStarted {
    fn of(order: &Order) -> Self {
        CheckoutStarted { order_id: order.id.clone(), total_cents: order.amount_cents, checkout_url: order.checkout_url.clone() }
    }

    /// What a free checkout answers: the order, fulfilled at once.
    pub fn free(order: &Order) -> Self {
        CheckoutStarted { order_id: order.id.clone(), total_cents: 0, checkout_url: None }
    }
}

/// What opening a purchase came to.
pub enum Opened {
    /// Pay at `checkout_url`.
    Payment(CheckoutStarted),
    /// Nothing is owed: the order, not stored yet, is delivered at once by the caller,
    /// who writes it settled with what it delivers in one transaction where the
    /// delivery is one ([`Order::settled_free`], then [`count_free`]), else stores it
    /// pending first ([`record_free`]) and settles it after ([`settle_free`]).
    Free(Box<Order>),
}

/// Opens payment of `item` for `amount_cents`, or returns the order already open for
/// the same thing (same order, same Checkout URL) while its session takes payment.
///
/// Round trips: GetItem (open purchase), GetItem (its order) when there is one; else
/// one Checkout session at Stripe and one transaction (order + open purchase).
/// The receipt goes to the caller's email.
pub async fn start_checkout(
    state: &AppState,
    caller: &Caller,
    item: OrderItem,
    amount_cents: i64,
    description: &str,
) -> OrdersResult<Opened> {
    let (account_id, email) = (caller.account_id.as_str(), caller.email.as_str());
    let now = Utc::now();
    let order = Order::new(adapters::new_id(), item, account_id, &caller.user_id, amount_cents, now);
    if amount_cents == 0 {
        return Ok(Opened::Free(Box::new(order)));
    }
    if !state.payments.is_configured() {
        return Err(PaymentsError::NotConfigured.into());
    }
    let purchase_key = &order.item.purchase_key();
    let order = &order;
    // A rival checkout that wins the race is read on the next pass.
    until_settled(
        move || async move {
            let replacing = match state.store.open_purchase(account_id, purchase_key).await? {
                None => None,
                Some(open) => match state.store.order(&open.order_id).await? {
                    Some(existing)
                        if existing.status == OrderStatus::Pending && open.expires_at > now && existing.checkout_url.is_some() =>
                    {
                        return Ok(Some(Opened::Payment(CheckoutStarted::of(&existing))));
                    }
                    _ => Some(open.order_id),
                },
            };
            // The session is opened before the order is stored (its URL is part of the
            // order); a checkout that then loses the race leaves an unused session that
            // nobody is shown and Stripe expires.
            let expires_at = now + CHECKOUT_LIFETIME;
            let mut order = order.clone();
            order.checkout_url = Some(open_session(state, &order, expires_at, description, email).await?);
            let open = OpenPurchase { order_id: order.id.clone(), expires_at };
            let stored = state.store.put_order(&order, &open, replacing.as_deref()).await?;
            if stored {
                crate::metrics::order_opened(order.item.kind(), order.amount_cents);
            }
            Ok(stored.then(|| Opened::Payment(CheckoutStarted::of(&order))))
        },
        || OrdersError::CheckoutInProgress,
    )
    .await
}

async fn open_session(state: &AppState, order: &Order, expires_at: DateTime<Utc>, description: &str, email: &str) -> OrdersResult<String> {
    let base = &state.config.app_base_url;
    let url = state
        .payments
        .payment_checkout(PaymentCheckout {
            order_id: &order.id,
            expires_at: expires_at.timestamp(),
            description,
            amount_cents: order.amount_cents,
            customer_email: Some(email),
            success_url: format!("{base}/orders/{}?paid=1", order.id),
            cancel_url: format!("{base}/orders/{}", order.id),
        })
        .await?;
    Ok(url)
}

/// Stores a free order, pending, before a delivery of several writes.
pub async fn record_free(state: &AppState, order: &Order) -> OrdersResult<()> {
    state.store.put_free_order(order).await?;
    crate::metrics::order_opened(order.item.kind(), 0);
    Ok(())
}

/// Settles a free order its caller delivered after [`record_free`].
pub async fn settle_free(state: &AppState, order: &Order) -> OrdersResult<()> {
    if state.store.settle_order(&order.id, Transition::DELIVERED, FREE_PAYMENT_REFERENCE, None, Utc::now()).await? {
        crate::metrics::order_fulfilled(order.item.kind(), 0);
    }
    Ok(())
}

/// Counts a free order written settled with its delivery: opened and fulfilled.
pub(crate) fn count_free(order: &Order) {
    crate::metrics::order_opened(order.item.kind(), 0);
    crate::metrics::order_fulfilled(order.item.kind(), 0);
}

/// An order as its buyer sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: String,
    /// What was bought: `petition_checkout`, `addon_purchase`, `task_upgrade` or `will_payment`.
    pub kind: &'static str,
    /// The thing bought: the petition, task or will it is for.
    pub subject_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: OrderStatus,
    /// Where to pay while the order is pending.
    pub checkout_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was settled (fulfilled or refunded).
    pub settled_at: Option<DateTime<Utc>>,
    pub refund_reason: Option<RefundReason>,
    pub refunded_cents: Option<i64>,
}

impl From<Order> for OrderView {
    fn from(order: Order) -> Self {
        let subject_id = match &order.item {
            OrderItem::PetitionCheckout(c) => c.petition_id.clone(),
            OrderItem::AddonPurchase(a) => a.petition_id.clone(),
            OrderItem::TaskUpgrade(u) => u.task_id.clone(),
            OrderItem::WillPayment(w) => w.will_id.clone(),
        };
        let pending = order.status == OrderStatus::Pending;
        OrderView {
            id: order.id,
            kind: order.item.kind(),
            subject_id,
            amount_cents: order.amount_cents,
            currency: order.currency,
            status: order.status,
            checkout_url: order.checkout_url.filter(|_| pending),
            created_at: order.created_at,
            settled_at: order.fulfilled_at,
            refund_reason: order.refund.as_ref().map(|r| r.reason),
            refunded_cents: order.refund.as_ref().filter(|r| r.id.is_some()).map(|r| r.amount_cents),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// One of the account's orders, as the request read it with the caller; 404 for
/// anyone else's.
pub fn get(caller: &Caller, order: Option<Order>) -> OrdersResult<OrderView> {
    match order {
        Some(order) if order.account_id == caller.account_id => Ok(order.into()),
        _ => Err(OrdersError::NotFound),
    }
}

/// The account's orders, newest first (one Query on GSI1 per page).
pub async fn list(state: &AppState, caller: &Caller, limit: Option<i32>, cursor: Option<&str>) -> OrdersResult<OrderList> {
    let limit = limit.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Invalid::field("limit", format!("between 1 and {MAX_PAGE}")).into());
    }
    let cursor = match cursor {
        Some(text) => {
            Some(OrderCursor::parse(&caller.account_id, text).ok_or_else(|| Invalid::field("cursor", "not a cursor of this list"))?)
        }
        None => None,
    };
    let page = state.store.orders_of_account(&caller.account_id, limit, cursor).await?;
    Ok(OrderList { orders: page.orders.into_iter().map(OrderView::from).collect(), next_cursor: page.next })
}
