//! Petitions (patterns 15–17). Each petition is one item collection holding
//! everything about it, so "petition with its benefits and tasks" is one Query:
//!
//! | item              | pk               | sk                          | gsi1pk / gsi1sk                        |
//! |-------------------|------------------|-----------------------------|----------------------------------------|
//! | Petition          | `PETITION#<id>`  | `PETITION`                  | `ACCOUNT#<account>` / `PETITION#<created>` |
//! | Benefit (unique)  | `PETITION#<id>`  | `BENEFIT#<benefit>`         | —                                      |
//! | Task              | `PETITION#<id>`  | `TASK#<task>`               | —                                      |
//! | Task data row     | `PETITION#<id>`  | `TASK#<task>#DATA#<key>`    | —                                      |
//!
//! A task id starts with its petition id (see `domain::petition::task_id`), so a task
//! with its data rows is one Query (`begins_with(sk, TASK#<task>)`), and the task item
//! carries its account for the tenancy check. Petitions per account: Query GSI1.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::identity::account_pk;
use super::schema::GSI1;
use super::{Item, Store, condition_failed_at, from_item, item, item_value, key, s, written};
use domain::order::Order;
use domain::petition::{Petition, PetitionBenefit, Task, TaskData, TaskStatus};

fn petition_pk(petition_id: &str) -> String {
    format!("PETITION#{petition_id}")
}

fn benefit_sk(benefit_id: &str) -> String {
    format!("BENEFIT#{benefit_id}")
}

fn task_sk(task_id: &str) -> String {
    format!("TASK#{task_id}")
}

fn data_sk(task_id: &str, key: &str) -> String {
    format!("TASK#{task_id}#DATA#{key}")
}

/// A petition's whole collection.
#[derive(Debug, Default)]
pub struct PetitionRecord {
    pub petition: Option<Petition>,
    pub benefits: Vec<PetitionBenefit>,
    pub tasks: Vec<Task>,
    /// Data rows by task id.
    pub data: BTreeMap<String, Vec<TaskData>>,
}

/// How a benefit row's conditional put went.
#[derive(Debug, PartialEq, Eq)]
pub enum BenefitClaim {
    /// Written now.
    Claimed,
    /// Written before by the same order (a retried delivery).
    AlreadyOurs,
    /// Held through another order: this one must not deliver it again.
    HeldElsewhere,
}

impl Store {
    fn new_item_write(&self, pk: &str, sk: &str, value: &impl serde::Serialize) -> anyhow::Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(pk, sk, value)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn task_items(&self, task: &Task, data: &[TaskData]) -> anyhow::Result<Vec<TransactWriteItem>> {
        let pk = petition_pk(&task.petition_id);
        let mut items = vec![self.new_item_write(&pk, &task_sk(&task.id), task)?];
        for row in data {
            items.push(self.new_item_write(&pk, &data_sk(&task.id, &row.key), row)?);
        }
        Ok(items)
    }

    /// The petition, its plan's and add-ons' benefit rows and its root form task (and,
    /// for a free checkout, its order, settled), in one transaction. False when the
    /// petition exists already (a retried delivery).
    pub async fn create_petition(
        &self,
        petition: &Petition,
        benefits: &[PetitionBenefit],
        root_task: &Task,
        root_data: &[TaskData],
        free_order: Option<&Order>,
    ) -> anyhow::Result<bool> {
        let pk = petition_pk(&petition.id);
        let mut row = item(&pk, "PETITION", petition)?;
        row.insert("gsi1pk".into(), s(account_pk(&petition.account_id)));
        row.insert("gsi1sk".into(), s(format!("PETITION#{}", petition.created_at.to_rfc3339())));
        let put = Put::builder().table_name(&self.table).set_item(Some(row)).condition_expression("attribute_not_exists(pk)").build()?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for benefit in benefits {
            items.push(self.new_item_write(&pk, &benefit_sk(&benefit.benefit_id), benefit)?);
        }
        items.extend(self.task_items(root_task, root_data)?);
        // A free order is written settled with what it bought: nothing was paid, so
        // nothing needs recording before the delivery (an order of a failed creation
        // is not written either).
        if let Some(order) = free_order {
            let put = Put::builder().table_name(&self.table).set_item(Some(super::orders::order_item(order)?)).build()?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.transact(items).await {
            Ok(_) => Ok(true),
            Err(err) => match condition_failed_at(err, format_args!("creating petition {}", petition.id))? {
                0 => Ok(false),
                item => anyhow::bail!("creating petition {}: the condition of item {item} failed", petition.id),
            },
        }
    }

    pub async fn petition(&self, petition_id: &str) -> anyhow::Result<Option<Petition>> {
        self.get(&petition_pk(petition_id), "PETITION").await
    }

    /// An account's petitions (one Query on GSI1).
    pub async fn petitions_of_account(&self, account_id: &str) -> anyhow::Result<Vec<Petition>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :petition)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":petition", s("PETITION#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// The petition's whole collection (one strongly consistent Query).
    pub async fn petition_record(&self, petition_id: &str) -> anyhow::Result<PetitionRecord> {
        self.collection(petition_id, "").await
    }

    /// One task and its data rows (one Query); None when absent.
    pub async fn task_with_data(&self, petition_id: &str, task_id: &str) -> anyhow::Result<Option<(Task, Vec<TaskData>)>> {
        let mut record = self.collection(petition_id, &task_sk(task_id)).await?;
        let data = record.data.remove(task_id).unwrap_or_default();
        Ok(record.tasks.into_iter().find(|t| t.id == task_id).map(|task| (task, data)))
    }

    async fn collection(&self, petition_id: &str, sk_prefix: &str) -> anyhow::Result<PetitionRecord> {
        let mut record = PetitionRecord::default();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(petition_pk(petition_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if !sk_prefix.is_empty() {
                query = query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(sk_prefix));
            }
            let output = query.send().await?;
            for row in output.items.unwrap_or_default() {
                let sk = row.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if sk == "PETITION" {
                    record.petition = Some(from_item(row)?);
                } else if sk.starts_with("BENEFIT#") {
                    record.benefits.push(from_item(row)?);
                } else if let Some((task_id, _)) = sk.strip_prefix("TASK#").and_then(|rest| rest.split_once("#DATA#")) {
                    record.data.entry(task_id.to_owned()).or_default().push(from_item(row)?);
                } else if sk.starts_with("TASK#") {
                    record.tasks.push(from_item(row)?);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        record.tasks.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(record)
    }

    /// Adds a benefit to a petition unless it holds it already (conditional put).
    pub async fn claim_benefit(&self, petition_id: &str, benefit: &PetitionBenefit) -> anyhow::Result<BenefitClaim> {
        let pk = petition_pk(petition_id);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&pk, &benefit_sk(&benefit.benefit_id), benefit)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if written(result)? {
            return Ok(BenefitClaim::Claimed);
        }
        let held: Option<PetitionBenefit> = self.get(&pk, &benefit_sk(&benefit.benefit_id)).await?;
        Ok(match held {
            Some(held) if held.order_id == benefit.order_id => BenefitClaim::AlreadyOurs,
            _ => BenefitClaim::HeldElsewhere,
        })
    }

    /// A new task with its placeholder rows, once: false when the task exists.
    pub async fn create_task(&self, task: &Task, data: &[TaskData]) -> anyhow::Result<bool> {
        let items = self.task_items(task, data)?;
        match self.transact(items).await {
            Ok(_) => Ok(true),
            Err(err) => match condition_failed_at(err, format_args!("creating task {}", task.id))? {
                0 => Ok(false),
                item => anyhow::bail!("creating task {}: the condition of item {item} failed", task.id),
            },
        }
    }

    /// Saves a changed task, its changed data values and its new placeholder rows in
    /// one transaction, if nobody changed the task since `seen` (optimistic
    /// concurrency). False on a lost race.
    pub async fn save_task(
        &self,
        task: &Task,
        seen: DateTime<Utc>,
        values: &[(String, serde_json::Value)],
        new_rows: &[TaskData],
    ) -> anyhow::Result<bool> {
        let pk = petition_pk(&task.petition_id);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&pk, &task_sk(&task.id), task)?))
            .condition_expression("updated_at = :seen")
            .expression_attribute_values(":seen", item_value(&seen)?)
            .build()?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for (data_key, value) in values {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(&pk, &data_sk(&task.id, data_key))))
                .update_expression("SET #value = :value")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":value", item_value(value)?)
                .build()?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for row in new_rows {
            items.push(self.new_item_write(&pk, &data_sk(&task.id, &row.key), row)?);
        }
        match self.transact(items).await {
            Ok(_) => Ok(true),
            Err(err) => condition_failed_at(err, format_args!("saving task {}", task.id)).map(|_| false),
        }
    }

    /// Writes a task's new status (`Task::unlock`'s) only if it still has `from`, so
    /// two concurrent unlocks agree.
    pub async fn save_task_status(&self, task: &Task, from: TaskStatus) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&petition_pk(&task.petition_id), &task_sk(&task.id))))
            .update_expression("SET #status = :to, updated_at = :now")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", item_value(&task.status)?)
            .expression_attribute_values(":from", item_value(&from)?)
            .expression_attribute_values(":now", item_value(&task.updated_at)?)
            .send()
            .await;
        written(result)
    }
}
