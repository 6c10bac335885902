//! Wills live in their owner's item collection (pattern 18): `USER#<user>` /
//! `WILL#<id>` — reading by (caller, id) is the tenancy check, and a user's wills are
//! one Query. Payments: `USER#<user>` / `WILLPAY#<will>#<order id>` (pattern 19), one
//! per order by conditional put.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::identity::user_pk;
use super::{Store, first_condition_failed, from_item, item, key, n, s, written};
use crate::domain::will::{Will, WillStatus};

fn will_sk(will_id: &str) -> String {
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

    pub async fn create_will(&self, will: &Will) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&user_pk(&will.user_id), &will_sk(&will.id), will)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await?;
        Ok(())
    }

    /// Replaces the will if nobody changed it since `seen_updated_at` (optimistic
    /// concurrency for the wizard's read-modify-write). False on a lost race.
    pub async fn save_will(&self, will: &Will, seen_updated_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&user_pk(&will.user_id), &will_sk(&will.id), will)?))
            .condition_expression("updated_at = :seen")
            .expression_attribute_values(":seen", super::item_value(&seen_updated_at)?)
            .send()
            .await;
        written(result)
    }

    /// version + 1 and `generated`, only from `expected_version` while `verified`: of
    /// two concurrent regenerations one wins.
    pub async fn bump_will_version(&self, will: &Will, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(&will.user_id), &will_sk(&will.id))))
            .update_expression("SET version = :next, #status = :generated, updated_at = :now")
            .condition_expression("version = :expected AND #status = :verified")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":next", n(will.version + 1))
            .expression_attribute_values(":expected", n(will.version))
            .expression_attribute_values(":generated", super::item_value(&WillStatus::Generated)?)
            .expression_attribute_values(":verified", super::item_value(&WillStatus::Verified)?)
            .expression_attribute_values(":now", super::item_value(&now)?)
            .send()
            .await;
        written(result)
    }

    /// Records a completed payment and marks the will paid — and generated if it is
    /// verified — in one transaction. Idempotent: a payment already recorded for this
    /// order leaves everything as it is.
    pub async fn record_will_payment(&self, user_id: &str, payment: &WillPayment) -> anyhow::Result<()> {
        // Retried when the will changes between the read and the write.
        for _ in 0..3 {
            let seen = self.will(user_id, &payment.will_id).await?.ok_or_else(|| anyhow::anyhow!("payment for a missing will"))?;
            let status = match seen.status {
                WillStatus::Verified => WillStatus::Generated,
                // Edited since checkout: paid, but the user re-verifies and regenerates.
                other => other,
            };
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(&user_pk(user_id), &format!("WILLPAY#{}#{}", payment.will_id, payment.order_id), payment)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()?;
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(&user_pk(user_id), &will_sk(&payment.will_id))))
                .update_expression(
                    "SET paid_at = if_not_exists(paid_at, :at), latest_payment_id = :order, #status = :status, updated_at = :at",
                )
                .condition_expression("updated_at = :seen")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":at", super::item_value(&payment.completed_at)?)
                .expression_attribute_values(":seen", super::item_value(&seen.updated_at)?)
                .expression_attribute_values(":order", s(&payment.order_id))
                .expression_attribute_values(":status", super::item_value(&status)?)
                .build()?;
            let items = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(update).build()];
            match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
                Ok(_) => return Ok(()),
                Err(err) => match first_condition_failed(&err.into_service_error()) {
                    Some(0) => return Ok(()), // recorded before: nothing more to do
                    Some(_) => continue,
                    None => anyhow::bail!("recording the will payment failed"),
                },
            }
        }
        anyhow::bail!("the will kept changing while its payment was recorded")
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
        payments.sort_by(|a, b| b.completed_at.cmp(&a.completed_at));
        Ok(payments)
    }
}
