//! Use cases, one module per product area. Each takes the `AppState` (the adapters),
//! the domain `Caller` and plain inputs, applies the domain's rules and returns its
//! own error enum. Nothing here knows HTTP: `web::error` maps each error once.

pub mod billing;
pub mod catalogue;
pub mod fulfilment;
pub mod identity;
pub mod invites;
pub mod jobs;
pub mod metrics;
pub mod orders;
pub mod petitions;
pub mod reconcile;
pub mod retry;
pub mod sign_in;
pub mod state;
pub mod support;
pub mod tasks;
pub mod webhook;
pub mod wills;

pub use state::AppState;
