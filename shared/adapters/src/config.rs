//! Configuration from the environment (names as in the README's table).
//!
//! Read once at cold start; a missing required variable fails start-up with its name.

use secrecy::SecretString;

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub task_queue_url: Option<String>,
    pub email_from: String,
    pub app_base_url: String,
    pub jwt: JwtConfig,
    pub stripe: StripeConfig,
    pub google: OAuthProviderConfig,
    pub microsoft: OAuthProviderConfig,
    pub oauth_redirect_allowlist: Vec<String>,
    /// How long a function serves a catalogue from memory before it checks the
    /// catalogue's version (`CATALOGUE_TTL_SECONDS`; 0 checks on every read).
    pub catalogue_ttl: std::time::Duration,
}

/// The catalogue TTL when `CATALOGUE_TTL_SECONDS` is unset.
pub const DEFAULT_CATALOGUE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub secret: SecretString,
    pub issuer: String,
    pub audience: String,
}

#[derive(Clone, Debug)]
pub struct StripeConfig {
    pub secret_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub api_base: String,
}

#[derive(Clone, Debug)]
pub struct OAuthProviderConfig {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub issuer: String,
    /// Tenants whose users may sign in (Microsoft, `MICROSOFT_ALLOWED_TENANTS`,
    /// comma-separated `tid`s); empty lets every tenant in.
    pub allowed_tenants: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any name → value lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| ConfigError(format!("{name} is not set")));
        let secret = |name: &str| var(name).map(SecretString::from);
        let jwt_secret = required("JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(ConfigError("JWT_SECRET must be at least 32 bytes".into()));
        }
        let list = |name: &str| -> Vec<String> {
            var(name).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
        };
        let provider = |prefix: &str, default_issuer: &str, allowed_tenants| OAuthProviderConfig {
            client_id: var(&format!("{prefix}_CLIENT_ID")),
            client_secret: secret(&format!("{prefix}_CLIENT_SECRET")),
            issuer: var(&format!("{prefix}_ISSUER")).unwrap_or_else(|| default_issuer.to_owned()),
            allowed_tenants,
        };
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            task_queue_url: var("TASK_QUEUE_URL"),
            email_from: required("EMAIL_FROM")?,
            app_base_url: var("APP_BASE_URL").unwrap_or_else(|| "http://localhost:5173".to_owned()).trim_end_matches('/').to_owned(),
            jwt: JwtConfig {
                secret: SecretString::from(jwt_secret),
                issuer: var("JWT_ISSUER").unwrap_or_else(|| "saas-backend".to_owned()),
                audience: var("JWT_AUDIENCE").unwrap_or_else(|| "saas-backend-api".to_owned()),
            },
            stripe: StripeConfig {
                secret_key: secret("STRIPE_SECRET_KEY"),
                webhook_secret: secret("STRIPE_WEBHOOK_SECRET"),
                api_base: var("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".to_owned()),
            },
            // Tenants are Entra's: Google's tokens carry no `tid`.
            google: provider("GOOGLE", "https://accounts.google.com", Vec::new()),
            microsoft: provider("MICROSOFT", "https://login.microsoftonline.com/common/v2.0", list("MICROSOFT_ALLOWED_TENANTS")),
            oauth_redirect_allowlist: list("OAUTH_REDIRECT_ALLOWLIST"),
            catalogue_ttl: match var("CATALOGUE_TTL_SECONDS") {
                Some(secs) => std::time::Duration::from_secs(
                    secs.trim().parse().map_err(|_| ConfigError("CATALOGUE_TTL_SECONDS must be a whole number of seconds".into()))?,
                ),
                None => DEFAULT_CATALOGUE_TTL,
            },
        })
    }
}
