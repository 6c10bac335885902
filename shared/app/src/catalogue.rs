//! The read-mostly catalogues (billing plans; petition templates and task models)
//! kept in the function's memory: a warm function answers catalogue questions without
//! a round trip.
//!
//! Each catalogue's entries are trusted for a TTL (`CATALOGUE_TTL_SECONDS`, 60 s by
//! default); the first read
//! after that reads the catalogue's version (`Store::catalogue_version`, one small
//! GetItem) and drops every entry when it changed since they were loaded, so one
//! call revalidates a whole catalogue however many entries it holds. An id the
//! memory does not hold is read from the table at once, so a new plan, template or
//! task model is seen at once; a lookup by plan id or price id that finds nothing in
//! the plans held checks the version at once too.
//!
//! What that allows: for up to the TTL after an operator changes a catalogue, a warm
//! function may price, limit or show with the previous one. Catalogues change rarely
//! and by an operator; a subscription is charged by Stripe for its price id, whatever
//! we showed; and a petition's price is computed once, stored on its order and
//! compared with what Stripe says was paid, so a stale price is at worst the price
//! the customer saw a minute earlier, never an unchecked payment.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters::store::Store;
use adapters::store::catalogue::CatalogueName;
use domain::billing::Plan;
use domain::petition::{TaskModel, Template, TemplateCatalogue};

/// The catalogues a function holds, one shelf each.
pub struct Catalogues {
    ttl: Duration,
    billing: Shelf,
    petitions: Shelf,
}

impl Catalogues {
    /// Empty catalogues whose entries are trusted for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Catalogues { ttl, billing: Shelf::new(CatalogueName::Billing), petitions: Shelf::new(CatalogueName::Petitions) }
    }

    /// Every billing plan (one Query when not held).
    pub async fn plans(&self, store: &Store) -> anyhow::Result<Arc<Vec<Plan>>> {
        self.billing.get(store, self.ttl, "plans", store.plans()).await
    }

    /// The plan named `plan`, if the catalogue has it.
    pub async fn plan(&self, store: &Store, plan: &str) -> anyhow::Result<Option<Plan>> {
        self.find_plan(store, |p| p.plan == plan).await
    }

    /// The plan with this Stripe price (monthly or annual), if any.
    pub async fn plan_with_price(&self, store: &Store, price_id: &str) -> anyhow::Result<Option<Plan>> {
        self.find_plan(store, |p| p.has_price(price_id)).await
    }

    /// A plan the plans held lack may be newer than them: the version is checked at once.
    async fn find_plan(&self, store: &Store, matches: impl Fn(&Plan) -> bool) -> anyhow::Result<Option<Plan>> {
        if let Some(plan) = self.plans(store).await?.iter().find(|p| matches(p)) {
            return Ok(Some(plan.clone()));
        }
        if !self.billing.revalidate(store).await? {
            return Ok(None);
        }
        Ok(self.plans(store).await?.iter().find(|p| matches(p)).cloned())
    }

    /// Every petition template (one Query when not held).
    pub async fn templates(&self, store: &Store) -> anyhow::Result<Arc<Vec<Template>>> {
        self.petitions.get(store, self.ttl, "templates", store.petition_templates()).await
    }

    /// A template's collection (one Query when not held); `template` is None for an
    /// unknown id, which is not held (a new template is seen at once).
    pub async fn template(&self, store: &Store, template_id: &str) -> anyhow::Result<Arc<TemplateCatalogue>> {
        let key = format!("template#{template_id}");
        let found = self.petitions.get(store, self.ttl, &key, store.template_catalogue(template_id)).await?;
        if found.template.is_none() {
            self.petitions.forget(&key);
        }
        Ok(found)
    }

    /// A task model (one GetItem when not held); an unknown id is not held.
    pub async fn task_model(&self, store: &Store, task_model_id: &str) -> anyhow::Result<Option<TaskModel>> {
        let key = format!("model#{task_model_id}");
        let found = self.petitions.get(store, self.ttl, &key, store.task_model(task_model_id)).await?;
        if found.is_none() {
            self.petitions.forget(&key);
        }
        Ok((*found).clone())
    }

    /// Several task models by id (one BatchGetItem for those not held); an unknown id
    /// is left out, and not held.
    pub async fn task_models(&self, store: &Store, task_model_ids: &[String]) -> anyhow::Result<HashMap<String, TaskModel>> {
        let keys: Vec<String> = task_model_ids.iter().map(|id| format!("model#{id}")).collect();
        let load = async |missing: Vec<String>| {
            let ids: Vec<&str> = missing.iter().filter_map(|key| key.strip_prefix("model#")).collect();
            let mut models = store.task_models(&ids).await?;
            Ok(missing.iter().map(|key| (key.clone(), key.strip_prefix("model#").and_then(|id| models.remove(id)))).collect::<Vec<_>>())
        };
        let found = self.petitions.get_many(store, self.ttl, &keys, load).await?;
        let mut models = HashMap::new();
        for (key, model) in found {
            match model.as_ref() {
                Some(model) => drop(models.insert(model.id.clone(), model.clone())),
                None => self.petitions.forget(&key),
            }
        }
        Ok(models)
    }

    /// The task models of a document type preset, cheapest first (one Query when not held).
    pub async fn task_models_of_preset(&self, store: &Store, preset_id: &str) -> anyhow::Result<Arc<Vec<TaskModel>>> {
        self.petitions.get(store, self.ttl, &format!("preset#{preset_id}"), store.task_models_of_preset(preset_id)).await
    }
}

/// One catalogue's entries, each loaded under the version the shelf last saw.
struct Shelf {
    name: CatalogueName,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// The catalogue version the entries belong to; None until first read (the entries
    /// loaded before are dropped then).
    version: Option<i64>,
    /// Since when the entries are trusted (the last version check, or the first load).
    since: Option<Instant>,
    /// Raised whenever the entries are dropped: a load that began before does not keep
    /// what it read.
    generation: u64,
    entries: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl Shelf {
    fn new(name: CatalogueName) -> Self {
        Shelf { name, held: Mutex::new(Held::default()) }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic while holding the lock leaves nothing half-written: keep serving.
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry `key`, loaded by `load` unless held (and trusted, or still current).
    async fn get<V: Send + Sync + 'static>(
        &self,
        store: &Store,
        ttl: Duration,
        key: &str,
        load: impl Future<Output = anyhow::Result<V>>,
    ) -> anyhow::Result<Arc<V>> {
        let keys = [key.to_owned()];
        let mut found = self.get_many(store, ttl, &keys, async |_| Ok(vec![(key.to_owned(), load.await?)])).await?;
        found.remove(key).ok_or_else(|| anyhow::anyhow!("the catalogue's load of {key} returned nothing"))
    }

    /// The entries `keys`: those held (and trusted, or still current), and the rest
    /// from one `load` of the keys missing, which answers each as (key, value).
    async fn get_many<V: Send + Sync + 'static>(
        &self,
        store: &Store,
        ttl: Duration,
        keys: &[String],
        load: impl AsyncFnOnce(Vec<String>) -> anyhow::Result<Vec<(String, V)>>,
    ) -> anyhow::Result<HashMap<String, Arc<V>>> {
        let due = self.held().since.is_some_and(|since| since.elapsed() >= ttl);
        if due {
            self.revalidate(store).await?;
        }
        let mut found = HashMap::new();
        let (missing, generation) = {
            let mut held = self.held();
            let mut missing = Vec::new();
            for key in keys {
                match held.entries.get(key).cloned().and_then(|v| v.downcast::<V>().ok()) {
                    Some(value) => drop(found.insert(key.clone(), value)),
                    None => missing.push(key.clone()),
                }
            }
            if missing.is_empty() {
                return Ok(found);
            }
            held.since.get_or_insert_with(Instant::now);
            (missing, held.generation)
        };
        let loaded = load(missing).await?;
        let mut held = self.held();
        for (key, value) in loaded {
            let value = Arc::new(value);
            if held.generation == generation {
                held.entries.insert(key.clone(), value.clone());
            }
            found.insert(key, value);
        }
        Ok(found)
    }

    /// Reads the catalogue's version and drops the entries if it is not theirs;
    /// true when it dropped them.
    async fn revalidate(&self, store: &Store) -> anyhow::Result<bool> {
        let version = store.catalogue_version(self.name).await?;
        let mut held = self.held();
        held.since = Some(Instant::now());
        if held.version == Some(version) {
            return Ok(false);
        }
        held.version = Some(version);
        held.generation += 1;
        held.entries.clear();
        Ok(true)
    }

    fn forget(&self, key: &str) {
        self.held().entries.remove(key);
    }
}
