//! The Stripe adapter (async-stripe, pointed at `STRIPE_API_BASE`): customers,
//! Checkout sessions, the billing portal, subscription reads, refunds.
//!
//! Requests are async-stripe's, sent by [`client::StripeHttp`]; responses are read into
//! the small types at the end of this file (`customize::<T>()`) with only the fields we
//! use. async-stripe's full response types and their generated deserializers would add
//! about 6 MiB to every function that calls Stripe.

mod client;
pub mod events;
pub mod operator;

use std::collections::HashMap;
use std::sync::OnceLock;

use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::invoice_payment::ListInvoicePayment;
use stripe_billing::subscription::{CancelSubscription, ListSubscription, ListSubscriptionStatus, RetrieveSubscription};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionSubscriptionData,
    ExpireCheckoutSession, ListCheckoutSession, ProductData, RetrieveCheckoutSession,
};
use stripe_client_core::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::refund::CreateRefund;
use stripe_shared::{CheckoutSessionMode, CheckoutSessionStatus};
use stripe_types::{Currency, RangeQueryTs};

pub use self::client::StripeFailure;
use self::client::StripeHttp;
use crate::config::StripeConfig;

/// What can go wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// No `STRIPE_SECRET_KEY`: nothing can be charged.
    #[error("payments are not configured")]
    NotConfigured,
    #[error("Stripe request failed: {0}")]
    Stripe(#[from] StripeFailure),
    #[error("{0}")]
    Unexpected(String),
}

impl PaymentsError {
    /// Stripe does not know the object asked for (`resource_missing`): asking again
    /// will not change that.
    pub fn is_resource_missing(&self) -> bool {
        matches!(self, PaymentsError::Stripe(StripeFailure::Api { code, .. }) if code == "resource_missing")
    }
}

pub struct Payments {
    config: StripeConfig,
    client: OnceLock<StripeHttp>,
}

/// What a subscription checkout asks Stripe for.
pub struct SubscriptionCheckout<'a> {
    pub customer_id: &'a str,
    pub price_id: &'a str,
    pub seats: u32,
    /// Passed while the trial runs, so paying does not cut it short.
    pub trial_end: Option<i64>,
    pub account_id: &'a str,
    pub success_url: String,
    pub cancel_url: String,
    /// Names this purchase at Stripe: a retry, or a concurrent identical checkout,
    /// gets the same session back.
    pub idempotency_key: String,
}

/// A Checkout session Stripe opened.
pub struct OpenedSession {
    pub id: String,
    pub url: String,
    /// When Stripe stops taking payment on it (epoch seconds).
    pub expires_at: i64,
}

/// A one-off payment for an order; the webhook finds the order by `order_id`.
pub struct PaymentCheckout<'a> {
    pub order_id: &'a str,
    /// When the session stops taking payment (epoch seconds; Stripe allows 30 min to 24 h).
    pub expires_at: i64,
    pub description: &'a str,
    pub amount_cents: i64,
    pub customer_email: Option<&'a str>,
    pub success_url: String,
    pub cancel_url: String,
}

/// A subscription as the webhook needs it.
pub struct SubscriptionDetails {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub price_id: Option<String>,
    pub quantity: Option<u64>,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
}

/// A Checkout session as the app reads it, from a webhook event or Stripe's list.
#[derive(Clone, Debug)]
pub struct CheckoutSessionDetails {
    pub id: String,
    pub created: i64,
    pub mode: String,
    pub status: Option<String>,
    pub payment_status: String,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub payment_intent: Option<String>,
    /// `metadata.order_id`: the order a payment-mode session pays.
    pub order_id: Option<String>,
    pub customer: Option<String>,
    pub subscription: Option<String>,
}

fn idempotency_key(key: String) -> Result<IdempotencyKey, PaymentsError> {
    IdempotencyKey::new(key).map_err(|e| PaymentsError::Unexpected(format!("idempotency key: {e}")))
}

impl Payments {
    pub fn new(config: StripeConfig) -> Self {
        Payments { config, client: OnceLock::new() }
    }

    /// The client, built on first use; `NotConfigured` without a key.
    fn client(&self) -> Result<&StripeHttp, PaymentsError> {
        let key = self.config.secret_key.as_ref().ok_or(PaymentsError::NotConfigured)?;
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = StripeHttp::new(&self.config.api_base, key.clone())
            .map_err(|e| PaymentsError::Unexpected(format!("building the Stripe client: {e}")))?;
        Ok(self.client.get_or_init(|| client))
    }

    pub fn is_configured(&self) -> bool {
        self.config.secret_key.is_some()
    }

    pub async fn create_customer(&self, account_id: &str, email: &str, name: &str) -> Result<String, PaymentsError> {
        // One key per account: concurrent first checkouts get the same customer back.
        let key = idempotency_key(format!("customer-for-account-{account_id}"))?;
        let customer: Created = CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("account_id".to_owned(), account_id.to_owned())]))
            .build()
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(self.client()?)
            .await?;
        Ok(customer.id)
    }

    pub async fn subscription_checkout(&self, checkout: SubscriptionCheckout<'_>) -> Result<OpenedSession, PaymentsError> {
        let mut line = CreateCheckoutSessionLineItems::new();
        line.price = Some(checkout.price_id.to_owned());
        line.quantity = Some(u64::from(checkout.seats));
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.trial_end = checkout.trial_end;
        subscription.metadata = Some(HashMap::from([("account_id".to_owned(), checkout.account_id.to_owned())]));
        let request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(checkout.customer_id)
            .client_reference_id(checkout.account_id)
            .line_items(vec![line])
            .subscription_data(subscription)
            .metadata(HashMap::from([("account_id".to_owned(), checkout.account_id.to_owned())]))
            .success_url(checkout.success_url)
            .cancel_url(checkout.cancel_url);
        let strategy = RequestStrategy::Idempotent(idempotency_key(checkout.idempotency_key)?);
        let session: CheckoutSession = request.build().customize().request_strategy(strategy).send(self.client()?).await?;
        let url = session.url.ok_or_else(|| PaymentsError::Unexpected("Stripe returned a session without a URL".into()))?;
        Ok(OpenedSession { id: session.id, url, expires_at: session.expires_at })
    }

    /// Stops a Checkout session from taking payment. True when it can no longer be
    /// paid and was not (expired now or before); false when it completed. Stripe
    /// refuses (400) to expire a session that is no longer open, so that answer is
    /// settled by reading the session.
    pub async fn expire_checkout(&self, session_id: &str) -> Result<bool, PaymentsError> {
        let client = self.client()?;
        match ExpireCheckoutSession::new(session_id).build().customize::<Created>().send(client).await {
            Ok(_) => Ok(true),
            Err(StripeFailure::Api { status: 400, .. }) => {
                let session: SessionStatus = RetrieveCheckoutSession::new(session_id).build().customize().send(client).await?;
                match session.status.as_deref() {
                    Some("expired") => Ok(true),
                    Some("complete") => Ok(false),
                    other => Err(PaymentsError::Unexpected(format!("Stripe would not expire a Checkout session in status {other:?}"))),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Opens a Checkout session for one order. The order id is the idempotency key, so
    /// a retried request cannot open a second session for it.
    pub async fn payment_checkout(&self, checkout: PaymentCheckout<'_>) -> Result<String, PaymentsError> {
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
        price.unit_amount = Some(checkout.amount_cents);
        price.product_data = Some(ProductData::new(checkout.description));
        let mut line = CreateCheckoutSessionLineItems::new();
        line.price_data = Some(price);
        line.quantity = Some(1);
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .client_reference_id(checkout.order_id)
            .line_items(vec![line])
            .expires_at(checkout.expires_at)
            .metadata(HashMap::from([("order_id".to_owned(), checkout.order_id.to_owned())]))
            .success_url(checkout.success_url)
            .cancel_url(checkout.cancel_url);
        if let Some(email) = checkout.customer_email {
            request = request.customer_email(email);
        }
        self.session_url(&request, Some(format!("checkout-for-order-{}", checkout.order_id))).await
    }

    pub async fn portal(&self, customer_id: &str, return_url: String) -> Result<String, PaymentsError> {
        self.session_url(&CreateBillingPortalSession::new().customer(customer_id).return_url(return_url), None).await
    }

    /// Refunds `amount_cents` of a payment. `key` names the refund: the same key never
    /// refunds twice (Stripe keeps idempotency keys for 24 hours; the caller records the
    /// refund id before that).
    pub async fn refund(&self, payment_intent: &str, amount_cents: i64, key: &str) -> Result<String, PaymentsError> {
        let refund: Created = CreateRefund::new()
            .payment_intent(payment_intent)
            .amount(amount_cents)
            .build()
            .customize()
            .request_strategy(RequestStrategy::Idempotent(idempotency_key(key.to_owned())?))
            .send(self.client()?)
            .await?;
        Ok(refund.id)
    }

    /// What a subscription has charged: the paid payments of its latest invoice
    /// (`GET /v1/invoice_payments?invoice=...`), each (payment intent, amount in cents).
    /// Empty for a trial's $0 invoice.
    pub async fn subscription_charges(&self, subscription_id: &str) -> Result<Vec<(String, i64)>, PaymentsError> {
        let client = self.client()?;
        let sub: LatestInvoice = RetrieveSubscription::new(subscription_id).build().customize().send(client).await?;
        let Some(invoice) = sub.latest_invoice else { return Ok(Vec::new()) };
        let page: InvoicePaymentList = ListInvoicePayment::new().invoice(invoice).limit(100).build().customize().send(client).await?;
        Ok(page
            .data
            .into_iter()
            .filter(|p| p.status == "paid" && p.amount_paid.unwrap_or(0) > 0)
            .filter_map(|p| Some((p.payment.payment_intent?, p.amount_paid?)))
            .collect())
    }

    /// Cancels a subscription at once, with no proration credit and no final invoice
    /// (`DELETE /v1/subscriptions/{id}`). True when this call canceled it; false when it
    /// already was (Stripe answers `resource_missing` for a canceled subscription).
    pub async fn cancel_subscription(&self, subscription_id: &str) -> Result<bool, PaymentsError> {
        let request = CancelSubscription::new(subscription_id).prorate(false).invoice_now(false);
        match request.build().customize::<Created>().send(self.client()?).await.map_err(PaymentsError::from) {
            Ok(_) => Ok(true),
            Err(err) if err.is_resource_missing() => Ok(false),
            Err(err) => Err(err),
        }
    }

    pub async fn subscription(&self, subscription_id: &str) -> Result<SubscriptionDetails, PaymentsError> {
        let sub: Subscription = RetrieveSubscription::new(subscription_id).build().customize().send(self.client()?).await?;
        Ok(sub.into_details())
    }

    /// Every subscription of the Stripe account, whatever its status (Stripe's list,
    /// 100 a page). Stripe has no "changed since" filter; the reconciliation compares.
    pub async fn subscriptions(&self) -> Result<Vec<SubscriptionDetails>, PaymentsError> {
        let client = self.client()?;
        let all = every_page(
            |after| async move {
                let mut request = ListSubscription::new().status(ListSubscriptionStatus::All).limit(100);
                if let Some(last) = after {
                    request = request.starting_after(last);
                }
                let page: SubscriptionList = request.build().customize().send(client).await?;
                Ok((page.data, page.has_more))
            },
            |sub: &Subscription| sub.id.clone(),
        )
        .await?;
        Ok(all.into_iter().map(Subscription::into_details).collect())
    }

    /// One Checkout session as Stripe has it now.
    pub async fn checkout_session(&self, session_id: &str) -> Result<CheckoutSessionDetails, PaymentsError> {
        let session: ListedSession = RetrieveCheckoutSession::new(session_id).build().customize().send(self.client()?).await?;
        Ok(session.into_details())
    }

    /// Every completed Checkout session created since `since` (epoch seconds), oldest
    /// page last; Stripe's list, 100 a page.
    pub async fn completed_sessions(&self, since: i64) -> Result<Vec<CheckoutSessionDetails>, PaymentsError> {
        let client = self.client()?;
        let all = every_page(
            |after| async move {
                let mut request =
                    ListCheckoutSession::new().created(RangeQueryTs::gte(since)).status(CheckoutSessionStatus::Complete).limit(100);
                if let Some(last) = after {
                    request = request.starting_after(last);
                }
                let page: SessionList = request.build().customize().send(client).await?;
                Ok((page.data, page.has_more))
            },
            |session: &ListedSession| session.id.clone(),
        )
        .await?;
        Ok(all.into_iter().map(ListedSession::into_details).collect())
    }

    /// Creates a Checkout or billing portal session and returns where to send the user.
    async fn session_url(&self, request: &impl StripeRequest, key: Option<String>) -> Result<String, PaymentsError> {
        let strategy = match key {
            Some(key) => RequestStrategy::Idempotent(idempotency_key(key)?),
            None => RequestStrategy::Once,
        };
        let session: Session = request.build().customize().request_strategy(strategy).send(self.client()?).await?;
        session.url.ok_or_else(|| PaymentsError::Unexpected("Stripe returned a session without a URL".into()))
    }
}

/// Every item of a Stripe list: `page(after)` fetches the page after the item with id
/// `after` (the first page for None) and says whether more follow.
async fn every_page<T, F>(mut page: impl FnMut(Option<String>) -> F, id: impl Fn(&T) -> String) -> Result<Vec<T>, PaymentsError>
where
    F: Future<Output = Result<(Vec<T>, bool), PaymentsError>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let (items, has_more) = page(after.take()).await?;
        after = items.last().map(&id);
        all.extend(items);
        if !has_more || after.is_none() {
            return Ok(all);
        }
    }
}

// The fields of Stripe's responses that the app reads; the rest is skipped unparsed.

#[derive(miniserde::Deserialize)]
struct Created {
    id: String,
}

#[derive(miniserde::Deserialize)]
struct Session {
    url: Option<String>,
}

#[derive(miniserde::Deserialize)]
struct SessionStatus {
    status: Option<String>,
}

#[derive(miniserde::Deserialize)]
struct CheckoutSession {
    id: String,
    url: Option<String>,
    expires_at: i64,
}

#[derive(miniserde::Deserialize)]
struct LatestInvoice {
    latest_invoice: Option<String>,
}

#[derive(miniserde::Deserialize)]
struct InvoicePaymentList {
    data: Vec<InvoicePayment>,
}

#[derive(miniserde::Deserialize)]
struct InvoicePayment {
    status: String,
    amount_paid: Option<i64>,
    payment: InvoicePaymentTarget,
}

#[derive(miniserde::Deserialize)]
struct InvoicePaymentTarget {
    payment_intent: Option<String>,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionList {
    data: Vec<Subscription>,
    has_more: bool,
}

#[derive(miniserde::Deserialize)]
struct Subscription {
    id: String,
    customer: String,
    status: String,
    cancel_at_period_end: bool,
    items: SubscriptionItems,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionItems {
    data: Vec<SubscriptionItem>,
}

#[derive(miniserde::Deserialize)]
struct SubscriptionItem {
    price: Price,
    quantity: Option<u64>,
    current_period_start: i64,
    current_period_end: i64,
}

#[derive(miniserde::Deserialize)]
struct Price {
    id: String,
}

impl Subscription {
    fn into_details(self) -> SubscriptionDetails {
        let item = self.items.data.into_iter().next();
        SubscriptionDetails {
            id: self.id,
            customer: self.customer,
            status: self.status,
            price_id: item.as_ref().map(|i| i.price.id.clone()),
            quantity: item.as_ref().and_then(|i| i.quantity),
            current_period_start: item.as_ref().map(|i| i.current_period_start),
            current_period_end: item.as_ref().map(|i| i.current_period_end),
            cancel_at_period_end: self.cancel_at_period_end,
        }
    }
}

#[derive(miniserde::Deserialize)]
struct SessionList {
    data: Vec<ListedSession>,
    has_more: bool,
}

#[derive(miniserde::Deserialize)]
struct ListedSession {
    id: String,
    created: i64,
    mode: String,
    status: Option<String>,
    payment_status: String,
    amount_total: Option<i64>,
    currency: Option<String>,
    payment_intent: Option<String>,
    metadata: Option<std::collections::BTreeMap<String, String>>,
    customer: Option<String>,
    subscription: Option<String>,
}

impl ListedSession {
    fn into_details(self) -> CheckoutSessionDetails {
        CheckoutSessionDetails {
            order_id: self.metadata.and_then(|mut m| m.remove("order_id")),
            id: self.id,
            created: self.created,
            mode: self.mode,
            status: self.status,
            payment_status: self.payment_status,
            amount_total: self.amount_total,
            currency: self.currency,
            payment_intent: self.payment_intent,
            customer: self.customer,
            subscription: self.subscription,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;

    use super::*;

    #[tokio::test]
    async fn every_page_follows_the_cursor_until_stripe_says_no_more() {
        let items: Vec<String> = (0..5).map(|i| format!("obj_{i}")).collect();
        let mut asked = Vec::new();
        let all = every_page(
            |after: Option<String>| {
                let start = after.as_ref().map_or(0, |id| items.iter().position(|i| i == id).unwrap() + 1);
                asked.push(after);
                let end = (start + 2).min(items.len());
                ready(Ok((items[start..end].to_vec(), end < items.len())))
            },
            |item: &String| item.clone(),
        )
        .await
        .unwrap();
        assert_eq!(all, items);
        assert_eq!(asked, [None, Some("obj_1".to_owned()), Some("obj_3".to_owned())]);
    }
}
