//! Billing catalogue, sales leads and the Stripe customer of an account.
//!
//! - `CATALOGUE#BILLING` / `PLAN#<plan>`: one item per plan (prices, Stripe price ids,
//!   limits, feature defaults) — the plans list is one Query (pattern 10; functions
//!   hold it in memory, `app::catalogue`); account overrides live on the account item. `CATALOGUE#BILLING` /
//!   `VERSION` is the catalogue's version (see `catalogue.rs`).
//! - `LEAD#<lowercased email>` / `LEAD#<created_at>#<id>`: sales leads by email (13).
//! - The subscription item (`ACCOUNT#<id>` / `SUBSCRIPTION`) carries the account's one
//!   open subscription Checkout (`open_checkout`), replaced conditionally.
//! - The account item carries `stripe_customer_id` and `gsi2pk = STRIPECUSTOMER#<id>`
//!   (pattern 9), set once by a conditional update.

use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::{ACCOUNT_SK, SUBSCRIPTION_SK, account_pk};
use super::{Store, from_item, is_conditional_failure, item, item_value, key, s, written};
use domain::account::{OpenCheckout, Subscription};
use domain::billing::Plan;

const CATALOGUE_PK: &str = "CATALOGUE#BILLING";

fn plan_sk(plan: &str) -> String {
    format!("PLAN#{plan}")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SalesLead {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
    pub team_size: Option<String>,
    pub message: Option<String>,
    pub source: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Writes one plan, then raises the billing catalogue's version.
    pub async fn put_plan(&self, plan: &Plan) -> anyhow::Result<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item(CATALOGUE_PK, &plan_sk(&plan.plan), plan)?)).send().await?;
        self.raise_catalogue_version(super::catalogue::CatalogueName::Billing).await
    }

    /// Every plan of the catalogue (one Query).
    pub async fn plans(&self) -> anyhow::Result<Vec<Plan>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :plan)")
            .expression_attribute_values(":pk", s(CATALOGUE_PK))
            .expression_attribute_values(":plan", s("PLAN#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// Records the account's open subscription Checkout, on the condition that the
    /// one recorded is still `previous` (the session id read before). False when a
    /// concurrent checkout recorded another first.
    pub async fn set_open_checkout(&self, account_id: &str, open: &OpenCheckout, previous: Option<&str>) -> anyhow::Result<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), SUBSCRIPTION_SK)))
            .update_expression("SET open_checkout = :open")
            .expression_attribute_values(":open", item_value(open)?);
        request = match previous {
            Some(previous) => request
                .condition_expression("attribute_exists(pk) AND open_checkout.session_id = :previous")
                .expression_attribute_values(":previous", s(previous)),
            None => request.condition_expression("attribute_exists(pk) AND attribute_not_exists(open_checkout)"),
        };
        written(request.send().await)
    }

    /// Forgets the open subscription Checkout once it completed (if it is still the
    /// one recorded), so a later checkout opens a new session.
    pub async fn clear_open_checkout(&self, account_id: &str, session_id: &str) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), SUBSCRIPTION_SK)))
            .update_expression("REMOVE open_checkout")
            .condition_expression("open_checkout.session_id = :session")
            .expression_attribute_values(":session", s(session_id))
            .send()
            .await;
        written(result)
    }

    /// Stores the account's Stripe customer unless it has one; returns the id that
    /// won (ours, or the one a concurrent request stored first).
    pub async fn set_stripe_customer_once(&self, account_id: &str, customer_id: &str) -> anyhow::Result<String> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), ACCOUNT_SK)))
            .update_expression("SET stripe_customer_id = :c, gsi2pk = :g, gsi2sk = :sk")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(stripe_customer_id)")
            .expression_attribute_values(":c", s(customer_id))
            .expression_attribute_values(":g", s(format!("STRIPECUSTOMER#{customer_id}")))
            .expression_attribute_values(":sk", s(ACCOUNT_SK))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(customer_id.to_owned()),
            Err(err) if is_conditional_failure(&err) => self
                .account(account_id)
                .await?
                .and_then(|a| a.stripe_customer_id)
                .ok_or_else(|| anyhow::anyhow!("account {account_id} vanished")),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn put_sales_lead(&self, lead: &SalesLead) -> anyhow::Result<()> {
        let sk = format!("LEAD#{}#{}", lead.created_at.to_rfc3339(), lead.id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&format!("LEAD#{}", lead.email.to_lowercase()), &sk, lead)?))
            .send()
            .await?;
        Ok(())
    }

    pub async fn sales_leads_by_email(&self, email: &str) -> anyhow::Result<Vec<SalesLead>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("LEAD#{}", email.to_lowercase())))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}

/// One page of the pilot backfill's paginated Scan over account items (the one
/// Scan in the project: an operator command, never a request path).
pub struct AccountPage {
    pub account_ids: Vec<String>,
    /// Where the scan stopped (its last evaluated key, as JSON); None at the end.
    pub resume_after: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ScanKey {
    pk: String,
    sk: String,
}

const CHECKPOINT_PK: &str = "OPS#pilot-backfill";
const CHECKPOINT_SK: &str = "CHECKPOINT";

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    resume_after: String,
}

impl Store {
    /// One page of the pilot backfill's Scan (the one Scan in the code: an operator
    /// command, never a request path). `Limit` counts every item evaluated, of any
    /// type, and DynamoDB returns partitions in hash order, so a page may end on any
    /// item: the resume point is the scan's own `LastEvaluatedKey`, whatever it names.
    pub async fn account_page(&self, resume_after: Option<&str>, page_size: i32) -> anyhow::Result<AccountPage> {
        let start = resume_after.map(|token| serde_json::from_str::<ScanKey>(token).map(|k| key(&k.pk, &k.sk))).transpose()?;
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("sk = :account")
            .expression_attribute_values(":account", s(ACCOUNT_SK))
            .projection_expression("id")
            .limit(page_size)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let account_ids =
            output.items.unwrap_or_default().into_iter().filter_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned()).collect();
        let text = |k: &super::Item, name: &str| k.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let resume_after =
            output.last_evaluated_key.map(|k| serde_json::to_string(&ScanKey { pk: text(&k, "pk"), sk: text(&k, "sk") })).transpose()?;
        Ok(AccountPage { account_ids, resume_after })
    }

    /// Gives the account a complimentary subscription unless it is canceled, past
    /// due or complimentary already (checked in the write's condition). Returns
    /// whether it changed anything.
    pub async fn grant_complimentary(&self, subscription: &Subscription) -> anyhow::Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&account_pk(&subscription.account_id), SUBSCRIPTION_SK, subscription)?))
            .condition_expression("attribute_not_exists(pk) OR NOT (#status IN (:canceled, :past_due, :complimentary))")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":canceled", s("canceled"))
            .expression_attribute_values(":past_due", s("past_due"))
            .expression_attribute_values(":complimentary", s("complimentary"))
            .send()
            .await;
        written(result)
    }

    pub async fn backfill_checkpoint(&self) -> anyhow::Result<Option<String>> {
        Ok(self.get::<Checkpoint>(CHECKPOINT_PK, CHECKPOINT_SK).await?.map(|c| c.resume_after))
    }

    pub async fn save_backfill_checkpoint(&self, resume_after: Option<&str>) -> anyhow::Result<()> {
        match resume_after {
            Some(after) => {
                let checkpoint = Checkpoint { resume_after: after.to_owned() };
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item(CHECKPOINT_PK, CHECKPOINT_SK, &checkpoint)?))
                    .send()
                    .await?;
            }
            None => {
                self.client.delete_item().table_name(&self.table).set_key(Some(key(CHECKPOINT_PK, CHECKPOINT_SK))).send().await?;
            }
        }
        Ok(())
    }
}
