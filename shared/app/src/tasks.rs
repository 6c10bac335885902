//! Tasks of a petition: reading and filling them in, submitting (which unlocks the
//! tasks waiting on it), paid upgrades, and the worker's side — applying the task
//! effects of acquired benefits, exactly once per (petition, benefit, model).

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::orders::{Opened, OrdersError};
use crate::retry::until_settled;
use crate::state::AppState;
use adapters::store::petitions::PetitionRecord;
use domain::Invalid;
use domain::account::{Caller, NotAllowed, Permission};
use domain::json_bounds;
use domain::order::{self, Delivery, Order, OrderItem, RefundReason};
use domain::petition::{self, DataDirection, Petition, Task, TaskData, TaskEffect, TaskMessage, TaskModel, TaskStatus};

/// Bounds one PATCH to one DynamoDB transaction (100 items, one is the task).
const MAX_PATCH_KEYS: usize = 50;
/// Largest value of one data key, as JSON (each row is its own DynamoDB item).
const MAX_VALUE_BYTES: usize = 16 * 1024;

/// What task use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum TasksError {
    /// No such petition or task in the caller's account.
    #[error("no such resource")]
    NotFound,
    #[error("the task is not with the client")]
    NotEditable { status: TaskStatus },
    #[error("the task changed while this request ran; try again")]
    ChangedMeanwhile,
    #[error("{0}")]
    InvalidUpgrade(&'static str),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Order(#[from] OrdersError),
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type TasksResult<T> = Result<T, TasksError>;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: Task,
    pub data: Vec<TaskData>,
}

/// The caller's account's tasks of one petition (one Query).
pub async fn list(state: &AppState, caller: &Caller, petition_id: &str) -> TasksResult<Vec<Task>> {
    let (_, record) = crate::petitions::owned_record(state, &caller.account_id, petition_id).await?.ok_or(TasksError::NotFound)?;
    Ok(record.tasks)
}

/// A task with its data, or 404 for a malformed, unknown or other account's id
/// (one Query).
async fn owned_task(state: &AppState, account_id: &str, task_id: &str) -> TasksResult<TaskDetail> {
    let petition_id = petition::petition_of_task(task_id).ok_or(TasksError::NotFound)?;
    match state.store.task_with_data(petition_id, task_id).await? {
        Some((task, data)) if task.account_id == account_id => Ok(TaskDetail { task, data }),
        _ => Err(TasksError::NotFound),
    }
}

pub async fn get(state: &AppState, caller: &Caller, task_id: &str) -> TasksResult<TaskDetail> {
    owned_task(state, &caller.account_id, task_id).await
}

fn not_editable(status: TaskStatus) -> TasksError {
    TasksError::NotEditable { status }
}

/// Fills in input values: only the model's input keys, only while the task is with
/// the client (OPEN or RETURNED_TO_CLIENT move to IN_PROGRESS_CLIENT). One Query and
/// one transaction (task + data rows) per attempt.
pub async fn patch_data(state: &AppState, caller: &Caller, task_id: &str, values: Map<String, Value>) -> TasksResult<TaskDetail> {
    caller.require(Permission::EditTasks)?;
    let account_id = caller.account_id.as_str();
    if values.is_empty() || values.len() > MAX_PATCH_KEYS {
        return Err(Invalid::field("body", format!("give between 1 and {MAX_PATCH_KEYS} keys")).into());
    }
    for (key, value) in &values {
        json_bounds::check(key, value, MAX_VALUE_BYTES).map_err(Invalid::from)?;
    }
    let values = &values;
    until_settled(
        move || async move {
            let TaskDetail { mut task, data } = owned_task(state, account_id, task_id).await?;
            let unknown: Vec<(String, String)> = values
                .keys()
                .filter(|key| !data.iter().any(|row| &row.key == *key && row.direction == DataDirection::Input))
                .map(|key| (key.clone(), "not an input of this task".to_owned()))
                .collect();
            if !unknown.is_empty() {
                return Err(Invalid(unknown).into());
            }
            let seen = task.updated_at;
            task.fill(Utc::now()).map_err(not_editable)?;
            let changes: Vec<(String, Value)> = values.clone().into_iter().collect();
            if !state.store.save_task(&task, seen, &changes, &[]).await? {
                return Ok(None);
            }
            let data =
                data.into_iter().map(|row| TaskData { value: values.get(&row.key).cloned().unwrap_or(row.value.clone()), ..row }).collect();
            Ok(Some(TaskDetail { task, data }))
        },
        || TasksError::ChangedMeanwhile,
    )
    .await
}

/// Hands the task in: every input filled, task with the client. Then opens the tasks
/// that were waiting on it.
pub async fn submit(state: &AppState, caller: &Caller, task_id: &str) -> TasksResult<TaskDetail> {
    caller.require(Permission::EditTasks)?;
    let account_id = caller.account_id.as_str();
    until_settled(
        move || async move {
            let TaskDetail { mut task, data } = owned_task(state, account_id, task_id).await?;
            let seen = task.updated_at;
            task.submit(Utc::now()).map_err(not_editable)?;
            let missing: Vec<(String, String)> = data
                .iter()
                .filter(|row| row.direction == DataDirection::Input && row.value.is_null())
                .map(|row| (row.key.clone(), "required before submitting".to_owned()))
                .collect();
            if !missing.is_empty() {
                return Err(Invalid(missing).into());
            }
            if !state.store.save_task(&task, seen, &[], &[]).await? {
                return Ok(None);
            }
            unlock_ready(state, &task.petition_id).await?;
            Ok(Some(TaskDetail { task, data }))
        },
        || TasksError::ChangedMeanwhile,
    )
    .await
}

/// Opens every locked task whose prerequisites are done. Both sides of a race call
/// it after their own write (a submit, a task creation), so one of them sees both.
async fn unlock_ready(state: &AppState, petition_id: &str) -> anyhow::Result<()> {
    let record = state.store.petition_record(petition_id).await?;
    for task in petition::unlockable(&record.tasks) {
        let mut task = task.clone();
        if task.unlock(Utc::now()).is_ok() {
            state.store.save_task_status(&task, TaskStatus::Locked).await?;
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeOffer {
    pub task_model_id: String,
    pub name: String,
    pub description: String,
    pub cost_cents: i64,
    pub additional_cost_cents: i64,
}

async fn model(state: &AppState, task_model_id: &str) -> anyhow::Result<TaskModel> {
    state.catalogues.task_model(&state.store, task_model_id).await?.ok_or_else(|| anyhow::anyhow!("task model {task_model_id} is missing"))
}

/// Same preset, higher cost, while the task is with the client. Round trips: one
/// Query (task); its model and the preset's models from the catalogue held in memory
/// (a GetItem and a Query on GSI1 when not held).
pub async fn available_upgrades(state: &AppState, caller: &Caller, task_id: &str) -> TasksResult<Vec<UpgradeOffer>> {
    let TaskDetail { task, .. } = owned_task(state, &caller.account_id, task_id).await?;
    let current = model(state, &task.task_model_id).await?;
    let candidates = state.catalogues.task_models_of_preset(&state.store, &current.document_type_preset_id).await?;
    Ok(candidates
        .iter()
        .cloned()
        .filter_map(|target| {
            let additional_cost_cents = petition::upgrade_cost(task.status, &current, &target).ok()?;
            Some(UpgradeOffer {
                task_model_id: target.id,
                name: target.name,
                description: target.description,
                cost_cents: target.cost_cents,
                additional_cost_cents,
            })
        })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeInput {
    pub task_model_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeStarted {
    pub order_id: String,
    pub amount_cents: i64,
    /// None when nothing was owed and the upgrade was applied at once.
    pub checkout_url: Option<String>,
}

/// Opens payment of the cost difference (Order `task_upgrade`).
pub async fn start_upgrade(state: &AppState, caller: &Caller, task_id: &str, input: UpgradeInput) -> TasksResult<UpgradeStarted> {
    caller.require(Permission::Buy)?;
    let TaskDetail { task, .. } = owned_task(state, &caller.account_id, task_id).await?;
    let current = model(state, &task.task_model_id).await?;
    let target =
        state.catalogues.task_model(&state.store, &input.task_model_id).await?.ok_or(TasksError::InvalidUpgrade("no such task model"))?;
    let amount = petition::upgrade_cost(task.status, &current, &target).map_err(|refusal| TasksError::InvalidUpgrade(refusal.message()))?;
    let item = OrderItem::TaskUpgrade(order::TaskUpgrade {
        petition_id: task.petition_id.clone(),
        task_id: task.id.clone(),
        from_task_model_id: current.id.clone(),
        to_task_model_id: target.id.clone(),
    });
    let description = format!("Upgrade to {}", target.name);
    match crate::orders::start_checkout(state, caller, item, amount, &description).await? {
        Opened::Payment(started) => {
            Ok(UpgradeStarted { order_id: started.order_id, amount_cents: started.total_cents, checkout_url: started.checkout_url })
        }
        Opened::Free(_) => Err(anyhow::anyhow!("an upgrade always costs the difference").into()),
    }
}

/// Switches a task to another model, keeping its data and adding placeholders for
/// the new model's extra keys; false when the task changed meanwhile.
async fn switch(
    state: &AppState,
    mut task: Task,
    data: &[TaskData],
    (from, to): (&TaskModel, &TaskModel),
    by_order: Option<&str>,
) -> anyhow::Result<bool> {
    let seen = task.updated_at;
    petition::switch_model(&mut task, from, to, by_order, Utc::now());
    let new_rows: Vec<TaskData> = petition::placeholders(to).into_iter().filter(|row| !data.iter().any(|d| d.key == row.key)).collect();
    state.store.save_task(&task, seen, &[], &new_rows).await
}

/// Delivers a paid upgrade after checking it still holds: the task is still on the
/// model it was priced from and still with the client. Otherwise (a rival order or a
/// benefit got there first, the task moved on) the payment is refunded.
pub(crate) async fn deliver_upgrade(state: &AppState, order: &Order, ordered: &order::TaskUpgrade) -> anyhow::Result<Delivery> {
    let refused = |reason| Ok(Some(Delivery::Refused { reason, refund_cents: order.amount_cents }));
    let (from, to) = (&model(state, &ordered.from_task_model_id).await?, &model(state, &ordered.to_task_model_id).await?);
    until_settled(
        move || async move {
            let Some((task, data)) = state.store.task_with_data(&ordered.petition_id, &ordered.task_id).await? else {
                return refused(RefundReason::NoLongerDeliverable);
            };
            if task.task_model_id == to.id {
                return match task.upgrade_order_id.as_deref() == Some(order.id.as_str()) {
                    true => Ok(Some(Delivery::Delivered)), // a retried delivery
                    false => refused(RefundReason::AlreadyDelivered),
                };
            }
            if task.task_model_id != from.id || petition::upgrade_cost(task.status, from, to).is_err() {
                return refused(RefundReason::NoLongerDeliverable);
            }
            Ok(switch(state, task, &data, (from, to), Some(&order.id)).await?.then_some(Delivery::Delivered))
        },
        || anyhow::anyhow!("task {} kept changing during its upgrade", ordered.task_id),
    )
    .await
}

/// Applies one queue message. Idempotent: an added task has a deterministic id and a
/// conditional put; an upgrade effect does nothing once the task is on its model.
/// Err leaves the message on the queue (retried, then dead-lettered). Round trips for
/// an added task: the petition's collection (one Query), the task's creation (one
/// transaction), and when the task waits on a prerequisite the collection again (to
/// open it if the prerequisite was done meanwhile); the model from the catalogue held
/// in memory (one GetItem when not held).
pub async fn apply(state: &AppState, message: &TaskMessage) -> anyhow::Result<()> {
    let record = state.store.petition_record(&message.petition_id).await?;
    let petition = record.petition.clone().ok_or_else(|| anyhow::anyhow!("unknown petition"))?;
    match &message.effect {
        TaskEffect::AddTask { task_model_id } => {
            add_task(state, &petition, &record.tasks, &message.benefit_id, &model(state, task_model_id).await?).await
        }
        TaskEffect::UpgradeTask { document_type_preset_id, task_model_id } => {
            upgrade_task(state, &petition, record, document_type_preset_id, &model(state, task_model_id).await?).await
        }
    }
}

/// Creates the benefit's task, from the petition's tasks as read.
async fn add_task(state: &AppState, petition: &Petition, tasks: &[Task], benefit_id: &str, model: &TaskModel) -> anyhow::Result<()> {
    let task = Task::new(petition, benefit_id, Some(benefit_id), model, &petition::done_presets(tasks), Utc::now());
    if state.store.create_task(&task, &petition::placeholders(model)).await? {
        tracing::info!(task_id = %task.id, task_model_id = %model.id, "task created");
        crate::metrics::tasks_created(1);
        // A prerequisite done after our read: its submit did not see this task, so we
        // open it. An open task unlocks nothing (it is not done), so it needs no look.
        if task.status == TaskStatus::Locked {
            unlock_ready(state, &petition.id).await?;
        }
    }
    Ok(())
}

/// The free upgrade of a benefit. The task it upgrades may not exist yet (its own
/// message may come later): Err, so SQS redelivers this one after the visibility
/// timeout; a petition that never gets such a task dead-letters it. `record` is the
/// petition's collection as read; a lost race reads it again.
async fn upgrade_task(
    state: &AppState,
    petition: &Petition,
    record: PetitionRecord,
    preset_id: &str,
    to: &TaskModel,
) -> anyhow::Result<()> {
    let mut read = Some(record);
    until_settled(
        move || {
            let read = read.take();
            async move {
                let mut record = match read {
                    Some(record) => record,
                    None => state.store.petition_record(&petition.id).await?,
                };
                let Some(task) = record.tasks.iter().find(|t| t.document_type_preset_id == preset_id).cloned() else {
                    anyhow::bail!("petition has no task of preset {preset_id} yet");
                };
                if task.task_model_id == to.id || task.status.is_done() {
                    return Ok(Some(()));
                }
                let from = model(state, &task.task_model_id).await?;
                if from.cost_cents >= to.cost_cents {
                    return Ok(Some(())); // already on an equal or better model
                }
                let data = record.data.remove(&task.id).unwrap_or_default();
                Ok(switch(state, task, &data, (&from, to), None).await?.then_some(()))
            }
        },
        || anyhow::anyhow!("the task kept changing during a benefit's upgrade"),
    )
    .await
}
