//! What every use case gets: configuration and the adapters, built once per cold start.

use std::sync::Arc;

use adapters::aws::{SdkConfig, function_sdk_config};
use adapters::config::Config;
use adapters::email::Mailer;
use adapters::openid::providers::OAuth;
use adapters::payments::Payments;
use adapters::queue::TaskQueue;
use adapters::security::jwt::JwtKeys;
use adapters::store::Store;

use crate::catalogue::Catalogues;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub mailer: Mailer,
    pub jwt: JwtKeys,
    pub oauth: Arc<OAuth>,
    pub payments: Arc<Payments>,
    pub queue: TaskQueue,
    /// The catalogues this function holds in memory (`catalogue`).
    pub catalogues: Arc<Catalogues>,
}

impl AppState {
    /// Reads the environment: the app's configuration and [`function_sdk_config`].
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = function_sdk_config().await?;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let store = Store::from_sdk(sdk, config.table_name.clone());
        let mailer = Mailer::from_sdk(sdk, config.email_from.clone(), config.app_base_url.clone());
        let jwt = JwtKeys::new(&config.jwt);
        let oauth = Arc::new(OAuth::new(&config));
        let payments = Arc::new(Payments::new(config.stripe.clone()));
        let queue = TaskQueue::from_sdk(sdk, config.task_queue_url.clone());
        let catalogues = Arc::new(Catalogues::new(config.catalogue_ttl));
        AppState { config: Arc::new(config), store, mailer, jwt, oauth, payments, queue, catalogues }
    }
}
