//! The petition catalogue (pattern 14). One item collection per template answers the
//! catalogue questions of a checkout in one Query:
//!
//! | item            | pk                 | sk               | gsi1pk / gsi1sk                          |
//! |-----------------|--------------------|------------------|------------------------------------------|
//! | Template        | `TEMPLATE#<id>`    | `TEMPLATE`       | `CATALOGUE#PETITION_TEMPLATES` / `<id>`  |
//! | Plan            | `TEMPLATE#<id>`    | `PLAN#<plan>`    | —                                        |
//! | Benefit (copy)  | `TEMPLATE#<id>`    | `BENEFIT#<id>`   | —                                        |
//! | Task model      | `TASKMODEL#<id>`   | `TASKMODEL`      | `PRESET#<preset>` / `<cost, 12 digits>#<id>` |
//!
//! A benefit is copied into every template collection that offers or includes it
//! (read-mostly data: loading the seed rewrites the copies). Task models of one preset
//! come back cheapest first from GSI1 — the upgrade paths.
//!
//! Each catalogue has a version, `CATALOGUE#<name>` / `VERSION` (`BILLING`, `PETITIONS`),
//! raised by every write of it *after* its items are written: a function that keeps a
//! catalogue in memory (`app::catalogue`) reads the version to know whether what it
//! holds is still current.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::schema::GSI1;
use super::{Item, Store, from_item, item, s};
use domain::petition::{Catalogue, PetitionPlan, TaskModel, Template, TemplateCatalogue};

const TEMPLATES_INDEX_KEY: &str = "CATALOGUE#PETITION_TEMPLATES";

fn template_pk(template_id: &str) -> String {
    format!("TEMPLATE#{template_id}")
}

fn task_model_pk(task_model_id: &str) -> String {
    format!("TASKMODEL#{task_model_id}")
}

/// A catalogue with a version of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogueName {
    Billing,
    Petitions,
}

impl CatalogueName {
    fn version_pk(self) -> &'static str {
        match self {
            CatalogueName::Billing => "CATALOGUE#BILLING",
            CatalogueName::Petitions => "CATALOGUE#PETITIONS",
        }
    }
}

const VERSION_SK: &str = "VERSION";

#[derive(serde::Deserialize)]
struct Version {
    version: i64,
}

impl Store {
    /// The catalogue's version: 0 until it is first written through the store.
    pub async fn catalogue_version(&self, name: CatalogueName) -> anyhow::Result<i64> {
        Ok(self.get::<Version>(name.version_pk(), VERSION_SK).await?.map_or(0, |v| v.version))
    }

    /// Raises the catalogue's version; called after its items are written, so a reader
    /// that sees the new version reads the new items.
    pub(crate) async fn raise_catalogue_version(&self, name: CatalogueName) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key(name.version_pk(), VERSION_SK)))
            .update_expression("ADD version :one")
            .expression_attribute_values(":one", super::n(1))
            .send()
            .await?;
        Ok(())
    }

    /// Writes a validated catalogue (idempotent: every item is a plain put).
    pub async fn put_catalogue(&self, catalogue: &Catalogue) -> anyhow::Result<usize> {
        let mut items: Vec<Item> = Vec::new();
        for model in &catalogue.task_models {
            let mut row = item(&task_model_pk(&model.id), "TASKMODEL", model)?;
            row.insert("gsi1pk".into(), s(format!("PRESET#{}", model.document_type_preset_id)));
            row.insert("gsi1sk".into(), s(format!("{:012}#{}", model.cost_cents, model.id)));
            items.push(row);
        }
        for seed in &catalogue.templates {
            let template = &seed.template;
            let pk = template_pk(&template.id);
            let mut row = item(&pk, "TEMPLATE", template)?;
            row.insert("gsi1pk".into(), s(TEMPLATES_INDEX_KEY));
            row.insert("gsi1sk".into(), s(&template.id));
            items.push(row);
            for plan in &seed.plans {
                let plan = PetitionPlan { template_id: template.id.clone(), ..plan.clone() };
                items.push(item(&pk, &format!("PLAN#{}", plan.id), &plan)?);
            }
            let referenced =
                |id: &String| template.addon_benefit_ids.contains(id) || seed.plans.iter().any(|p| p.included_benefit_ids.contains(id));
            for benefit in catalogue.benefits.iter().filter(|b| referenced(&b.id)) {
                items.push(item(&pk, &format!("BENEFIT#{}", benefit.id), benefit)?);
            }
        }
        let written = items.len();
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|row| Ok(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(row.clone())).build()?).build()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut pending = Some(std::collections::HashMap::from([(self.table.clone(), requests)]));
            while let Some(request) = pending.take().filter(|r| !r.is_empty()) {
                let output = self.client.batch_write_item().set_request_items(Some(request)).send().await?;
                pending = output.unprocessed_items;
            }
        }
        self.raise_catalogue_version(CatalogueName::Petitions).await?;
        Ok(written)
    }

    /// Every petition template (one Query on GSI1).
    pub async fn petition_templates(&self) -> anyhow::Result<Vec<Template>> {
        self.gsi1_collection(TEMPLATES_INDEX_KEY).await
    }

    /// Every item under one GSI1 partition key, in sort key order.
    async fn gsi1_collection<T: serde::de::DeserializeOwned>(&self, gsi1pk: &str) -> anyhow::Result<Vec<T>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(gsi1pk))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// A template with its plans and benefits (one Query).
    pub async fn template_catalogue(&self, template_id: &str) -> anyhow::Result<TemplateCatalogue> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(template_pk(template_id)))
            .send()
            .await?;
        let mut catalogue = TemplateCatalogue::default();
        for row in output.items.unwrap_or_default() {
            let sk = row.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if sk == "TEMPLATE" {
                catalogue.template = Some(from_item(row)?);
            } else if sk.starts_with("PLAN#") {
                catalogue.plans.push(from_item(row)?);
            } else if let Some(id) = sk.strip_prefix("BENEFIT#") {
                catalogue.benefits.insert(id.to_owned(), from_item(row)?);
            }
        }
        catalogue.plans.sort_by(|a, b| a.cost_cents.cmp(&b.cost_cents).then(a.id.cmp(&b.id)));
        Ok(catalogue)
    }

    pub async fn task_model(&self, task_model_id: &str) -> anyhow::Result<Option<TaskModel>> {
        self.get(&task_model_pk(task_model_id), "TASKMODEL").await
    }

    /// The task models of `task_model_ids` (distinct, at most 100) that exist, by id
    /// (one BatchGetItem).
    pub async fn task_models(&self, task_model_ids: &[&str]) -> anyhow::Result<HashMap<String, TaskModel>> {
        let pks: Vec<String> = task_model_ids.iter().map(|id| task_model_pk(id)).collect();
        let keys: Vec<(&str, &str)> = pks.iter().map(|pk| (pk.as_str(), "TASKMODEL")).collect();
        let mut found = self.get_many(&keys).await?;
        let mut models = HashMap::new();
        for (id, pk) in task_model_ids.iter().zip(&pks) {
            if let Some(model) = found.take::<TaskModel>(pk, "TASKMODEL")? {
                models.insert((*id).to_owned(), model);
            }
        }
        Ok(models)
    }

    /// Models of one document type preset, cheapest first (one Query on GSI1).
    pub async fn task_models_of_preset(&self, preset_id: &str) -> anyhow::Result<Vec<TaskModel>> {
        self.gsi1_collection(&format!("PRESET#{preset_id}")).await
    }
}
