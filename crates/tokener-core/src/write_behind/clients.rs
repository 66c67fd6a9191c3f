//! [`CachedClientRegistry`]: the client registry behind the write-behind cache.

use crate::domain::{Client, ClientId};
use crate::ports::{ClientRegistry, StoreError, TokenCache};
use async_trait::async_trait;

/// Cache-aside for the client registry: reads try the cache first, changes go to the registry
/// and then evict the cached copy.
///
/// A cached client may be up to the cache's client time-to-live out of date when a read that
/// started before a change puts the old version back after the eviction; the short TTL bounds
/// that window (a disabled client may authenticate for at most that long).
pub struct CachedClientRegistry<C, R> {
    cache: C,
    registry: R,
}

impl<C: TokenCache, R: ClientRegistry> CachedClientRegistry<C, R> {
    pub fn new(cache: C, registry: R) -> Self {
        Self { cache, registry }
    }

    pub fn registry(&self) -> &R {
        &self.registry
    }
}

#[async_trait]
impl<C: TokenCache, R: ClientRegistry> ClientRegistry for CachedClientRegistry<C, R> {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        match self.cache.get_client(id).await {
            Ok(Some(client)) => return Ok(Some(client)),
            Ok(None) => {}
            Err(error) => tracing::warn!(client_id = %id, %error, "client cache read failed"),
        }
        // Unknown ids are not cached: nothing to invalidate when the client is created.
        let found = self.registry.get(id).await?;
        if let Some(client) = &found {
            if let Err(error) = self.cache.put_client(client).await {
                tracing::warn!(client_id = %id, %error, "could not cache a client");
            }
        }
        Ok(found)
    }

    async fn upsert(&self, client: &Client) -> Result<(), StoreError> {
        self.registry.upsert(client).await?;
        // A failed eviction is reported: the change is stored, but the old version (say, an
        // enabled client just disabled) would go on being served until its TTL runs out; the
        // caller retries, and upserting again is harmless.
        self.cache.evict_client(&client.id).await
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.registry.list().await
    }
}
