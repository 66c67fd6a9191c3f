//! Back-off of failed client authentication: guessing a secret is slowed down, then refused,
//! without letting anyone who knows a client id lock that client out.
//!
//! Failures are counted per (client id, source address) and per source address, in fixed
//! one-minute windows of the hit-counter port (shared by every instance through Redis when
//! configured). A request is refused before its secret is even compared when its pair or its
//! source is over its limit, so an attacker over the limit learns nothing from a right guess.
//! Failures from one source never count against another source: a client's own hosts, which
//! do not fail, are never refused.

use super::rate_limit::{RateDecision, WINDOW_SECONDS};
use crate::domain::{ClientId, Clock};
use crate::ports::{HitCounter, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Failures allowed per minute before refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffLimits {
    /// Per (client id, source address): a guesser of one client's secret from one place.
    pub per_pair: u64,
    /// Per source address, whatever client ids it tries.
    pub per_source: u64,
}

impl Default for BackoffLimits {
    /// 20 failures a minute per pair is far above what a misconfigured client produces before
    /// its operator notices, and keeps guessing a 256-bit secret hopeless; 100 per source lets
    /// a host running several misconfigured clients still be told what is wrong.
    fn default() -> Self {
        Self {
            per_pair: 20,
            per_source: 100,
        }
    }
}

/// Failures below this many in a window answer at once; each one above it waits a further
/// [`DELAY_STEP`], up to [`MAX_DELAY`].
pub const FREE_FAILURES: u64 = 5;
pub const DELAY_STEP: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(1);

pub struct AuthBackoff<H> {
    counter: H,
    limits: BackoffLimits,
    clock: Arc<dyn Clock>,
}

impl<H: HitCounter> AuthBackoff<H> {
    pub fn new(counter: H, limits: BackoffLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            counter,
            limits,
            clock,
        }
    }

    pub fn limits(&self) -> BackoffLimits {
        self.limits
    }

    fn window(&self) -> (u64, u64) {
        let now = self.clock.now().unix();
        (
            now / WINDOW_SECONDS,
            (now / WINDOW_SECONDS + 1) * WINDOW_SECONDS - now,
        )
    }

    /// Before authenticating `client` from `source`: refused while the pair or the source is
    /// over its limit. A counter that fails allows the request (and is returned for the caller
    /// to log): a broken counter must not stop every client.
    pub async fn check(
        &self,
        client: &ClientId,
        source: &str,
    ) -> (RateDecision, Option<StoreError>) {
        let (window, retry_after_seconds) = self.window();
        // Two reads on every authentication: made at once, so they cost one round trip.
        let (pair_key, source_key) = (pair_key(client, source), source_key(source));
        let (pair, from) = futures_util::future::join(
            self.counter.count(&pair_key, window),
            self.counter.count(&source_key, window),
        )
        .await;
        match (pair, from) {
            (Ok(pair), Ok(from))
                if pair >= self.limits.per_pair || from >= self.limits.per_source =>
            {
                (
                    RateDecision::Limited {
                        retry_after_seconds,
                    },
                    None,
                )
            }
            (Ok(_), Ok(_)) => (RateDecision::Allowed, None),
            (Err(e), _) | (_, Err(e)) => (RateDecision::Allowed, Some(e)),
        }
    }

    /// After a failed authentication of `client` (or of a request naming no valid client,
    /// `None`) from `source`: counts it, and says how long to hold the answer back and whether
    /// this failure brought the pair or the source to its limit (the one moment of a burst
    /// worth recording).
    pub async fn failed(&self, client: Option<&ClientId>, source: &str) -> Failure {
        let (window, _) = self.window();
        let mut failure = Failure::default();
        let mut worst = 0;
        if let Some(client) = client {
            match self.counter.hit(&pair_key(client, source), window).await {
                Ok(n) => {
                    worst = n;
                    if n == self.limits.per_pair {
                        failure.limit_reached = Some(LimitReached::Pair(n));
                    }
                }
                Err(e) => failure.error = Some(e),
            }
        }
        match self.counter.hit(&source_key(source), window).await {
            // The source's count weighs against its own, higher limit.
            Ok(n) => {
                let scaled = n.saturating_mul(self.limits.per_pair) / self.limits.per_source.max(1);
                worst = worst.max(scaled);
                if n == self.limits.per_source {
                    failure.limit_reached = Some(LimitReached::Source(n));
                }
            }
            Err(e) => failure.error = failure.error.take().or(Some(e)),
        }
        failure.delay = delay_after(worst);
        failure
    }
}

/// What a counted failure means for its answer.
#[derive(Debug, Default)]
pub struct Failure {
    /// How long to hold the answer back.
    pub delay: Duration,
    /// Set by the failure that brought its pair or source to the limit.
    pub limit_reached: Option<LimitReached>,
    /// A counter that could not count (the failure is answered all the same).
    pub error: Option<StoreError>,
}

/// Which limit a failure reached, with the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    Pair(u64),
    Source(u64),
}

/// How long the answer to the `failures`-th failure of a window waits.
pub fn delay_after(failures: u64) -> Duration {
    let steps = failures.saturating_sub(FREE_FAILURES);
    DELAY_STEP
        .saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX))
        .min(MAX_DELAY)
}

fn pair_key(client: &ClientId, source: &str) -> String {
    // Client ids hold no `|`, so the pair key is unambiguous.
    format!("auth-fail:{client}|{source}")
}

fn source_key(source: &str) -> String {
    format!("auth-fail-source:{source}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::InMemoryHitCounter;
    use crate::domain::{ManualClock, Timestamp};

    fn backoff(limits: BackoffLimits) -> AuthBackoff<InMemoryHitCounter> {
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_010)));
        AuthBackoff::new(InMemoryHitCounter::new(), limits, clock)
    }

    #[tokio::test]
    async fn a_guesser_is_slowed_then_refused_while_the_clients_own_host_is_not() {
        let backoff = backoff(BackoffLimits::default());
        let billing: ClientId = "billing".parse().unwrap();
        let mut delays = Vec::new();
        let mut reached = Vec::new();
        for _ in 0..20 {
            assert_eq!(
                backoff.check(&billing, "10.0.0.66").await.0,
                RateDecision::Allowed
            );
            let failure = backoff.failed(Some(&billing), "10.0.0.66").await;
            delays.push(failure.delay);
            reached.push(failure.limit_reached);
        }
        assert_eq!(
            reached.iter().flatten().collect::<Vec<_>>(),
            [&LimitReached::Pair(20)]
        );
        assert!(reached[19].is_some(), "the 20th failure reaches the limit");
        assert_eq!(delays[..5], [Duration::ZERO; 5]);
        assert_eq!(delays[5], DELAY_STEP);
        assert_eq!(delays[19], MAX_DELAY);
        assert_eq!(
            backoff.check(&billing, "10.0.0.66").await.0,
            RateDecision::Limited {
                retry_after_seconds: 50
            }
        );
        assert_eq!(
            backoff.check(&billing, "10.0.0.7").await.0,
            RateDecision::Allowed
        );
    }

    #[tokio::test]
    async fn a_source_trying_many_client_ids_is_refused_for_all() {
        let backoff = backoff(BackoffLimits {
            per_pair: 20,
            per_source: 10,
        });
        for i in 0..10 {
            let id: ClientId = format!("client-{i}").parse().unwrap();
            backoff.failed(Some(&id), "10.0.0.66").await;
        }
        let fresh: ClientId = "fresh".parse().unwrap();
        assert!(matches!(
            backoff.check(&fresh, "10.0.0.66").await.0,
            RateDecision::Limited { .. }
        ));
        assert_eq!(
            backoff.check(&fresh, "10.0.0.7").await.0,
            RateDecision::Allowed
        );
    }
}
