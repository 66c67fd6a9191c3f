//! Configuring a [`RemoteVerifier`] before discovery.

use super::error::DiscoverError;
use super::settings::Settings;
use super::RemoteVerifier;
use std::time::Duration;

/// Settings for [`RemoteVerifier::builder`]; [`RemoteVerifierBuilder::discover`] starts it.
#[derive(Debug, Clone)]
pub struct RemoteVerifierBuilder {
    pub(crate) base_url: String,
    pub(crate) settings: Settings,
}

impl RemoteVerifierBuilder {
    pub(crate) fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            settings: Settings::default(),
        }
    }

    /// How often the keys are revalidated (default 60 s).
    pub fn key_refresh_interval(mut self, every: Duration) -> Self {
        self.settings.key_refresh = every;
        self
    }

    /// How often revocations are polled while the stream is down (default 5 s).
    pub fn revocation_poll_interval(mut self, every: Duration) -> Self {
        self.settings.revocation_poll = every;
        self
    }

    /// How old the revocation state may grow while Tokener is unreachable (default 300 s).
    /// Keep it above the stream's heartbeat interval (5 s, at most 15 s), or a quiet but live
    /// feed is judged stale between heartbeats.
    pub fn max_staleness(mut self, max: Duration) -> Self {
        self.settings.max_staleness = max;
        self
    }

    /// Past the maximum staleness, accept valid tokens anyway (`true`) or refuse them with
    /// [`RemoteVerifyError::Stale`](super::RemoteVerifyError::Stale) (`false`, the default).
    pub fn fail_open_when_stale(mut self, fail_open: bool) -> Self {
        self.settings.fail_open_when_stale = fail_open;
        self
    }

    /// The least time between two key fetches caused by unknown key ids (default 10 s).
    pub fn unknown_key_refetch_interval(mut self, min: Duration) -> Self {
        self.settings.unknown_key_refetch_min = min;
        self
    }

    /// Upper bound of each request to Tokener (default 5 s; the stream's connect only).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.settings.http_timeout = timeout;
        self
    }

    /// Keep up to `entries` verified tokens (by SHA-256 of the bearer) so a token seen again
    /// skips the signature check; expiry, revocation, staleness and requirements are still
    /// judged on every use. Off (0) by default; the guard turns it on.
    pub fn verification_cache(mut self, entries: usize) -> Self {
        self.settings.cache_capacity = entries;
        self
    }

    /// Reads the metadata, the keys and the full revocation state, then starts the
    /// background refresh.
    pub async fn discover(self) -> Result<RemoteVerifier, DiscoverError> {
        RemoteVerifier::start(self).await
    }
}
