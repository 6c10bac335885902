//! Orders: `ORDER#<id>` / `ORDER` (pattern 12, by id), with `gsi1pk = ACCOUNT#<id>`,
//! `gsi1sk = ORDER#<created>` for an account's orders. Status moves from `pending`
//! once, by conditional update.

use chrono::{DateTime, Utc};

use super::identity::account_pk;
use super::{Store, item, key, s, written};
use crate::domain::order::{Order, OrderStatus};

const ORDER_SK: &str = "ORDER";

fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

impl Store {
    pub async fn put_order(&self, order: &Order) -> anyhow::Result<()> {
        let mut item = item(&order_pk(&order.id), ORDER_SK, order)?;
        item.insert("gsi1pk".into(), s(account_pk(&order.account_id)));
        item.insert("gsi1sk".into(), s(format!("ORDER#{}", order.created_at.to_rfc3339())));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).condition_expression("attribute_not_exists(pk)").send().await?;
        Ok(())
    }

    pub async fn order(&self, order_id: &str) -> anyhow::Result<Option<Order>> {
        self.get(&order_pk(order_id), ORDER_SK).await
    }

    /// Moves a pending order to `status`; false when it had left `pending` already.
    pub async fn settle_order(
        &self,
        order_id: &str,
        status: OrderStatus,
        payment_reference: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&order_pk(order_id), ORDER_SK)))
            .update_expression("SET #status = :status, payment_reference = :reference, fulfilled_at = :now")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(status)?)
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":reference", s(payment_reference))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .send()
            .await;
        written(result)
    }
}
