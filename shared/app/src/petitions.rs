//! Petitions: the catalogue, checkout of a petition (plan + add-ons), add-ons bought
//! later, and the two order kinds that deliver them. Tenancy: a petition is visible
//! to its account only (anyone else gets 404).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::orders::{CheckoutStarted, Opened, OrdersError};
use crate::state::AppState;
use adapters::store::petitions::{BenefitClaim, PetitionRecord};
use domain::Invalid;
use domain::account::{Caller, NotAllowed, Permission, Subscription};
use domain::billing::LimitReached;
use domain::order::{AddonPurchase, Delivery, Order, OrderItem, PetitionCheckout, RefundReason};
use domain::petition::{
    self, Benefit, BenefitSource, Petition, PetitionBenefit, PetitionPlan, Task, TaskEffect, TaskMessage, Template, TemplateCatalogue,
};

/// What petition use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum PetitionsError {
    /// No such template, plan or petition in the caller's account.
    #[error("no such resource")]
    NotFound,
    #[error("this add-on cannot be bought here")]
    AddonNotPurchasable { benefit_id: String },
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Order(#[from] OrdersError),
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type PetitionsResult<T> = Result<T, PetitionsError>;

/// More than any template offers; bounds the work one request can ask for.
const MAX_ADDONS: usize = 50;

/// Every template (the catalogue, held in memory).
pub async fn templates(state: &AppState) -> PetitionsResult<Vec<Template>> {
    Ok(state.catalogues.templates(&state.store).await?.to_vec())
}

/// A template's collection, from the catalogue held in memory (one Query when not held).
async fn template_catalogue(state: &AppState, template_id: &str) -> PetitionsResult<Arc<TemplateCatalogue>> {
    let catalogue = state.catalogues.template(&state.store, template_id).await?;
    if catalogue.template.is_none() {
        return Err(PetitionsError::NotFound);
    }
    Ok(catalogue)
}

pub async fn plans(state: &AppState, template_id: &str) -> PetitionsResult<Vec<PetitionPlan>> {
    Ok(template_catalogue(state, template_id).await?.plans.clone())
}

/// The template's add-ons minus what the plan includes.
pub async fn purchasable_addons(state: &AppState, template_id: &str, plan_id: &str) -> PetitionsResult<Vec<Benefit>> {
    let catalogue = template_catalogue(state, template_id).await?;
    let plan = catalogue.plan(plan_id).ok_or(PetitionsError::NotFound)?;
    Ok(catalogue.purchasable_addons(plan).into_iter().cloned().collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionCheckoutInput {
    pub template_id: String,
    pub plan_id: String,
    #[serde(default)]
    pub addon_benefit_ids: Vec<String>,
}

fn not_purchasable(benefit_id: String) -> PetitionsError {
    PetitionsError::AddonNotPurchasable { benefit_id }
}

fn check_count(field: &str, ids: &[String]) -> PetitionsResult<()> {
    if ids.len() > MAX_ADDONS {
        return Err(Invalid::field(field, format!("at most {MAX_ADDONS} add-ons")).into());
    }
    Ok(())
}

/// Prices plan + add-ons on the server and opens payment (Order `petition_checkout`).
/// `subscription` as the request read it (its plan's monthly limit applies). Round
/// trips: one Query (this month's petitions), then as `orders::start_checkout`; the
/// template and the plans from the catalogue held in memory. The receipt goes to the
/// caller's email as the request read it.
pub async fn initiate_checkout(
    state: &AppState,
    caller: &Caller,
    subscription: &Subscription,
    input: PetitionCheckoutInput,
) -> PetitionsResult<CheckoutStarted> {
    caller.require(Permission::Buy)?;
    check_count("addon_benefit_ids", &input.addon_benefit_ids)?;
    within_monthly_petitions(state, &caller.account_id, subscription).await?;
    let catalogue = template_catalogue(state, &input.template_id).await?;
    let template = catalogue.template.as_ref().ok_or(PetitionsError::NotFound)?;
    let plan = catalogue.plan(&input.plan_id).ok_or(PetitionsError::NotFound)?;
    let offered = catalogue.purchasable_addons(plan);
    let addons = petition::choose_addons(&offered, &input.addon_benefit_ids).map_err(not_purchasable)?;
    let total = petition::checkout_total(plan, &addons);
    let included = plan.included_benefit_ids.iter().filter_map(|id| catalogue.benefits.get(id)).cloned().collect();
    let item = OrderItem::PetitionCheckout(PetitionCheckout {
        petition_id: adapters::new_id(),
        template_id: template.id.clone(),
        plan_id: plan.id.clone(),
        root_form_task_model_id: template.root_form_task_model_id.clone(),
        included,
        addons: addons.into_iter().cloned().collect(),
    });
    let description = format!("{}, {} plan", template.name, plan.name);
    checkout(state, caller, item, total, &description).await
}

/// Opens payment of a petition purchase, or delivers it at once when it is free.
async fn checkout(state: &AppState, caller: &Caller, item: OrderItem, total: i64, description: &str) -> PetitionsResult<CheckoutStarted> {
    match crate::orders::start_checkout(state, caller, item, total, description).await? {
        Opened::Payment(started) => Ok(started),
        Opened::Free(order) => {
            match &order.item {
                // The petition's creation is one transaction: the order is written in it, settled.
                OrderItem::PetitionCheckout(item) => deliver_checkout(state, &order, item, Paid::Nothing).await?,
                OrderItem::AddonPurchase(item) => {
                    crate::orders::record_free(state, &order).await?;
                    deliver_addons(state, &order, item).await?;
                    crate::orders::settle_free(state, &order).await?;
                    Delivery::Delivered
                }
                other => return Err(anyhow::anyhow!("not a petition order: {}", other.kind()).into()),
            };
            Ok(CheckoutStarted::free(&order))
        }
    }
}

/// The account plan's `max_petitions_per_month`: petitions created since the start of
/// this calendar month (UTC) plus this one. Checked when a checkout opens.
async fn within_monthly_petitions(state: &AppState, account_id: &str, subscription: &Subscription) -> PetitionsResult<()> {
    let Some(plan) = crate::billing::plan_of(state, Some(subscription)).await? else { return Ok(()) };
    let now = Utc::now();
    let month_start = now.date_naive().with_day(1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or(now);
    let this_month = state.store.petitions_of_account(account_id).await?.iter().filter(|p| p.created_at >= month_start).count() as i64;
    Ok(plan.allows(domain::billing::MAX_PETITIONS_PER_MONTH, this_month, 1)?)
}

/// The petition and its collection when it belongs to `account_id` (one Query).
pub(crate) async fn owned_record(
    state: &AppState,
    account_id: &str,
    petition_id: &str,
) -> anyhow::Result<Option<(Petition, PetitionRecord)>> {
    let mut record = state.store.petition_record(petition_id).await?;
    Ok(match record.petition.take() {
        Some(petition) if petition.account_id == account_id => Some((petition, record)),
        _ => None,
    })
}

/// The caller's account's petitions, newest first (one Query on GSI1).
pub async fn list(state: &AppState, caller: &Caller) -> PetitionsResult<Vec<Petition>> {
    let mut petitions = state.store.petitions_of_account(&caller.account_id).await?;
    petitions.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(petitions)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PetitionDetail {
    #[serde(flatten)]
    pub petition: Petition,
    pub benefits: Vec<PetitionBenefit>,
    pub tasks: Vec<Task>,
}

/// A petition with its benefits and tasks (one Query on its collection).
pub async fn get(state: &AppState, caller: &Caller, petition_id: &str) -> PetitionsResult<PetitionDetail> {
    let (petition, record) = owned_record(state, &caller.account_id, petition_id).await?.ok_or(PetitionsError::NotFound)?;
    Ok(PetitionDetail { petition, benefits: record.benefits, tasks: record.tasks })
}

fn held(record: &PetitionRecord) -> BTreeSet<String> {
    record.benefits.iter().map(|b| b.benefit_id.clone()).collect()
}

/// The template's add-ons minus what the petition holds. Round trips: one Query on the
/// petition's collection, one on its template's.
pub async fn available_purchase_addons(state: &AppState, caller: &Caller, petition_id: &str) -> PetitionsResult<Vec<Benefit>> {
    let (petition, record) = owned_record(state, &caller.account_id, petition_id).await?.ok_or(PetitionsError::NotFound)?;
    let catalogue = template_catalogue(state, &petition.template_id).await?;
    Ok(offered_after_creation(state, &catalogue, &record).await?.into_iter().cloned().collect())
}

/// The add-ons a petition can still buy: the template's, minus those it holds, minus
/// those whose upgrade effect could no longer apply to its tasks.
async fn offered_after_creation<'a>(
    state: &AppState,
    catalogue: &'a TemplateCatalogue,
    record: &PetitionRecord,
) -> anyhow::Result<Vec<&'a Benefit>> {
    let offered = catalogue.available_purchase_addons(&held(record));
    let costs = model_costs(state, offered.iter().copied(), &record.tasks).await?;
    let cost_of = |id: &str| costs.get(id).copied().flatten();
    Ok(offered.into_iter().filter(|b| petition::upgrades_can_apply(b, &record.tasks, cost_of)).collect())
}

/// The cost of every task model an upgrade check of `benefits` needs: their targets
/// and the current models of the tasks they would upgrade, from the catalogue held in
/// memory (one GetItem per model not held; none when no benefit upgrades anything).
async fn model_costs<'a>(
    state: &AppState,
    benefits: impl Iterator<Item = &'a Benefit>,
    tasks: &[Task],
) -> anyhow::Result<std::collections::BTreeMap<String, Option<i64>>> {
    let mut costs = std::collections::BTreeMap::new();
    for effect in benefits.flat_map(|b| &b.effects) {
        if let TaskEffect::UpgradeTask { document_type_preset_id, task_model_id } = effect {
            let current = tasks.iter().filter(|t| &t.document_type_preset_id == document_type_preset_id).map(|t| &t.task_model_id);
            for id in current.chain([task_model_id]) {
                if !costs.contains_key(id) {
                    costs.insert(id.clone(), state.catalogues.task_model(&state.store, id).await?.map(|m| m.cost_cents));
                }
            }
        }
    }
    Ok(costs)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseAddonsInput {
    pub benefit_ids: Vec<String>,
}

/// Add-ons for an existing petition (Order `addon_purchase`); free ones apply at once.
pub async fn purchase_addons(
    state: &AppState,
    caller: &Caller,
    petition_id: &str,
    input: PurchaseAddonsInput,
) -> PetitionsResult<CheckoutStarted> {
    caller.require(Permission::Buy)?;
    if input.benefit_ids.is_empty() {
        return Err(Invalid::field("benefit_ids", "choose at least one add-on").into());
    }
    check_count("benefit_ids", &input.benefit_ids)?;
    let (petition, record) = owned_record(state, &caller.account_id, petition_id).await?.ok_or(PetitionsError::NotFound)?;
    let catalogue = template_catalogue(state, &petition.template_id).await?;
    let offered = offered_after_creation(state, &catalogue, &record).await?;
    let addons = petition::choose_addons(&offered, &input.benefit_ids).map_err(not_purchasable)?;
    let total = addons.iter().map(|b| b.cost_cents).sum();
    let item = OrderItem::AddonPurchase(AddonPurchase { petition_id: petition.id.clone(), addons: addons.into_iter().cloned().collect() });
    checkout(state, caller, item, total, "Petition add-ons").await
}

/// One message per task effect of each benefit.
fn task_messages<'a>(petition_id: &str, benefits: impl IntoIterator<Item = &'a PetitionBenefit>) -> Vec<TaskMessage> {
    benefits
        .into_iter()
        .flat_map(|b| {
            b.effects.iter().map(|effect| TaskMessage {
                petition_id: petition_id.to_owned(),
                benefit_id: b.benefit_id.clone(),
                effect: effect.clone(),
            })
        })
        .collect()
}

/// Delivers a paid petition checkout: the petition, its benefit rows and root form
/// task in one transaction (once), then the task messages (again on a retry: the
/// worker ignores duplicates).
/// How a petition checkout was paid: at Stripe (the order is stored and settled by the
/// fulfilment), or not at all (the order is written settled with the petition).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paid {
    AtStripe,
    Nothing,
}

pub(crate) async fn deliver_checkout(state: &AppState, order: &Order, ordered: &PetitionCheckout, paid: Paid) -> anyhow::Result<Delivery> {
    let now = Utc::now();
    let petition = Petition {
        id: ordered.petition_id.clone(),
        account_id: order.account_id.clone(),
        template_id: ordered.template_id.clone(),
        plan_id: ordered.plan_id.clone(),
        order_id: order.id.clone(),
        created_at: now,
    };
    let row = |source| move |b: &Benefit| PetitionBenefit::new(b, source, &order.id, now);
    let benefits: Vec<PetitionBenefit> = (ordered.included.iter().map(row(BenefitSource::PlanIncluded)))
        .chain(ordered.addons.iter().map(row(BenefitSource::AddonPurchased)))
        .collect();
    let messages = task_messages(&petition.id, &benefits);
    // The root form's model and every model a task is added on, in one read.
    let mut wanted: Vec<String> = vec![ordered.root_form_task_model_id.clone()];
    for message in &messages {
        if let TaskEffect::AddTask { task_model_id } = &message.effect
            && !wanted.contains(task_model_id)
        {
            wanted.push(task_model_id.clone());
        }
    }
    let mut models = state.catalogues.task_models(&state.store, &wanted).await?;
    if let Some(missing) = wanted.iter().find(|id| !models.contains_key(*id)) {
        anyhow::bail!("task model {missing} is missing");
    }
    // Bought together, a task and its upgrade: the task is created on its final model.
    let root_preset = models[&ordered.root_form_task_model_id].document_type_preset_id.clone();
    let (messages, upgraded_root) =
        petition::fold_upgrades(messages, &root_preset, |id| models.get(id).map(|m| m.document_type_preset_id.clone()));
    let root_id = upgraded_root.unwrap_or_else(|| ordered.root_form_task_model_id.clone());
    let root_model = match models.remove(&root_id) {
        Some(model) => model,
        None => {
            state.catalogues.task_model(&state.store, &root_id).await?.ok_or_else(|| anyhow::anyhow!("task model {root_id} is missing"))?
        }
    };
    let root_task = Task::new(&petition, petition::ROOT_FORM_ORIGIN, None, &root_model, &BTreeSet::new(), now);
    let free_order = (paid == Paid::Nothing).then(|| order.settled_free(now));
    let created =
        state.store.create_petition(&petition, &benefits, &root_task, &petition::placeholders(&root_model), free_order.as_ref()).await?;
    if created && let Some(order) = &free_order {
        crate::orders::count_free(order);
    }
    state.queue.send(&messages).await?;
    Ok(Delivery::Delivered)
}

/// Delivers add-ons bought after creation: each benefit row by conditional put, so a
/// benefit is never held twice; one already held through another order is refunded
/// (the rest is delivered).
pub(crate) async fn deliver_addons(state: &AppState, order: &Order, ordered: &AddonPurchase) -> anyhow::Result<Delivery> {
    let now = Utc::now();
    let record = state.store.petition_record(&ordered.petition_id).await?;
    let costs = model_costs(state, ordered.addons.iter(), &record.tasks).await?;
    let cost_of = |id: &str| costs.get(id).copied().flatten();
    let mut delivered = Vec::new();
    // What goes back to the customer, with the first reason met.
    let mut refused: Option<(RefundReason, i64)> = None;
    for addon in &ordered.addons {
        let row = PetitionBenefit::new(addon, BenefitSource::AddonPurchasedPostCreation, &order.id, now);
        let ours = record.benefits.iter().any(|b| b.benefit_id == addon.id && b.order_id == order.id);
        // Checked before a first claim only: once delivered, the upgrade has applied.
        if !ours && !petition::upgrades_can_apply(addon, &record.tasks, cost_of) {
            refused.get_or_insert((RefundReason::NoLongerDeliverable, 0)).1 += addon.cost_cents;
            continue;
        }
        match state.store.claim_benefit(&ordered.petition_id, &row).await? {
            BenefitClaim::Claimed | BenefitClaim::AlreadyOurs => delivered.push(row),
            BenefitClaim::HeldElsewhere => refused.get_or_insert((RefundReason::AlreadyDelivered, 0)).1 += addon.cost_cents,
        }
    }
    state.queue.send(&task_messages(&ordered.petition_id, &delivered)).await?;
    Ok(match refused {
        None => Delivery::Delivered,
        Some((reason, refund_cents)) => Delivery::Refused { reason, refund_cents },
    })
}
