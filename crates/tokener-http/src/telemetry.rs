//! Logging with tracing-subscriber: human-readable or JSON lines on stderr, filtered by
//! `TOKENER_LOG` (an `EnvFilter` directive such as `info` or `tokener_http=debug,info`).

use crate::configuration::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls (tests spawning several apps) are no-ops.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
