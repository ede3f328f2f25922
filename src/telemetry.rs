//! Logging: one `tracing` subscriber, to stderr, filtered by `RUST_LOG` or
//! the configured filter. Personal data never reaches it: tickets print
//! without contacts and quarantine reasons are redacted before logging.

use tracing_subscriber::EnvFilter;

pub fn init(filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
