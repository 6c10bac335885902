//! Structured JSON logs through `tracing`. `RUST_LOG` filters (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .try_init();
}
