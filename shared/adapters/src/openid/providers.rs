//! The configured OAuth providers and the HTTP client they share, built once per cold
//! start (held by `AppState`).

use std::sync::OnceLock;

use super::provider::{EmailAttestation, Provider};
use crate::config::Config;

pub struct OAuth {
    http: OnceLock<reqwest::Client>,
    google: Provider,
    microsoft: Provider,
    pub redirect_allowlist: Vec<String>,
}

impl OAuth {
    pub fn new(config: &Config) -> Self {
        OAuth {
            http: OnceLock::new(),
            google: Provider::new(config.google.clone(), EmailAttestation::EmailVerifiedClaim),
            microsoft: Provider::new(config.microsoft.clone(), EmailAttestation::EntraDomainOwner),
            redirect_allowlist: config.oauth_redirect_allowlist.clone(),
        }
    }

    /// Built on first use: functions that never sign anyone in never pay for it.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            crate::install_tls_provider();
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("building the OAuth HTTP client")
        })
    }

    /// The configured provider of this name.
    pub fn provider(&self, name: &str) -> Result<&Provider, UnusableProvider> {
        let provider = match name {
            "google" => &self.google,
            "microsoft" => &self.microsoft,
            _ => return Err(UnusableProvider::Unknown),
        };
        if provider.client_id().is_none() {
            return Err(UnusableProvider::NotConfigured(name.to_owned()));
        }
        Ok(provider)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnusableProvider {
    #[error("no such sign-in provider")]
    Unknown,
    /// Its client id is unset.
    #[error("{0} sign-in is not configured")]
    NotConfigured(String),
}
