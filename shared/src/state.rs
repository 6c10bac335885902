//! What every handler gets: configuration and the clients, built once per cold start.

use std::sync::Arc;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::config::Config;
use crate::email::Mailer;
use crate::oauth::OAuth;
use crate::orders::Fulfilment;
use crate::payments::Payments;
use crate::queue::TaskQueue;
use crate::security::jwt::JwtKeys;
use crate::store::Store;

/// The AWS SDK's standard configuration loader (`AWS_ENDPOINT_URL`, region,
/// credentials) with its HTTPS client on rustls + ring, the tree's one crypto library.
/// Everything that builds AWS clients starts here.
pub fn aws_config_loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub mailer: Mailer,
    pub jwt: JwtKeys,
    pub oauth: Arc<OAuth>,
    pub payments: Arc<Payments>,
    pub queue: TaskQueue,
    /// Order kinds by name; each paid product registers its own.
    pub fulfilment: Arc<Fulfilment>,
}

impl AppState {
    /// Reads the environment and the AWS SDK's standard configuration
    /// (`AWS_ENDPOINT_URL`, region, credentials).
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = aws_config_loader().load().await;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let store = Store::new(aws_sdk_dynamodb::Client::new(sdk), config.table_name.clone());
        let mailer = Mailer::new(aws_sdk_sesv2::Client::new(sdk), config.email_from.clone(), config.app_base_url.clone());
        let jwt = JwtKeys::new(&config.jwt);
        let oauth = Arc::new(OAuth::new(&config));
        let payments = Arc::new(Payments::new(config.stripe.clone()));
        let queue = TaskQueue::new(aws_sdk_sqs::Client::new(sdk), config.task_queue_url.clone());
        let fulfilment = Arc::new(Fulfilment::default());
        AppState { config: Arc::new(config), store, mailer, jwt, oauth, payments, queue, fulfilment }
    }
}
