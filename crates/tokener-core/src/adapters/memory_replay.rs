//! The per-process replay cache: `private_key_jwt` of the embedded and MongoDB-only modes.

use crate::ports::{ReplayCache, StoreError};
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most keys held at once. Assertions live at most minutes, so this is room for
/// thousands of authentications a second; past it, new keys are refused (a replay must never
/// be let through because the cache forgot).
pub const MEMORY_REPLAY_KEYS: usize = 1_000_000;

/// Keys with their expiry, on the monotonic clock (a wall-clock step cannot free a key early).
#[derive(Clone, Default)]
pub struct InMemoryReplayCache {
    inner: Arc<Mutex<Keys>>,
}

#[derive(Default)]
struct Keys {
    until: HashMap<String, Instant>,
    /// The same keys by expiry, so the expired ones are dropped from the front.
    by_expiry: BTreeSet<(Instant, String)>,
}

impl InMemoryReplayCache {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ReplayCache for InMemoryReplayCache {
    async fn first_use(&self, key: &str, keep: Duration) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut keys = self
            .inner
            .lock()
            .map_err(|_| StoreError::unavailable("replay cache lock poisoned"))?;
        while let Some((at, _)) = keys.by_expiry.first() {
            if *at > now {
                break;
            }
            let (_, expired) = keys.by_expiry.pop_first().expect("a first entry");
            keys.until.remove(&expired);
        }
        if keys.until.contains_key(key) {
            return Ok(false);
        }
        if keys.until.len() >= MEMORY_REPLAY_KEYS {
            return Err(StoreError::unavailable("replay cache is full"));
        }
        let until = now + keep;
        keys.until.insert(key.to_string(), until);
        keys.by_expiry.insert((until, key.to_string()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_replay_cache_contract() {
        crate::contract::replay_cache(&InMemoryReplayCache::new()).await;
    }
}
