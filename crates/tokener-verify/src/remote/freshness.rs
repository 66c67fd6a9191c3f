//! How old the revocation state may be before a verifier stops trusting it, and the one log
//! line per change between fresh and stale.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokener_core::{RevocationState, Timestamp};

/// The staleness policy and the last judgement (to log transitions only).
#[derive(Debug)]
pub(crate) struct Freshness {
    max: Duration,
    fail_open: bool,
    stale: AtomicBool,
}

impl Freshness {
    pub(crate) fn new(max: Duration, fail_open: bool) -> Self {
        Self {
            max,
            fail_open,
            stale: AtomicBool::new(false),
        }
    }

    /// Time since the source last confirmed `state` current; `None` if it never did.
    pub(crate) fn staleness(state: &RevocationState, now: Timestamp) -> Option<Duration> {
        let synced = state.synced_at()?;
        Some(Duration::from_millis(
            now.unix_millis().saturating_sub(synced.unix_millis()),
        ))
    }

    /// Whether a token may be accepted as of `now`: `Err(staleness)` when the state is too old
    /// and the policy fails closed. Logs once whenever the state turns stale or fresh again.
    pub(crate) fn judge(&self, state: &RevocationState, now: Timestamp) -> Result<(), Duration> {
        let staleness = Self::staleness(state, now);
        let stale = staleness.is_none_or(|s| s > self.max);
        if self.stale.load(Ordering::Relaxed) != stale
            && self.stale.swap(stale, Ordering::Relaxed) != stale
        {
            self.log_transition(stale, staleness);
        }
        match (stale, self.fail_open) {
            (true, false) => Err(staleness.unwrap_or(Duration::MAX)),
            _ => Ok(()),
        }
    }

    fn log_transition(&self, stale: bool, staleness: Option<Duration>) {
        let seconds = staleness.map_or(f64::INFINITY, |s| s.as_secs_f64());
        if !stale {
            tracing::info!(
                staleness_seconds = seconds,
                "Tokener revocation state is fresh again"
            );
        } else if self.fail_open {
            tracing::warn!(
                staleness_seconds = seconds,
                max_seconds = self.max.as_secs_f64(),
                "Tokener revocation state is stale; failing open: valid tokens are accepted \
                 although revocations may be missing"
            );
        } else {
            tracing::warn!(
                staleness_seconds = seconds,
                max_seconds = self.max.as_secs_f64(),
                "Tokener revocation state is stale; failing closed: tokens are refused until \
                 Tokener is reachable again"
            );
        }
    }
}
