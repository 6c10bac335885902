//! Structured JSON logs through `tracing`. `RUST_LOG` filters (default `info`).

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber once; later calls are no-ops.
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .finish()
        .with(filter())
        .try_init();
}

/// `RUST_LOG` as `target=level` directives (`info`, `app=debug,info`); `Targets`
/// rather than `EnvFilter`, whose span-field matching needs a regex engine in every binary.
fn filter() -> Targets {
    std::env::var("RUST_LOG").ok().and_then(|spec| spec.parse().ok()).unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}
