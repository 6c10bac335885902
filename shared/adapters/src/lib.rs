//! Adapters: the code that talks to the outside — DynamoDB (`store`), SES (`email`),
//! SQS (`queue`), Stripe (`payments`), the OpenID providers (`openid`) — and the
//! mechanics of secrets (`security`: JWTs, password hashes, tokens) and documents.
//! Each returns its own errors (or `anyhow`); none knows HTTP or the use cases.

pub mod aws;
pub mod config;
pub mod document;
pub mod email;
mod lazy_client;
pub mod openid;
pub mod payments;
pub mod queue;
pub mod security;
pub mod store;
pub mod unavailable;

/// A new random id (UUID v4) for something about to be stored; the domain takes ids
/// as arguments.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// reqwest (OAuth, Stripe) is built without a TLS crypto provider; this installs ring,
/// the one the AWS SDK's client uses too. Idempotent.
pub fn install_tls_provider() {
    // An Err means a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
