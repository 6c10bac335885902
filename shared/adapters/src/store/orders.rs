//! Orders: `ORDER#<id>` / `ORDER` (pattern 12, by id), with `gsi1pk = ACCOUNT#<id>`,
//! `gsi1sk = ORDER#<created>#<id>` for an account's orders, newest first.
//!
//! Open purchases: `ACCOUNT#<id>` / `PURCHASE#<purchase key>` names the latest order
//! of one purchasable thing (`OrderItem::purchase_key`) and when its Checkout session
//! stops taking payment. It is written in the same transaction as the order, on the
//! condition that it is absent or names an order the caller found settled or
//! expired; so two concurrent checkouts of one thing open one order between them.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::account_pk;
use super::{Item, Store, first_condition_failed, from_item, item, item_value, key, n, s, written};
use domain::order::{Order, OrderStatus, Refund, Transition};

pub(crate) const ORDER_SK: &str = "ORDER";

pub(crate) fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

fn purchase_sk(purchase_key: &str) -> String {
    format!("PURCHASE#{purchase_key}")
}

/// The order item with its place in the account's list.
pub(super) fn order_item(order: &Order) -> anyhow::Result<Item> {
    let mut order_item = item(&order_pk(&order.id), ORDER_SK, order)?;
    order_item.insert("gsi1pk".into(), s(account_pk(&order.account_id)));
    order_item.insert("gsi1sk".into(), s(format!("ORDER#{}#{}", order.created_at.to_rfc3339(), order.id)));
    Ok(order_item)
}

/// The latest order of one purchasable thing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenPurchase {
    pub order_id: String,
    /// After this the order's Checkout session takes no payment.
    pub expires_at: DateTime<Utc>,
}

/// One page of an account's orders and where the next starts.
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next: Option<String>,
}

impl Store {
    /// Stores a new order with its open purchase, unless another checkout of the same
    /// thing got there first: Ok(false). `replacing` is the order the caller found
    /// settled or expired under that purchase (None when there was none).
    pub async fn put_order(&self, order: &Order, open: &OpenPurchase, replacing: Option<&str>) -> anyhow::Result<bool> {
        let put_order = Put::builder()
            .table_name(&self.table)
            .set_item(Some(order_item(order)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let mut purchase = item(&account_pk(&order.account_id), &purchase_sk(&order.item.purchase_key()), open)?;
        // Gone by itself a day after its session (DynamoDB's TTL), checked on read meanwhile.
        purchase.insert(super::schema::TTL_ATTRIBUTE.into(), n(open.expires_at.timestamp() + 86_400));
        let mut put_purchase = Put::builder().table_name(&self.table).set_item(Some(purchase));
        put_purchase = match replacing {
            Some(old) => put_purchase.condition_expression("order_id = :old").expression_attribute_values(":old", s(old)),
            None => put_purchase.condition_expression("attribute_not_exists(pk)"),
        };
        let result = self
            .transact(vec![
                TransactWriteItem::builder().put(put_order).build(),
                TransactWriteItem::builder().put(put_purchase.build()?).build(),
            ])
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().and_then(first_condition_failed) == Some(1) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Stores an order that costs nothing (no open purchase: it is delivered at once).
    pub async fn put_free_order(&self, order: &Order) -> anyhow::Result<()> {
        self.put_new(order_item(order)?).await
    }

    pub async fn open_purchase(&self, account_id: &str, purchase_key: &str) -> anyhow::Result<Option<OpenPurchase>> {
        self.get(&account_pk(account_id), &purchase_sk(purchase_key)).await
    }

    pub async fn order(&self, order_id: &str) -> anyhow::Result<Option<Order>> {
        self.get(&order_pk(order_id), ORDER_SK).await
    }

    /// Every order in `status` (an operator's question, `ops orders list`: a Scan, never
    /// on a request path), oldest first.
    pub async fn orders_in_status(&self, status: OrderStatus) -> anyhow::Result<Vec<Order>> {
        let mut orders = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :order AND #status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":order", s(ORDER_SK))
                .expression_attribute_values(":status", item_value(&status)?)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                orders.push(from_item::<Order>(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        orders.sort_by_key(|o| o.created_at);
        Ok(orders)
    }

    /// Applies `transition` to an order, recording the payment (and refund); false when
    /// it was in none of the statuses it leaves any more (another delivery settled it).
    pub async fn settle_order(
        &self,
        order_id: &str,
        Transition { from, to }: Transition,
        payment_reference: &str,
        refund: Option<&Refund>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&order_pk(order_id), ORDER_SK)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", item_value(&to)?)
            .expression_attribute_values(":reference", s(payment_reference))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        let mut allowed = Vec::new();
        for (i, status) in from.iter().enumerate() {
            update = update.expression_attribute_values(format!(":from{i}"), item_value(status)?);
            allowed.push(format!(":from{i}"));
        }
        let mut set = "SET #status = :status, payment_reference = :reference, fulfilled_at = :now".to_owned();
        if let Some(refund) = refund {
            update = update.expression_attribute_values(":refund", item_value(refund)?);
            set.push_str(", refund = :refund");
        }
        let result = update.update_expression(set).condition_expression(format!("#status IN ({})", allowed.join(", "))).send().await;
        written(result)
    }

    /// An account's orders, newest first, `limit` at a time (one Query on GSI1),
    /// from where the previous page ended.
    pub async fn orders_of_account(&self, account_id: &str, limit: i32, after: Option<OrderCursor>) -> anyhow::Result<OrderPage> {
        let start = after.map(|cursor| cursor.0);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI1)
            .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :prefix)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":prefix", s("ORDER#"))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let orders = output.items.unwrap_or_default().into_iter().map(from_item).collect::<anyhow::Result<Vec<Order>>>()?;
        let next = output.last_evaluated_key.map(|k| encode_cursor(&k)).transpose()?;
        Ok(OrderPage { orders, next })
    }
}

/// Where a page of an account's orders starts: the index's last evaluated key, handed
/// to clients as URL-safe base64 of its JSON.
pub struct OrderCursor(Item);

impl OrderCursor {
    /// A cursor of this account's order list, or None for anything else (a client
    /// cannot page through another account's orders by editing one).
    pub fn parse(account_id: &str, cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let plain: std::collections::BTreeMap<String, String> = serde_json::from_slice(&bytes).ok()?;
        let names_ok = plain.keys().map(String::as_str).eq(["gsi1pk", "gsi1sk", "pk", "sk"]);
        let ours = plain.get("gsi1pk") == Some(&account_pk(account_id)) && plain["gsi1sk"].starts_with("ORDER#");
        (names_ok && ours).then(|| OrderCursor(plain.into_iter().map(|(name, value)| (name, AttributeValue::S(value))).collect()))
    }
}

fn encode_cursor(key: &Item) -> anyhow::Result<String> {
    let plain: std::collections::BTreeMap<&str, &str> =
        key.iter().filter_map(|(name, value)| value.as_s().ok().map(|v| (name.as_str(), v.as_str()))).collect();
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain)?))
}
