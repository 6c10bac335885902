//! Stripe webhook bookkeeping and the subscription updates it drives.
//!
//! - `STRIPEEVENT#<event id>` / `STRIPEEVENT`: one record per event id (pattern 11):
//!   put when first seen, marked `processed` last by a conditional update — the mark
//!   that makes a delivery "the one that applied". 90-day TTL.
//! - Subscription updates are conditional on the event order: the subscription item
//!   keeps the `created` time and id of the last applied event and refuses older ones.
//! - Account by Stripe customer: Query GSI2 `STRIPECUSTOMER#<id>` (pattern 9).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::identity::{SUBSCRIPTION_SK, account_pk};
use super::{Store, key, n, s, written};
use domain::account::{Subscription, SubscriptionStatus};

const EVENT_SK: &str = "STRIPEEVENT";
const EVENT_RETENTION: Duration = Duration::days(90);

fn event_pk(event_id: &str) -> String {
    format!("STRIPEEVENT#{event_id}")
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StripeEventRecord {
    pub event_id: String,
    pub event_type: String,
    pub created: i64,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<DateTime<Utc>>,
    /// The start of the payload, for an operator looking into an event.
    #[serde(default)]
    pub payload_excerpt: String,
    pub ttl: i64,
}

/// How much of an event's payload its record keeps.
const EXCERPT_CHARS: usize = 500;

/// A change to an account's subscription carried by one Stripe event. `None`
/// fields are left as they are.
#[derive(Clone, Debug, Default)]
pub struct SubscriptionChange {
    pub status: Option<SubscriptionStatus>,
    /// Only applied when the stored status is this one (invoice paid: past_due → active).
    pub only_from: Option<SubscriptionStatus>,
    pub plan: Option<String>,
    pub seat_limit: Option<u32>,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: Option<bool>,
    pub stripe_subscription_id: Option<String>,
    pub stripe_price_id: Option<String>,
    /// Only applied while the stored subscription follows this Stripe subscription.
    pub only_subscription: Option<String>,
}

impl SubscriptionChange {
    /// Whether applying this change would alter what `current` says about the
    /// subscription (status, plan, seats, period, cancellation).
    pub fn would_change(&self, current: &Subscription) -> bool {
        fn differs<T: PartialEq>(new: &Option<T>, old: &T) -> bool {
            new.as_ref().is_some_and(|new| new != old)
        }
        differs(&self.status, &current.status)
            || differs(&self.plan, &current.plan)
            || differs(&self.seat_limit, &current.seat_limit)
            || self.current_period_end.is_some_and(|end| Some(end) != current.current_period_end)
            || differs(&self.cancel_at_period_end, &current.cancel_at_period_end)
    }
}

impl Store {
    /// Records that an event arrived; returns the existing record when the id was
    /// seen before.
    pub async fn record_stripe_event(&self, record: &StripeEventRecord) -> anyhow::Result<Option<StripeEventRecord>> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(super::item(&event_pk(&record.event_id), EVENT_SK, record)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(err) => match err.as_service_error() {
                // The record that was there, as DynamoDB returns it with the failed condition.
                Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone().map(super::from_item).transpose(),
                _ => Err(err.into()),
            },
        }
    }

    pub async fn stripe_event(&self, event_id: &str) -> anyhow::Result<Option<StripeEventRecord>> {
        self.get(&event_pk(event_id), EVENT_SK).await
    }

    /// Marks the event processed; true for exactly one caller per event id.
    pub async fn mark_stripe_event_processed(&self, event_id: &str, outcome: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mark = self.processed_mark(event_id, outcome, now)?;
        let result = self.update_alone(mark).send().await;
        written(result)
    }

    /// The event's `processed` mark: written once, by the delivery that wins it.
    fn processed_mark(&self, event_id: &str, outcome: &str, now: DateTime<Utc>) -> anyhow::Result<Update> {
        Ok(Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&event_pk(event_id), EVENT_SK)))
            .update_expression("SET #status = :processed, outcome = :outcome, processed_at = :now")
            .condition_expression("attribute_exists(pk) AND #status <> :processed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":processed", s("processed"))
            .expression_attribute_values(":outcome", s(outcome))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()?)
    }

    /// The account whose Stripe customer this is (GSI2; eventually consistent, which
    /// a webhook arriving after checkout tolerates).
    pub async fn account_id_by_stripe_customer(&self, customer_id: &str) -> anyhow::Result<Option<String>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI2)
            .key_condition_expression("gsi2pk = :c")
            .expression_attribute_values(":c", s(format!("STRIPECUSTOMER#{customer_id}")))
            .send()
            .await?;
        Ok(output.items.unwrap_or_default().into_iter().find_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// Applies a change unless the subscription already reflects a newer event
    /// (ordered by `created`, ties by event id) or the change would move the account
    /// off another Stripe subscription that still bills (or, with `only_subscription`,
    /// follows another). A refusal returns the subscription as it stood, so the caller
    /// can tell why without reading it. With `mark`, the webhook event's processed mark
    /// (`outcome`, at `now`) is written in the same transaction as the change.
    pub async fn apply_subscription_change(
        &self,
        account_id: &str,
        change: &SubscriptionChange,
        (event_created, event_id): (i64, &str),
        mark: Option<(&str, DateTime<Utc>)>,
    ) -> anyhow::Result<ChangeOutcome> {
        let update = self.subscription_update(account_id, change, event_created, event_id)?;
        let outcome = match mark {
            None => self.update_subscription(update).await?,
            Some((outcome, now)) => {
                let items = vec![
                    TransactWriteItem::builder().update(update).build(),
                    TransactWriteItem::builder().update(self.processed_mark(event_id, outcome, now)?).build(),
                ];
                match self.transact(items).await {
                    Ok(_) => ChangeOutcome::Applied,
                    Err(err) => refused_in_transaction(err)?,
                }
            }
        };
        if matches!(outcome, ChangeOutcome::Refused(_)) && change.only_from.is_some() {
            // Refused by `only_from` (or too old): the event still happened, so it still
            // moves the ordering mark, and an older event delivered later stays refused.
            self.advance_event_mark(account_id, change.only_subscription.as_deref(), event_created, event_id).await?;
        }
        Ok(outcome)
    }

    async fn update_subscription(&self, update: Update) -> anyhow::Result<ChangeOutcome> {
        let result =
            self.update_alone(update).return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld).send().await;
        match result {
            Ok(_) => Ok(ChangeOutcome::Applied),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Ok(ChangeOutcome::Refused(stood(failed.item.clone())?)),
                _ => Err(err.into()),
            },
        }
    }

    /// The conditional update a subscription change is.
    fn subscription_update(
        &self,
        account_id: &str,
        change: &SubscriptionChange,
        event_created: i64,
        event_id: &str,
    ) -> anyhow::Result<Update> {
        let mut sets = vec!["last_event_created = :created", "last_event_id = :event"];
        let mut request = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), SUBSCRIPTION_SK)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_values(":created", n(event_created))
            .expression_attribute_values(":event", s(event_id));
        // Every name goes through a placeholder: `plan` and `status` are reserved words.
        let fields: Vec<(&str, Option<AttributeValue>)> = vec![
            ("status", change.status.map(attr).transpose()?),
            ("plan", change.plan.as_ref().map(attr).transpose()?),
            ("seat_limit", change.seat_limit.map(attr).transpose()?),
            ("current_period_start", change.current_period_start.map(attr).transpose()?),
            ("current_period_end", change.current_period_end.map(attr).transpose()?),
            ("cancel_at_period_end", change.cancel_at_period_end.map(attr).transpose()?),
            ("stripe_subscription_id", change.stripe_subscription_id.as_ref().map(attr).transpose()?),
            ("stripe_price_id", change.stripe_price_id.as_ref().map(attr).transpose()?),
        ];
        let mut expressions = Vec::new();
        for (i, (name, value)) in fields.into_iter().enumerate() {
            if let Some(value) = value {
                expressions.push(format!("#f{i} = :f{i}"));
                request = request.expression_attribute_names(format!("#f{i}"), name).expression_attribute_values(format!(":f{i}"), value);
            }
        }
        sets.extend(expressions.iter().map(String::as_str));
        let mut condition = "attribute_exists(pk) AND (attribute_not_exists(last_event_created) OR last_event_created < :created \
             OR (last_event_created = :created AND last_event_id < :event))"
            .to_owned();
        if let Some(from) = change.only_from {
            condition.push_str(" AND #from_status = :from");
            request = request.expression_attribute_names("#from_status", "status").expression_attribute_values(":from", attr(from)?);
        }
        if let Some(id) = &change.only_subscription {
            condition.push_str(" AND stripe_subscription_id = :only_sub");
            request = request.expression_attribute_values(":only_sub", s(id));
        } else if let Some(id) = &change.stripe_subscription_id {
            // The first billing subscription keeps the account: a concurrent second one
            // must not take over (the webhook then cancels it as a duplicate).
            condition.push_str(
                " AND (NOT attribute_type(stripe_subscription_id, :string) OR stripe_subscription_id = :new_sub \
                 OR NOT (#current_status IN (:billing_0, :billing_1, :billing_2)))",
            );
            // Absent or NULL (a trial's) is no Stripe subscription.
            request = request
                .expression_attribute_values(":new_sub", s(id))
                .expression_attribute_values(":string", s("S"))
                .expression_attribute_names("#current_status", "status");
            let billing = [SubscriptionStatus::Active, SubscriptionStatus::PastDue, SubscriptionStatus::Trialing];
            debug_assert!(billing.iter().all(|status| status.bills()));
            for (i, status) in billing.into_iter().enumerate() {
                request = request.expression_attribute_values(format!(":billing_{i}"), attr(status)?);
            }
        }
        Ok(request.update_expression(format!("SET {}", sets.join(", "))).condition_expression(condition).build()?)
    }

    /// Records `event_created` as the newest event seen, unless a newer one was.
    async fn advance_event_mark(
        &self,
        account_id: &str,
        subscription: Option<&str>,
        event_created: i64,
        event_id: &str,
    ) -> anyhow::Result<bool> {
        let mut condition = "attribute_exists(pk) AND (attribute_not_exists(last_event_created) OR last_event_created < :created \
                 OR (last_event_created = :created AND last_event_id < :event))"
            .to_owned();
        let mut request = self.client.update_item();
        if let Some(id) = subscription {
            condition.push_str(" AND stripe_subscription_id = :only_sub");
            request = request.expression_attribute_values(":only_sub", s(id));
        }
        let result = request
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), SUBSCRIPTION_SK)))
            .update_expression("SET last_event_created = :created, last_event_id = :event")
            .condition_expression(condition)
            .expression_attribute_values(":created", n(event_created))
            .expression_attribute_values(":event", s(event_id))
            .send()
            .await;
        written(result)
    }
}

/// How a subscription change went.
#[derive(Debug)]
pub enum ChangeOutcome {
    /// Applied (with the event's processed mark, when it was asked for).
    Applied,
    /// Refused by its conditions: the subscription as it stood (None: the account has
    /// none). Nothing was written (not the mark either).
    Refused(Option<Box<Subscription>>),
    /// The event's processed mark was refused: another delivery processed the event.
    /// Nothing was written.
    AlreadyProcessed,
}

/// A subscription item DynamoDB returned with a failed condition.
fn stood(item: Option<super::Item>) -> anyhow::Result<Option<Box<Subscription>>> {
    Ok(item.filter(|item| !item.is_empty()).map(super::from_item).transpose()?.map(Box::new))
}

/// Why the change-and-mark transaction was cancelled: the mark first (the event is
/// processed, whatever else failed), then the change's own condition; anything else
/// (a conflict that outlasted the store's retries, an outage) is an error.
fn refused_in_transaction(err: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> anyhow::Result<ChangeOutcome> {
    let err = err.into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = &err else {
        return Err(anyhow::Error::from(err).context("applying a subscription change"));
    };
    let failed = |i: usize| cancelled.cancellation_reasons().get(i).filter(|r| r.code() == Some("ConditionalCheckFailed"));
    if failed(1).is_some() {
        return Ok(ChangeOutcome::AlreadyProcessed);
    }
    match failed(0) {
        Some(reason) => Ok(ChangeOutcome::Refused(stood(reason.item.clone())?)),
        None => Err(anyhow::Error::from(err).context("applying a subscription change")),
    }
}

pub fn event_record(event_id: &str, event_type: &str, created: i64, payload: &str, now: DateTime<Utc>) -> StripeEventRecord {
    StripeEventRecord {
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        created,
        status: "received".to_owned(),
        outcome: None,
        received_at: now,
        processed_at: None,
        payload_excerpt: payload.chars().take(EXCERPT_CHARS).collect(),
        ttl: (now + EVENT_RETENTION).timestamp(),
    }
}

fn attr<T: Serialize>(value: T) -> anyhow::Result<AttributeValue> {
    Ok(serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)?)
}
