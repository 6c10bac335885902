//! Wills live in their owner's item collection (pattern 18): `USER#<user>` /
//! `WILL#<id>` — reading by (caller, id) is the tenancy check, and a user's wills are
//! one Query. Payments: `USER#<user>` / `WILLPAY#<will>#<order id>` (pattern 19), one
//! per order by conditional put.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::identity::user_pk;
use super::{Store, from_item, item, key, n, s, written};
use domain::will::{Will, WillStatus};

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
        self.put_new(item(&user_pk(&will.user_id), &will_sk(&will.id), will)?).await
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
