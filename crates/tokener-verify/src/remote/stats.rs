//! Counters of what the verifier did, and the snapshot an application exports as metrics.

use super::error::RemoteVerifyError;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a verifier's counters and gauges (see [`RemoteVerifier::stats`]).
///
/// [`RemoteVerifier::stats`]: super::RemoteVerifier::stats
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifierStats {
    /// Requests for `GET /keys` (timer and unknown-key refetches), answered or not.
    pub key_fetches: u64,
    /// Key fetches caused by a token signed with an unknown key id.
    pub unknown_key_refetches: u64,
    /// Times the revocation stream was lost and had to be reconnected.
    pub stream_reconnects: u64,
    /// Seconds since Tokener last confirmed the revocation state current (`None`: never).
    pub staleness_seconds: Option<f64>,
    /// Whether the revocation state is past the allowed staleness.
    pub stale: bool,
    /// Revocation entries held.
    pub revocations: usize,
    /// Verifications answered from the verification cache (see
    /// [`RemoteVerifierBuilder::verification_cache`](super::RemoteVerifierBuilder::verification_cache)).
    pub cache_hits: u64,
    /// Tokens accepted.
    pub verified: u64,
    /// Tokens refused (any reason, staleness included).
    pub rejected: u64,
}

/// The live counters behind [`VerifierStats`]; relaxed atomics, as they are only reported.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) key_fetches: AtomicU64,
    pub(crate) unknown_key_refetches: AtomicU64,
    pub(crate) stream_reconnects: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    verified: AtomicU64,
    rejected: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record<T>(&self, result: &Result<T, RemoteVerifyError>) {
        Self::bump(match result {
            Ok(_) => &self.verified,
            Err(_) => &self.rejected,
        });
    }

    pub(crate) fn snapshot(
        &self,
        staleness_seconds: Option<f64>,
        stale: bool,
        revocations: usize,
    ) -> VerifierStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        VerifierStats {
            key_fetches: get(&self.key_fetches),
            unknown_key_refetches: get(&self.unknown_key_refetches),
            stream_reconnects: get(&self.stream_reconnects),
            cache_hits: get(&self.cache_hits),
            staleness_seconds,
            stale,
            revocations,
            verified: get(&self.verified),
            rejected: get(&self.rejected),
        }
    }
}
