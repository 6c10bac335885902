//! Stripe reads only operators make (`ops stripe sync-prices`, `ops stripe replay`):
//! prices by lookup key (docs.stripe.com/api/prices/list) and events from the Events
//! API (docs.stripe.com/api/events: kept 30 days, newest first).

use stripe_client_core::{RequestBuilder, StripeMethod};

use super::{Payments, PaymentsError, every_page};

/// `lookup_keys` takes at most 10 keys a request (Stripe's documented limit).
pub const LOOKUP_KEYS_PER_REQUEST: usize = 10;
/// How long Stripe keeps events.
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// A price as `sync-prices` compares it with the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceDetails {
    pub id: String,
    pub lookup_key: String,
    pub unit_amount: Option<i64>,
    pub currency: String,
    /// `month` or `year`; None for a one-time price.
    pub interval: Option<String>,
}

impl Payments {
    /// The active prices with these lookup keys (those Stripe knows).
    pub async fn prices_by_lookup_key(&self, lookup_keys: &[String]) -> Result<Vec<PriceDetails>, PaymentsError> {
        let client = self.client()?;
        let mut prices = Vec::new();
        for keys in lookup_keys.chunks(LOOKUP_KEYS_PER_REQUEST) {
            let query = PriceQuery { lookup_keys: keys, active: true, limit: 100 };
            let page: PriceList = RequestBuilder::new(StripeMethod::Get, "/prices").query(&query).customize().send(client).await?;
            prices.extend(page.data.into_iter().filter_map(Price::into_details));
        }
        Ok(prices)
    }

    /// One event as Stripe sent it (its JSON), for the webhook's own path.
    pub async fn event(&self, event_id: &str) -> Result<String, PaymentsError> {
        let event: miniserde::json::Value =
            RequestBuilder::new(StripeMethod::Get, format!("/events/{event_id}")).customize().send(self.client()?).await?;
        Ok(miniserde::json::to_string(&event))
    }

    /// Every event created at or after `since` (epoch seconds), oldest first.
    pub async fn events_since(&self, since: i64) -> Result<Vec<String>, PaymentsError> {
        let client = self.client()?;
        let newest_first = every_page(
            |after| async move {
                let query = EventQuery { created: Created { gte: since }, limit: 100, starting_after: after };
                let page: EventList = RequestBuilder::new(StripeMethod::Get, "/events").query(&query).customize().send(client).await?;
                Ok((page.data, page.has_more))
            },
            |event: &miniserde::json::Value| match event {
                miniserde::json::Value::Object(fields) => match fields.get("id") {
                    Some(miniserde::json::Value::String(id)) => id.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            },
        )
        .await?;
        Ok(newest_first.iter().rev().map(miniserde::json::to_string).collect())
    }
}

#[derive(serde::Serialize)]
struct PriceQuery<'a> {
    lookup_keys: &'a [String],
    active: bool,
    limit: u8,
}

#[derive(serde::Serialize)]
struct EventQuery {
    created: Created,
    limit: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<String>,
}

#[derive(serde::Serialize)]
struct Created {
    gte: i64,
}

#[derive(miniserde::Deserialize)]
struct PriceList {
    data: Vec<Price>,
}

#[derive(miniserde::Deserialize)]
struct Price {
    id: String,
    lookup_key: Option<String>,
    unit_amount: Option<i64>,
    currency: String,
    recurring: Option<Recurring>,
}

#[derive(miniserde::Deserialize)]
struct Recurring {
    interval: String,
}

impl Price {
    fn into_details(self) -> Option<PriceDetails> {
        Some(PriceDetails {
            lookup_key: self.lookup_key?,
            id: self.id,
            unit_amount: self.unit_amount,
            currency: self.currency,
            interval: self.recurring.map(|r| r.interval),
        })
    }
}

#[derive(miniserde::Deserialize)]
struct EventList {
    data: Vec<miniserde::json::Value>,
    has_more: bool,
}
