//! The configured OAuth providers and the HTTP client they share, built once per cold
//! start (held by `AppState`).

use std::sync::OnceLock;

use super::provider::{EmailAttestation, Provider};
use crate::config::Config;
use crate::error::{ApiError, ApiResult};

pub struct OAuth {
    http: OnceLock<reqwest::Client>,
    google: Provider,
    microsoft: Provider,
    pub(super) redirect_allowlist: Vec<String>,
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
    pub(super) fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            crate::install_tls_provider();
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("building the OAuth HTTP client")
        })
    }

    /// The configured provider named in the path; 404 for unknown names, 503 when
    /// its client id is unset.
    pub(super) fn provider(&self, name: &str) -> ApiResult<&Provider> {
        let provider = match name {
            "google" => &self.google,
            "microsoft" => &self.microsoft,
            _ => return Err(ApiError::not_found()),
        };
        if provider.client_id().is_none() {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "provider_not_configured",
                format!("{name} sign-in is not configured"),
            ));
        }
        Ok(provider)
    }
}
