//! The unknown-key refetch: one fetch shared by every request waiting for it (single flight),
//! and at most one started per minimum interval, so a flood of tokens naming an unknown key id
//! costs Tokener a handful of requests, not one each.
//!
//! Requests never fetch themselves: they ask the key task (which owns the HTTP client's
//! connections on the runtime that created the verifier) and wait for a fetch that started
//! after they asked.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Tickets: `requested` counts asks that started a fetch; the watch channel carries the
/// highest ticket a finished fetch has served.
#[derive(Debug)]
pub(crate) struct RefetchGate {
    min_interval: Duration,
    state: Mutex<GateState>,
    wake: Notify,
    served: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct GateState {
    requested: u64,
    last_started: Option<Instant>,
}

impl RefetchGate {
    pub(crate) fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            state: Mutex::new(GateState::default()),
            wake: Notify::new(),
            served: watch::Sender::new(0),
        }
    }

    /// Asks for a fetch and waits (at most `wait`) until one that started after the ask has
    /// finished. `false` when rate limited or timed out: the caller then keeps its answer.
    pub(crate) async fn refetch(&self, wait: Duration) -> bool {
        let mut served = self.served.subscribe();
        let Some(ticket) = self.ticket() else {
            return false;
        };
        let done = tokio::time::timeout(wait, served.wait_for(|s| *s >= ticket)).await;
        matches!(done, Ok(Ok(_)))
    }

    /// Joins the pending fetch, or starts one unless one started within the minimum interval.
    fn ticket(&self) -> Option<u64> {
        // A poisoned lock only means a panic elsewhere while holding it; the counters are
        // still meaningful.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let served = *self.served.borrow();
        if state.requested > served {
            return Some(state.requested);
        }
        let now = Instant::now();
        if state
            .last_started
            .is_some_and(|t| now.duration_since(t) < self.min_interval)
        {
            return None;
        }
        state.requested += 1;
        state.last_started = Some(now);
        self.wake.notify_one();
        Some(state.requested)
    }

    /// For the key task: resolves when a fetch was asked for.
    pub(crate) async fn asked(&self) {
        self.wake.notified().await;
    }

    /// For the key task, as a fetch starts: the tickets that fetch will serve.
    pub(crate) fn begin(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .requested
    }

    /// For the key task, as a fetch ends (successful or not).
    pub(crate) fn finish(&self, ticket: u64) {
        self.served.send_if_modified(|s| {
            let newer = ticket > *s;
            if newer {
                *s = ticket;
            }
            newer
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_share_one_fetch_and_later_asks_are_rate_limited() {
        let gate = Arc::new(RefetchGate::new(Duration::from_secs(60)));
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.refetch(Duration::from_secs(5)).await })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(5), gate.asked())
            .await
            .ok();
        tokio::task::yield_now().await;
        let ticket = gate.begin();
        assert_eq!(ticket, 1, "one fetch for every waiter");
        gate.finish(ticket);
        for w in waiters {
            assert!(matches!(w.await, Ok(true)));
        }
        assert!(!gate.refetch(Duration::from_secs(1)).await, "rate limited");
    }
}
