//! Wills live in their owner's item collection (pattern 18): `USER#<user>` /
//! `WILL#<id>` — reading by (caller, id) is the tenancy check, and a user's wills are
//! one Query. Payments: `USER#<user>` / `WILLPAY#<will>#<order id>` (pattern 19), one
//! per order by conditional put.
//!
//! `ACCOUNT#<account>` / `COUNT#WILLS` counts the wills the account's users made (the
//! plan's `max_wills`): raised in each will's own transaction, on the condition that it
//! stays within the limit, so the limit holds under concurrent creations and costs no
//! read. A new shop starts it at 0; an account from before the counter has none until
//! its first new will counts its wills once (`start_will_count`).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::identity::{WILL_COUNT_SK, account_pk, empty_will_count, user_pk};
use super::{Store, from_item, item, key, n, s, written};
use domain::will::{Will, WillStatus};

/// How a will's creation went.
#[derive(Debug, PartialEq, Eq)]
pub enum WillCreation {
    Created,
    /// One more would pass the limit.
    LimitReached,
    /// The account has no will count yet (`start_will_count`); nothing was written.
    NotCounted,
}

pub(crate) fn will_sk(will_id: &str) -> String {
    format!("WILL#{will_id}")
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WillPayment {
    pub will_id: String,
    pub order_id: String,
    pub amount_cents: i64,
    pub completed_at: DateTime<Utc>,
}

impl Store {
    pub async fn wills_of_user<T: DeserializeOwned>(&self, user_id: &str) -> anyhow::Result<Vec<T>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :will)")
            .expression_attribute_values(":pk", s(user_pk(user_id)))
            .expression_attribute_values(":will", s("WILL#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    pub async fn will(&self, user_id: &str, will_id: &str) -> anyhow::Result<Option<Will>> {
        self.get(&user_pk(user_id), &will_sk(will_id)).await
    }

    /// A new will, counted in its account's wills in the same transaction, if the
    /// count stays within `max` (None: no limit).
    pub async fn create_will(&self, will: &Will, account_id: &str, max: Option<i64>) -> anyhow::Result<WillCreation> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&user_pk(&will.user_id), &will_sk(&will.id), will)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let mut count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), WILL_COUNT_SK)))
            .update_expression("ADD wills :one")
            .expression_attribute_values(":one", n(1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        count = match max {
            Some(max) => count.condition_expression("attribute_exists(pk) AND wills < :max").expression_attribute_values(":max", n(max)),
            None => count.condition_expression("attribute_exists(pk)"),
        };
        let items = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(count.build()?).build()];
        let err = match self.transact(items).await {
            Ok(_) => return Ok(WillCreation::Created),
            Err(err) => err.into_service_error(),
        };
        let counter = match &err {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled.cancellation_reasons().get(1),
            _ => None,
        };
        match counter.filter(|reason| reason.code() == Some("ConditionalCheckFailed")) {
            // The count failed its condition: at the limit if it exists, else missing.
            Some(reason) if reason.item().is_some_and(|item| !item.is_empty()) => Ok(WillCreation::LimitReached),
            Some(_) => Ok(WillCreation::NotCounted),
            None => Err(anyhow::Error::from(err).context("creating a will")),
        }
    }

    /// Starts the account's will count at `wills` (counted by the caller), unless a
    /// concurrent request started it first.
    pub async fn start_will_count(&self, account_id: &str, wills: i64) -> anyhow::Result<()> {
        let mut counter = empty_will_count(account_id);
        counter.insert("wills".into(), n(wills));
        self.put_if(counter, "attribute_not_exists(pk)", Vec::new()).await?;
        Ok(())
    }

    /// Replaces the will if nobody changed it since `seen_updated_at` (optimistic
    /// concurrency for the wizard's read-modify-write). False on a lost race.
    pub async fn save_will(&self, will: &Will, seen_updated_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let item = item(&user_pk(&will.user_id), &will_sk(&will.id), will)?;
        self.put_if(item, "updated_at = :seen", vec![(":seen", super::item_value(&seen_updated_at)?)]).await
    }

    /// version + 1 and the status `to` (the domain's transition), only while the will
    /// still has the version and status it was read with: of two concurrent
    /// regenerations one wins.
    pub async fn bump_will_version(&self, will: &Will, to: WillStatus, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(&will.user_id), &will_sk(&will.id))))
            .update_expression("SET version = :next, #status = :to, updated_at = :now")
            .condition_expression("version = :expected AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":next", n(will.version + 1))
            .expression_attribute_values(":expected", n(will.version))
            .expression_attribute_values(":to", super::item_value(&to)?)
            .expression_attribute_values(":from", super::item_value(&will.status)?)
            .expression_attribute_values(":now", super::item_value(&now)?)
            .send()
            .await;
        written(result)
    }

    /// Records a completed payment with the will it paid (`will`, as `Will::pay` left
    /// it) in one transaction, if the will is still as read at `seen` and the payment
    /// was not recorded before; false otherwise (read again and decide again).
    pub async fn record_will_payment(&self, will: &Will, seen: DateTime<Utc>, payment: &WillPayment) -> anyhow::Result<bool> {
        let put_payment = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&user_pk(&will.user_id), &format!("WILLPAY#{}#{}", payment.will_id, payment.order_id), payment)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let put_will = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&user_pk(&will.user_id), &will_sk(&will.id), will)?))
            .condition_expression("updated_at = :seen")
            .expression_attribute_values(":seen", super::item_value(&seen)?)
            .build()?;
        let items = vec![TransactWriteItem::builder().put(put_payment).build(), TransactWriteItem::builder().put(put_will).build()];
        match self.transact(items).await {
            Ok(_) => Ok(true),
            Err(err) => super::condition_failed_at(err, "recording the will payment").map(|_| false),
        }
    }

    /// A will's payments, latest completed first.
    pub async fn will_payments(&self, user_id: &str, will_id: &str) -> anyhow::Result<Vec<WillPayment>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :pay)")
            .expression_attribute_values(":pk", s(user_pk(user_id)))
            .expression_attribute_values(":pay", s(format!("WILLPAY#{will_id}#")))
            .send()
            .await?;
        let mut payments: Vec<WillPayment> = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        payments.sort_by_key(|p| std::cmp::Reverse(p.completed_at));
        Ok(payments)
    }
}
