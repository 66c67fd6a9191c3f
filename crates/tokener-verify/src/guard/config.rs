//! What the guard is told at start: where to listen, where Tokener is, and its staleness
//! policy.

use std::net::SocketAddr;
use std::time::Duration;

/// The guard's settings; [`GuardConfig::new`] gives the defaults of `tokener guard`.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Address to bind (port 0 picks a free one; see [`Guard::local_addr`]).
    ///
    /// [`Guard::local_addr`]: super::Guard::local_addr
    pub listen: SocketAddr,
    /// Tokener's base URL.
    pub tokener_url: String,
    /// How old the revocation state may grow while Tokener is unreachable (default 300 s).
    pub max_staleness: Duration,
    /// Past it, accept valid tokens anyway instead of answering 503 (default false).
    pub fail_open_when_stale: bool,
    /// Verified tokens kept by SHA-256 of the bearer (default 10,000).
    pub cache_entries: usize,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
}

impl GuardConfig {
    pub fn new(listen: SocketAddr, tokener_url: impl Into<String>) -> Self {
        Self {
            listen,
            tokener_url: tokener_url.into(),
            max_staleness: Duration::from_secs(300),
            fail_open_when_stale: false,
            cache_entries: 10_000,
            workers: None,
        }
    }
}
