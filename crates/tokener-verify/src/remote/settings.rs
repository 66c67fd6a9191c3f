//! The tunables of a remote verifier and their defaults.

use std::time::Duration;

/// See the setters of [`RemoteVerifierBuilder`](super::RemoteVerifierBuilder).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) key_refresh: Duration,
    pub(crate) revocation_poll: Duration,
    pub(crate) max_staleness: Duration,
    pub(crate) fail_open_when_stale: bool,
    pub(crate) unknown_key_refetch_min: Duration,
    pub(crate) http_timeout: Duration,
    /// With no byte for this long the stream is taken for dead (heartbeats come every 15 s
    /// at most).
    pub(crate) stream_idle: Duration,
    pub(crate) stream_backoff_max: Duration,
    pub(crate) cache_capacity: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            key_refresh: Duration::from_secs(60),
            revocation_poll: Duration::from_secs(5),
            max_staleness: Duration::from_secs(300),
            fail_open_when_stale: false,
            unknown_key_refetch_min: Duration::from_secs(10),
            http_timeout: Duration::from_secs(5),
            stream_idle: Duration::from_secs(35),
            stream_backoff_max: Duration::from_secs(30),
            cache_capacity: 0,
        }
    }
}
