//! Petitions: the catalogue (templates, plans, benefits, task models) and the rules
//! over it — which add-ons can be bought, what a checkout costs, what a benefit does
//! to a petition's tasks, and how a task is created, unlocked and upgraded. No IO.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// A kind of petition; its plans and add-ons live in its catalogue collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The form every petition of this template starts with.
    pub root_form_task_model_id: String,
    /// Benefits that can be bought on top of a plan (PetitionTemplateAvailableAddons).
    pub addon_benefit_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PetitionPlan {
    pub id: String,
    /// Filled in from the enclosing template when a seed is loaded.
    #[serde(default)]
    pub template_id: String,
    pub name: String,
    pub description: String,
    pub cost_cents: i64,
    /// PlanIncludedBenefits.
    pub included_benefit_ids: Vec<String>,
}

/// What acquiring a benefit does to the petition's tasks (seed REQ-ADDON-003).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskEffect {
    /// Create a task of this model.
    AddTask { task_model_id: String },
    /// Switch the petition's task of this preset to this model (a free upgrade).
    UpgradeTask { document_type_preset_id: String, task_model_id: String },
}

impl TaskEffect {
    pub fn task_model_id(&self) -> &str {
        match self {
            TaskEffect::AddTask { task_model_id } | TaskEffect::UpgradeTask { task_model_id, .. } => task_model_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Benefit {
    pub id: String,
    pub name: String,
    pub description: String,
    pub cost_cents: i64,
    pub is_task_triggering: bool,
    /// BenefitTriggeredTaskModels: empty unless `is_task_triggering`.
    #[serde(default)]
    pub effects: Vec<TaskEffect>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    /// Stable across models of one preset, so an upgrade can keep the client's place.
    pub key: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskModel {
    pub id: String,
    pub name: String,
    pub description: String,
    pub document_type_preset_id: String,
    pub cost_cents: i64,
    pub steps: Vec<Step>,
    pub input_keys: Vec<String>,
    pub output_keys: Vec<String>,
    /// Presets whose task must be submitted first (e.g. the root form's).
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

/// Everything a seed file defines; checked whole before any of it is written.
#[derive(Clone, Debug, Deserialize)]
pub struct Catalogue {
    pub task_models: Vec<TaskModel>,
    pub benefits: Vec<Benefit>,
    pub templates: Vec<TemplateSeed>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TemplateSeed {
    #[serde(flatten)]
    pub template: Template,
    pub plans: Vec<PetitionPlan>,
}

impl Catalogue {
    /// Every reference resolves, costs are not negative, and `is_task_triggering`
    /// agrees with the effects.
    pub fn validate(&self) -> Result<(), String> {
        let models: BTreeMap<&str, &TaskModel> = self.task_models.iter().map(|m| (m.id.as_str(), m)).collect();
        let benefits: BTreeSet<&str> = self.benefits.iter().map(|b| b.id.as_str()).collect();
        let model = |id: &str, whose: &str| models.get(id).copied().ok_or(format!("{whose}: unknown task model {id:?}"));
        for m in &self.task_models {
            if m.cost_cents < 0 || m.steps.is_empty() {
                return Err(format!("task model {:?}: negative cost or no steps", m.id));
            }
        }
        for b in &self.benefits {
            if b.cost_cents < 0 || b.is_task_triggering == b.effects.is_empty() {
                return Err(format!("benefit {:?}: negative cost, or is_task_triggering disagrees with effects", b.id));
            }
            for effect in &b.effects {
                let target = model(effect.task_model_id(), &b.id)?;
                if let TaskEffect::UpgradeTask { document_type_preset_id, .. } = effect
                    && &target.document_type_preset_id != document_type_preset_id
                {
                    return Err(format!("benefit {:?}: upgrade target is not of preset {document_type_preset_id:?}", b.id));
                }
            }
        }
        for seed in &self.templates {
            let t = &seed.template;
            model(&t.root_form_task_model_id, &t.id)?;
            let referenced = t.addon_benefit_ids.iter().chain(seed.plans.iter().flat_map(|p| &p.included_benefit_ids));
            if let Some(unknown) = referenced.into_iter().find(|id| !benefits.contains(id.as_str())) {
                return Err(format!("template {:?}: unknown benefit {unknown:?}", t.id));
            }
            if let Some(plan) = seed.plans.iter().find(|p| p.cost_cents < 0) {
                return Err(format!("plan {:?}: negative cost", plan.id));
            }
            self.check_upgrades_reach_a_task(seed, &models)?;
        }
        Ok(())
    }

    /// An "upgrade the task of preset P" effect offered by a template must find such a
    /// task: P is the root form's preset or one that an add-task effect of the
    /// template's benefits creates. Otherwise a bought upgrade could never apply.
    fn check_upgrades_reach_a_task(&self, seed: &TemplateSeed, models: &BTreeMap<&str, &TaskModel>) -> Result<(), String> {
        let t = &seed.template;
        let offered: BTreeSet<&str> =
            t.addon_benefit_ids.iter().chain(seed.plans.iter().flat_map(|p| &p.included_benefit_ids)).map(String::as_str).collect();
        let effects: Vec<&TaskEffect> = self.benefits.iter().filter(|b| offered.contains(b.id.as_str())).flat_map(|b| &b.effects).collect();
        let preset_of = |id: &str| models.get(id).map(|m| m.document_type_preset_id.as_str());
        let created: BTreeSet<&str> = effects
            .iter()
            .filter_map(|e| match e {
                TaskEffect::AddTask { task_model_id } => preset_of(task_model_id),
                TaskEffect::UpgradeTask { .. } => None,
            })
            .chain(preset_of(&t.root_form_task_model_id))
            .collect();
        for effect in effects {
            if let TaskEffect::UpgradeTask { document_type_preset_id, .. } = effect
                && !created.contains(document_type_preset_id.as_str())
            {
                return Err(format!("template {:?}: an upgrade of preset {document_type_preset_id:?} finds no such task", t.id));
            }
        }
        Ok(())
    }
}

/// One template's catalogue collection: the template, its plans and every benefit
/// its plans include or it offers as an add-on.
#[derive(Clone, Debug, Default)]
pub struct TemplateCatalogue {
    pub template: Option<Template>,
    pub plans: Vec<PetitionPlan>,
    pub benefits: BTreeMap<String, Benefit>,
}

impl TemplateCatalogue {
    pub fn plan(&self, plan_id: &str) -> Option<&PetitionPlan> {
        self.plans.iter().find(|p| p.id == plan_id)
    }

    fn addons_except(&self, excluded: impl Fn(&str) -> bool) -> Vec<&Benefit> {
        let ids = self.template.iter().flat_map(|t| &t.addon_benefit_ids);
        ids.filter(|id| !excluded(id)).filter_map(|id| self.benefits.get(id)).collect()
    }

    /// REQ-ADDON-001: the template's add-ons minus the benefits the plan includes.
    pub fn purchasable_addons(&self, plan: &PetitionPlan) -> Vec<&Benefit> {
        self.addons_except(|id| plan.included_benefit_ids.iter().any(|b| b == id))
    }

    /// REQ-ADDON-POST-001: the template's add-ons minus what the petition holds.
    pub fn available_purchase_addons(&self, held: &BTreeSet<String>) -> Vec<&Benefit> {
        self.addons_except(|id| held.contains(id))
    }
}

/// Whether every "upgrade the task of preset P to model M" effect of `benefit` can
/// still take effect on a petition's `tasks`: a task of P exists, is not done, and is
/// on a model that costs less than M (`cost_of` a model id, None when unknown). An
/// add-on whose upgrade could not apply is not offered: it would be paid for nothing.
pub fn upgrades_can_apply(benefit: &Benefit, tasks: &[Task], cost_of: impl Fn(&str) -> Option<i64>) -> bool {
    benefit.effects.iter().all(|effect| match effect {
        TaskEffect::AddTask { .. } => true,
        TaskEffect::UpgradeTask { document_type_preset_id, task_model_id } => tasks.iter().any(|task| {
            &task.document_type_preset_id == document_type_preset_id
                && !task.status.is_done()
                && matches!((cost_of(&task.task_model_id), cost_of(task_model_id)), (Some(now), Some(target)) if now < target)
        }),
    })
}

/// Resolves a chosen set of add-ons against what may be bought: each id once, each
/// offered. Err names the first id that is not purchasable.
pub fn choose_addons<'a>(offered: &[&'a Benefit], chosen: &[String]) -> Result<Vec<&'a Benefit>, String> {
    let mut picked: Vec<&Benefit> = Vec::new();
    for id in chosen {
        match offered.iter().find(|b| &b.id == id) {
            Some(benefit) if !picked.iter().any(|p| &p.id == id) => picked.push(benefit),
            _ => return Err(id.clone()),
        }
    }
    Ok(picked)
}

/// Plan cost plus the chosen add-ons' costs (integer cents, computed on the server).
pub fn checkout_total(plan: &PetitionPlan, addons: &[&Benefit]) -> i64 {
    plan.cost_cents + addons.iter().map(|b| b.cost_cents).sum::<i64>()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Petition {
    pub id: String,
    pub account_id: String,
    pub template_id: String,
    pub plan_id: String,
    /// The checkout order that created it.
    pub order_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BenefitSource {
    PlanIncluded,
    AddonPurchased,
    AddonPurchasedPostCreation,
}

/// PetitionInstanceBenefits: unique per (petition, benefit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PetitionBenefit {
    pub benefit_id: String,
    pub name: String,
    pub source: BenefitSource,
    /// Set for purchased add-ons.
    pub cost_paid_cents: Option<i64>,
    pub purchase_date: Option<DateTime<Utc>>,
    /// The order that brought it (the uniqueness check tells a retry from a rival).
    pub order_id: String,
    pub effects: Vec<TaskEffect>,
}

impl PetitionBenefit {
    pub fn new(benefit: &Benefit, source: BenefitSource, order_id: &str, now: DateTime<Utc>) -> Self {
        let purchased = source != BenefitSource::PlanIncluded;
        PetitionBenefit {
            benefit_id: benefit.id.clone(),
            name: benefit.name.clone(),
            source,
            cost_paid_cents: purchased.then_some(benefit.cost_cents),
            purchase_date: purchased.then_some(now),
            order_id: order_id.to_owned(),
            effects: benefit.effects.clone(),
        }
    }
}

/// One queue message per task effect of an acquired benefit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub petition_id: String,
    pub benefit_id: String,
    pub effect: TaskEffect,
}

/// The task messages of benefits acquired together, with every upgrade of a task the
/// same purchase creates folded into that task's creation, so the task is created on
/// its final model at once (it never shows the old model, nor offers the upgrade just
/// bought). `root_preset` is the root form's preset (its task is created with the
/// petition); the returned model, if any, is the one the root form is created on.
/// `preset_of` names a task model's document type preset.
pub fn fold_upgrades(
    messages: Vec<TaskMessage>,
    root_preset: &str,
    preset_of: impl Fn(&str) -> Option<String>,
) -> (Vec<TaskMessage>, Option<String>) {
    let upgrades: BTreeMap<String, String> = messages
        .iter()
        .filter_map(|m| match &m.effect {
            TaskEffect::UpgradeTask { document_type_preset_id, task_model_id } => {
                Some((document_type_preset_id.clone(), task_model_id.clone()))
            }
            TaskEffect::AddTask { .. } => None,
        })
        .collect();
    let mut folded: BTreeSet<String> = BTreeSet::new();
    let root_model = upgrades.get(root_preset).cloned();
    if root_model.is_some() {
        folded.insert(root_preset.to_owned());
    }
    let mut messages: Vec<TaskMessage> = messages
        .into_iter()
        .map(|mut message| {
            if let TaskEffect::AddTask { task_model_id } = &mut message.effect
                && let Some(preset) = preset_of(task_model_id)
                && let Some(target) = upgrades.get(&preset)
            {
                task_model_id.clone_from(target);
                folded.insert(preset);
            }
            message
        })
        .collect();
    messages.retain(
        |m| !matches!(&m.effect, TaskEffect::UpgradeTask { document_type_preset_id, .. } if folded.contains(document_type_preset_id)),
    );
    (messages, root_model)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Locked,
    Open,
    InProgressClient,
    ReturnedToClient,
    Submitted,
    Completed,
}

impl TaskStatus {
    /// The client may edit (and upgrade) the task.
    pub fn is_with_client(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::InProgressClient | TaskStatus::ReturnedToClient)
    }

    /// Satisfies the prerequisites of tasks waiting on this one's preset.
    pub fn is_done(self) -> bool {
        matches!(self, TaskStatus::Submitted | TaskStatus::Completed)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub petition_id: String,
    pub account_id: String,
    pub task_model_id: String,
    pub document_type_preset_id: String,
    pub name: String,
    pub status: TaskStatus,
    pub current_step_number: u32,
    pub prerequisites: Vec<String>,
    /// The benefit that triggered it (None for the root form).
    pub benefit_id: Option<String>,
    /// The paid upgrade order that put the task on its current model (None when it was
    /// created on it or a benefit upgraded it): a second order for the same upgrade
    /// finds another id here and is refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_order_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// Opening a locked task (its prerequisites are done): it is then with the client.
    pub fn unlock(&mut self, now: DateTime<Utc>) -> Result<(), TaskStatus> {
        if self.status != TaskStatus::Locked {
            return Err(self.status);
        }
        self.status = TaskStatus::Open;
        self.updated_at = now;
        Ok(())
    }

    /// Client input: only while the task is with the client; it is then in progress.
    pub fn fill(&mut self, now: DateTime<Utc>) -> Result<(), TaskStatus> {
        if !self.status.is_with_client() {
            return Err(self.status);
        }
        self.status = TaskStatus::InProgressClient;
        self.updated_at = now;
        Ok(())
    }

    /// Handing the task in: only while it is with the client.
    pub fn submit(&mut self, now: DateTime<Utc>) -> Result<(), TaskStatus> {
        if !self.status.is_with_client() {
            return Err(self.status);
        }
        self.status = TaskStatus::Submitted;
        self.updated_at = now;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataDirection {
    Input,
    Output,
}

/// TaskInstanceData: one row per input/output key of the task's model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskData {
    pub key: String,
    pub direction: DataDirection,
    /// Null until filled.
    #[schema(value_type = Object, nullable)]
    pub value: Value,
}

/// Deterministic, so a redelivered message creates nothing new: the petition id, then
/// a digest of what caused the task (a benefit, or the root form) and its model. The
/// petition id prefix also locates the task's item collection.
pub fn task_id(petition_id: &str, origin: &str, task_model_id: &str) -> String {
    let digest = Sha256::digest(format!("{origin}\n{task_model_id}").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{petition_id}.{hex}")
}

/// The petition a task id belongs to (None for a malformed id).
pub fn petition_of_task(task_id: &str) -> Option<&str> {
    task_id.rsplit_once('.').map(|(petition, _)| petition).filter(|p| !p.is_empty())
}

/// Origin of the root form task in [`task_id`].
pub const ROOT_FORM_ORIGIN: &str = "root-form";

/// Presets whose tasks are done, from the petition's tasks.
pub fn done_presets(tasks: &[Task]) -> BTreeSet<String> {
    tasks.iter().filter(|t| t.status.is_done()).map(|t| t.document_type_preset_id.clone()).collect()
}

impl Task {
    /// A new task of `model`: LOCKED while a prerequisite preset is not done, else OPEN.
    pub fn new(
        petition: &Petition,
        origin: &str,
        benefit_id: Option<&str>,
        model: &TaskModel,
        done: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let locked = model.prerequisites.iter().any(|p| !done.contains(p));
        Task {
            id: task_id(&petition.id, origin, &model.id),
            petition_id: petition.id.clone(),
            account_id: petition.account_id.clone(),
            task_model_id: model.id.clone(),
            document_type_preset_id: model.document_type_preset_id.clone(),
            name: model.name.clone(),
            status: if locked { TaskStatus::Locked } else { TaskStatus::Open },
            current_step_number: 1,
            prerequisites: model.prerequisites.clone(),
            benefit_id: benefit_id.map(str::to_owned),
            upgrade_order_id: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Empty rows for every key of `model` (inputs, then outputs).
pub fn placeholders(model: &TaskModel) -> Vec<TaskData> {
    let row = |direction| move |key: &String| TaskData { key: key.clone(), direction, value: Value::Null };
    model.input_keys.iter().map(row(DataDirection::Input)).chain(model.output_keys.iter().map(row(DataDirection::Output))).collect()
}

/// Locked tasks whose prerequisites are all done now.
pub fn unlockable(tasks: &[Task]) -> Vec<&Task> {
    let done = done_presets(tasks);
    tasks.iter().filter(|t| t.status == TaskStatus::Locked && t.prerequisites.iter().all(|p| done.contains(p))).collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum UpgradeRefusal {
    NotWithClient,
    OtherPreset,
    NotMoreExpensive,
}

impl UpgradeRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            UpgradeRefusal::NotWithClient => "the task can be upgraded only while it is with the client",
            UpgradeRefusal::OtherPreset => "the target model is for another document type",
            UpgradeRefusal::NotMoreExpensive => "the target model does not cost more than the current one",
        }
    }
}

/// REQ-TASKUPG-001: same preset, higher cost, task with the client. Ok is the cost
/// difference to pay.
pub fn upgrade_cost(status: TaskStatus, current: &TaskModel, target: &TaskModel) -> Result<i64, UpgradeRefusal> {
    if !status.is_with_client() {
        return Err(UpgradeRefusal::NotWithClient);
    }
    if target.document_type_preset_id != current.document_type_preset_id {
        return Err(UpgradeRefusal::OtherPreset);
    }
    if target.cost_cents <= current.cost_cents {
        return Err(UpgradeRefusal::NotMoreExpensive);
    }
    Ok(target.cost_cents - current.cost_cents)
}

/// Moves a task to another model, keeping its data (the caller adds placeholders for
/// the new keys): the step is mapped by key or reset to 1, and a task returned to the
/// client is opened again. Used by paid upgrades and by upgrade-effect benefits alike.
pub fn switch_model(task: &mut Task, from: &TaskModel, to: &TaskModel, by_order: Option<&str>, now: DateTime<Utc>) {
    let step_key = from.steps.get(task.current_step_number.saturating_sub(1) as usize).map(|s| &s.key);
    let mapped = step_key.and_then(|key| to.steps.iter().position(|s| &s.key == key));
    task.current_step_number = mapped.map_or(1, |index| index as u32 + 1);
    task.task_model_id = to.id.clone();
    task.name = to.name.clone();
    task.prerequisites = to.prerequisites.clone();
    task.upgrade_order_id = by_order.map(str::to_owned);
    if task.status == TaskStatus::ReturnedToClient {
        task.status = TaskStatus::Open;
    }
    task.updated_at = now;
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    fn benefit(id: &str, cost_cents: i64) -> Benefit {
        Benefit { id: id.into(), name: id.into(), description: String::new(), cost_cents, is_task_triggering: false, effects: vec![] }
    }

    fn model(id: &str, preset: &str, cost_cents: i64, steps: &[&str]) -> TaskModel {
        TaskModel {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            document_type_preset_id: preset.into(),
            cost_cents,
            steps: steps.iter().map(|k| Step { key: (*k).into(), name: (*k).into() }).collect(),
            input_keys: vec!["a".into()],
            output_keys: vec![],
            prerequisites: vec!["root_form".into()],
        }
    }

    fn petition() -> Petition {
        Petition {
            id: "p".into(),
            account_id: "a".into(),
            template_id: "t".into(),
            plan_id: "basic".into(),
            order_id: "o".into(),
            created_at: Utc::now(),
        }
    }

    const DEMO_SEED: &str = include_str!("../../../infra/seed/petitions.json");

    #[test]
    fn an_upgrade_effect_must_reach_a_task_its_template_creates() {
        let mut catalogue: Catalogue = serde_json::from_str(DEMO_SEED).unwrap();
        assert_eq!(catalogue.validate(), Ok(()), "the demo catalogue");
        // A model of a preset that no template creates, and an add-on upgrading to it.
        let mut orphan = catalogue.task_models[0].clone();
        orphan.id = "orphan-model".into();
        orphan.document_type_preset_id = "never-created".into();
        catalogue.task_models.push(orphan);
        let upgrade = TaskEffect::UpgradeTask { document_type_preset_id: "never-created".into(), task_model_id: "orphan-model".into() };
        let benefit = Benefit {
            id: "dead-upgrade".into(),
            name: "Upgrade of nothing".into(),
            description: String::new(),
            cost_cents: 100,
            is_task_triggering: true,
            effects: vec![upgrade],
        };
        catalogue.benefits.push(benefit);
        assert_eq!(catalogue.validate(), Ok(()), "not offered by any template yet");
        catalogue.templates[0].template.addon_benefit_ids.push("dead-upgrade".into());
        let error = catalogue.validate().unwrap_err();
        assert!(error.contains(&catalogue.templates[0].template.id) && error.contains("finds no such task"), "{error}");
    }

    fn catalogue() -> (TemplateCatalogue, PetitionPlan) {
        let plan = PetitionPlan {
            id: "basic".into(),
            template_id: "t".into(),
            name: "Basic".into(),
            description: String::new(),
            cost_cents: 10_000,
            included_benefit_ids: vec!["review".into()],
        };
        let template = Template {
            id: "t".into(),
            name: "T".into(),
            description: String::new(),
            root_form_task_model_id: "root".into(),
            addon_benefit_ids: vec!["review".into(), "translation".into(), "support".into()],
        };
        let benefits = [benefit("review", 3000), benefit("translation", 2500), benefit("support", 1000)];
        let catalogue = TemplateCatalogue {
            template: Some(template),
            plans: vec![plan.clone()],
            benefits: benefits.into_iter().map(|b| (b.id.clone(), b)).collect(),
        };
        (catalogue, plan)
    }

    fn ids(benefits: &[&Benefit]) -> Vec<String> {
        benefits.iter().map(|b| b.id.clone()).collect()
    }

    #[test]
    fn purchasable_addons_leave_out_what_the_plan_includes() {
        let (catalogue, plan) = catalogue();
        assert_eq!(ids(&catalogue.purchasable_addons(&plan)), ["translation", "support"]);
    }

    #[test]
    fn available_addons_leave_out_what_the_petition_holds() {
        let (catalogue, _) = catalogue();
        let held = BTreeSet::from(["review".to_owned(), "support".to_owned()]);
        assert_eq!(ids(&catalogue.available_purchase_addons(&held)), ["translation"]);
    }

    #[test]
    fn total_is_plan_plus_chosen_addons_and_only_offered_addons_can_be_chosen() {
        let (catalogue, plan) = catalogue();
        let offered = catalogue.purchasable_addons(&plan);
        let chosen = choose_addons(&offered, &["translation".into(), "support".into()]).unwrap();
        assert_eq!(checkout_total(&plan, &chosen), 13_500);
        assert_eq!(checkout_total(&plan, &[]), 10_000);
        assert_eq!(choose_addons(&offered, &["review".into()]), Err("review".into()));
        assert_eq!(choose_addons(&offered, &["nope".into()]), Err("nope".into()));
        assert_eq!(choose_addons(&offered, &["support".into(), "support".into()]), Err("support".into()));
    }

    #[test]
    fn upgrades_need_same_preset_higher_cost_and_the_client_holding_the_task() {
        let current = model("self", "evidence", 0, &["s1"]);
        let assisted = model("assisted", "evidence", 15_000, &["s1"]);
        assert_eq!(upgrade_cost(TaskStatus::Open, &current, &assisted), Ok(15_000));
        assert_eq!(upgrade_cost(TaskStatus::ReturnedToClient, &current, &assisted), Ok(15_000));
        assert_eq!(upgrade_cost(TaskStatus::Open, &assisted, &current), Err(UpgradeRefusal::NotMoreExpensive));
        assert_eq!(upgrade_cost(TaskStatus::Open, &current, &current), Err(UpgradeRefusal::NotMoreExpensive));
        let other = model("translation", "translation", 50_000, &["s1"]);
        assert_eq!(upgrade_cost(TaskStatus::Open, &current, &other), Err(UpgradeRefusal::OtherPreset));
        for status in [TaskStatus::Locked, TaskStatus::Submitted, TaskStatus::Completed] {
            assert_eq!(upgrade_cost(status, &current, &assisted), Err(UpgradeRefusal::NotWithClient));
        }
    }

    #[test]
    fn switching_maps_the_step_by_key_and_reopens_a_returned_task() {
        let from = model("self", "evidence", 0, &["collect", "review"]);
        let to = model("assisted", "evidence", 15_000, &["intro", "collect", "review"]);
        let petition = petition();
        let mut task = Task::new(&petition, "b", Some("b"), &from, &BTreeSet::from(["root_form".to_owned()]), Utc::now());
        task.current_step_number = 2;
        task.status = TaskStatus::ReturnedToClient;
        switch_model(&mut task, &from, &to, Some("o1"), Utc::now());
        assert_eq!((task.task_model_id.as_str(), task.current_step_number, task.status), ("assisted", 3, TaskStatus::Open));
        let unmapped = model("other", "evidence", 20_000, &["x"]);
        switch_model(&mut task, &to, &unmapped, None, Utc::now());
        assert_eq!(task.current_step_number, 1);
    }

    #[test]
    fn tasks_wait_on_their_prerequisites() {
        let petition = petition();
        let mut root = model("root", "root_form", 0, &["s"]);
        root.prerequisites.clear();
        let waiting = model("evidence", "evidence", 0, &["s"]);
        let mut root_task = Task::new(&petition, ROOT_FORM_ORIGIN, None, &root, &BTreeSet::new(), Utc::now());
        let waiting_task = Task::new(&petition, "b", Some("b"), &waiting, &BTreeSet::new(), Utc::now());
        assert_eq!((root_task.status, waiting_task.status), (TaskStatus::Open, TaskStatus::Locked));
        assert!(unlockable(&[root_task.clone(), waiting_task.clone()]).is_empty());
        root_task.status = TaskStatus::Submitted;
        let tasks = [root_task, waiting_task];
        assert_eq!(unlockable(&tasks).iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [tasks[1].id.as_str()]);
        let mut unlocked = tasks[1].clone();
        assert_eq!(unlocked.unlock(Utc::now()), Ok(()));
        assert_eq!(unlocked.status, TaskStatus::Open);
        assert_eq!(unlocked.unlock(Utc::now()), Err(TaskStatus::Open), "only a locked task unlocks");
    }

    #[test]
    fn task_ids_are_deterministic_and_name_their_petition() {
        let id = task_id("3f1c-uuid", "benefit-1", "model-1");
        assert_eq!(id, task_id("3f1c-uuid", "benefit-1", "model-1"));
        assert_ne!(id, task_id("3f1c-uuid", "benefit-2", "model-1"));
        assert_eq!(petition_of_task(&id), Some("3f1c-uuid"));
        assert_eq!(petition_of_task("no-dot"), None);
    }

    #[test]
    fn an_upgrade_bought_with_its_task_is_folded_into_the_creation() {
        let message = |benefit: &str, effect: TaskEffect| TaskMessage { petition_id: "p".into(), benefit_id: benefit.into(), effect };
        let add = |model: &str| TaskEffect::AddTask { task_model_id: model.into() };
        let upgrade =
            |preset: &str, model: &str| TaskEffect::UpgradeTask { document_type_preset_id: preset.into(), task_model_id: model.into() };
        let preset_of = |model: &str| Some(model.split('-').next().unwrap().to_owned());
        let messages = vec![
            message("evidence-review", add("evidence-basic")),
            message("assisted-evidence", upgrade("evidence", "evidence-assisted")),
            message("form-help", upgrade("form", "form-assisted")),
            message("letters", upgrade("letters", "letters-pro")),
        ];
        let (folded, root) = fold_upgrades(messages, "form", preset_of);
        assert_eq!(root.as_deref(), Some("form-assisted"), "the root form is created upgraded");
        assert_eq!(
            folded,
            vec![message("evidence-review", add("evidence-assisted")), message("letters", upgrade("letters", "letters-pro")),],
            "an upgrade of a task created elsewhere stays a message"
        );
    }
}
