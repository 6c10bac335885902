//! The core crate: everything but routing. See ARCHITECTURE.md for the map.

pub mod config;
pub mod domain;
pub mod email;
pub mod error;
pub mod http;
pub mod identity;
pub mod invites;
pub mod security;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod wills;

pub use error::{ApiError, ApiResult};
pub use state::AppState;
