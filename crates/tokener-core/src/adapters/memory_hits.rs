//! The per-process hit counter: rate limits of the embedded and MongoDB-only modes.

use crate::ports::{HitCounter, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-process counters: the limiter of the embedded and MongoDB-only modes.
#[derive(Clone, Default)]
pub struct InMemoryHitCounter {
    windows: Arc<Mutex<HashMap<String, (u64, u64)>>>,
}

impl InMemoryHitCounter {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HitCounter for InMemoryHitCounter {
    async fn hit(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| StoreError::unavailable("rate counter lock poisoned"))?;
        // Forget finished windows now and then, so the map holds only active clients.
        if windows.len() > 10_000 {
            windows.retain(|_, (w, _)| *w >= window);
        }
        let entry = windows.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        Ok(entry.1)
    }

    async fn count(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        let windows = self
            .windows
            .lock()
            .map_err(|_| StoreError::unavailable("rate counter lock poisoned"))?;
        Ok(windows
            .get(key)
            .filter(|(w, _)| *w == window)
            .map_or(0, |(_, n)| *n))
    }
}
