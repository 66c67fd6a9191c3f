//! Rate limiting of token requests per client: the rule (a global default per minute, with
//! per-client overrides), over the hit-counter port.
//!
//! Fixed one-minute windows: simple to hold in Redis (one counter per client and minute, shared
//! by every instance) and cheap to check; a client may burst up to twice its limit across a
//! window boundary, which is acceptable for protecting the issuer.

use crate::domain::{ClientId, Clock};
use crate::ports::{HitCounter, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The length of a window, in seconds.
pub const WINDOW_SECONDS: u64 = 60;

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after_seconds: u64,
    },
}

/// Limits per minute: a default for every client and overrides for some.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// `None`: no limit.
    pub default_per_minute: Option<u64>,
    pub per_client: BTreeMap<ClientId, u64>,
}

impl RateLimits {
    pub fn for_client(&self, id: &ClientId) -> Option<u64> {
        self.per_client.get(id).copied().or(self.default_per_minute)
    }
}

pub struct RateLimiter<H> {
    counter: H,
    limits: RateLimits,
    clock: Arc<dyn Clock>,
}

impl<H: HitCounter> RateLimiter<H> {
    pub fn new(counter: H, limits: RateLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            counter,
            limits,
            clock,
        }
    }

    /// Counts a token request by `client`, once it has authenticated as that client (failed
    /// attempts go to [`super::AuthBackoff`], so an outsider cannot spend a client's quota).
    /// If the counter fails, the request is allowed: a broken limiter must not stop token
    /// issuance; the error is returned alongside for the caller to log and count.
    pub async fn check(&self, client: &ClientId) -> (RateDecision, Option<StoreError>) {
        let Some(limit) = self.limits.for_client(client) else {
            return (RateDecision::Allowed, None);
        };
        let now = self.clock.now().unix();
        let window = now / WINDOW_SECONDS;
        match self.counter.hit(client.as_str(), window).await {
            Ok(count) if count > limit => (
                RateDecision::Limited {
                    retry_after_seconds: (window + 1) * WINDOW_SECONDS - now,
                },
                None,
            ),
            Ok(_) => (RateDecision::Allowed, None),
            Err(e) => (RateDecision::Allowed, Some(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::InMemoryHitCounter;
    use crate::domain::{ManualClock, Timestamp};
    use crate::ports::MockHitCounter;

    fn limiter(limits: RateLimits, clock: Arc<ManualClock>) -> RateLimiter<InMemoryHitCounter> {
        RateLimiter::new(InMemoryHitCounter::new(), limits, clock)
    }

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }

    #[tokio::test]
    async fn limits_per_client_per_window() {
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(6_000_010)));
        let limits = RateLimits {
            default_per_minute: Some(2),
            per_client: BTreeMap::from([(id("big"), 3)]),
        };
        let limiter = limiter(limits, clock.clone());
        assert_eq!(limiter.check(&id("a")).await.0, RateDecision::Allowed);
        assert_eq!(limiter.check(&id("a")).await.0, RateDecision::Allowed);
        assert_eq!(
            limiter.check(&id("a")).await.0,
            RateDecision::Limited {
                retry_after_seconds: 50
            }
        );
        for _ in 0..3 {
            assert_eq!(limiter.check(&id("big")).await.0, RateDecision::Allowed);
        }
        assert!(matches!(
            limiter.check(&id("big")).await.0,
            RateDecision::Limited { .. }
        ));
        clock.advance(50);
        assert_eq!(
            limiter.check(&id("a")).await.0,
            RateDecision::Allowed,
            "a new window"
        );
    }

    #[tokio::test]
    async fn no_limit_configured_means_no_counting() {
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(0)));
        let limiter = limiter(RateLimits::default(), clock);
        for _ in 0..100 {
            assert_eq!(limiter.check(&id("a")).await.0, RateDecision::Allowed);
        }
    }

    #[tokio::test]
    async fn a_failing_counter_lets_requests_through() {
        let mut counter = MockHitCounter::new();
        counter
            .expect_hit()
            .returning(|_, _| Err(StoreError::unavailable("redis down")));
        let limits = RateLimits {
            default_per_minute: Some(1),
            ..Default::default()
        };
        let limiter = RateLimiter::new(counter, limits, Arc::new(ManualClock::default()));
        let (decision, error) = limiter.check(&id("a")).await;
        assert_eq!(decision, RateDecision::Allowed);
        assert!(error.is_some());
    }
}
