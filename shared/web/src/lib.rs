//! The HTTP edge: extractors, the product guards, OpenAPI, `ApiError` (SPEC's error
//! body) and the one mapping of each use case error to it. `functions/*` build their
//! routers from this and `app`.

pub mod error;
pub mod http;
pub mod telemetry;

pub use error::{ApiError, ApiResult};

/// For [`route!`]: a handler's `#[utoipa::path]` struct is named `__path_<handler>`.
#[doc(hidden)]
pub use paste::paste as __paste;
