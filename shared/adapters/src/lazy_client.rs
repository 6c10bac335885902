//! Clients built on first use.

use std::sync::{Arc, LazyLock};

/// An AWS client built on first use. Building one builds its TLS connector (the root
/// store included), and most functions never send mail or queue messages.
pub type LazyClient<C> = Arc<LazyLock<C, Box<dyn FnOnce() -> C + Send>>>;

pub fn lazy_client<C>(build: impl FnOnce() -> C + Send + 'static) -> LazyClient<C> {
    Arc::new(LazyLock::new(Box::new(build)))
}
