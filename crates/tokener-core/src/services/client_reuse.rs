//! Reusing a client record in this process for a moment, in front of any registry.
//!
//! Every token request authenticates its client, so without this each one costs a registry
//! read: a MongoDB round trip in write-through mode, a Redis one in write-behind mode (measured
//! there at ~10% of a token's CPU). Reusing the record for [`REUSE_CLIENTS_FOR`] makes that one
//! read per client per second.

use crate::domain::{Client, ClientId};
use crate::ports::{ClientRegistry, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a client record read from the registry is reused.
///
/// One second: a change made through this instance is seen at once (its copy is dropped), and
/// one made through another instance (a disabled client, a rotated secret) takes effect here
/// within a second.
pub const REUSE_CLIENTS_FOR: Duration = Duration::from_secs(1);

/// A [`ClientRegistry`] that keeps the clients it found for a while. Unknown ids are never
/// kept, so guessing ids cannot grow it, and a client created elsewhere is found at once.
pub struct ReusedClients<R> {
    registry: R,
    reuse_for: Duration,
    found: Mutex<HashMap<ClientId, (Client, Instant)>>,
}

impl<R: ClientRegistry> ReusedClients<R> {
    pub fn new(registry: R) -> Self {
        Self::reusing_for(registry, REUSE_CLIENTS_FOR)
    }

    pub fn reusing_for(registry: R, reuse_for: Duration) -> Self {
        Self {
            registry,
            reuse_for,
            found: Mutex::default(),
        }
    }

    fn found(&self) -> MutexGuard<'_, HashMap<ClientId, (Client, Instant)>> {
        // Every write replaces or removes a whole entry, so a poisoned map is still consistent.
        self.found.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl<R: ClientRegistry> ClientRegistry for ReusedClients<R> {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        if let Some((client, read_at)) = self.found().get(id) {
            if read_at.elapsed() < self.reuse_for {
                return Ok(Some(client.clone()));
            }
        }
        let found = self.registry.get(id).await?;
        match &found {
            Some(client) => {
                self.found()
                    .insert(id.clone(), (client.clone(), Instant::now()));
            }
            None => {
                self.found().remove(id);
            }
        }
        Ok(found)
    }

    async fn upsert(&self, client: &Client) -> Result<(), StoreError> {
        let result = self.registry.upsert(client).await;
        // Dropped even if the upsert failed: it may have been applied all the same. (A read
        // that started before the change and ends after it may keep the old version, for at
        // most `reuse_for`.)
        self.found().remove(&client.id);
        result
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.registry.list().await
    }
}
