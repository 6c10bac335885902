//! The core crate: everything but routing. See ARCHITECTURE.md for the map.

pub mod billing;
pub mod config;
pub mod document;
pub mod email;
pub mod error;
pub mod fulfilment;
pub mod http;
pub mod identity;
pub mod invites;
pub mod jobs;
pub mod lazy_client;
pub mod oauth;
pub mod orders;
pub mod payments;
pub mod petitions;
pub mod queue;
pub mod reconcile;
pub mod security;
pub mod sign_in;
pub mod state;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod webhook;
pub mod wills;

/// A new random id (UUID v4) for something about to be stored; the domain takes ids
/// as arguments.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub use domain;
pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// For [`route!`]: a handler's `#[utoipa::path]` struct is named `__path_<handler>`.
#[doc(hidden)]
pub use paste::paste as __paste;

/// reqwest (OAuth, Stripe) is built without a TLS crypto provider; this installs ring,
/// the one the AWS SDK's client uses too. Idempotent.
pub fn install_tls_provider() {
    // An Err means a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
