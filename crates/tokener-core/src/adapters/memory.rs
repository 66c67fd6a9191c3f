//! Process-local stores. Cheap to clone (clones share the data), safe across threads.

use crate::domain::{
    Client, ClientId, ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord,
};
use crate::ports::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

#[derive(Default)]
struct Tokens {
    /// A B-tree rather than a hash map: a hash map doubles and rehashes everything under the
    /// write lock as it grows, stalling every request for tens of milliseconds at a few
    /// hundred thousand tokens; a B-tree grows a node at a time.
    by_id: BTreeMap<TokenId, TokenRecord>,
    /// Revocations ordered for cursor listing.
    revoked: BTreeSet<RevocationCursor>,
    /// Client-wide revocations, one per client.
    clients: BTreeMap<ClientId, ClientRevocation>,
}

#[derive(Clone, Default)]
pub struct InMemoryTokenStore {
    inner: Arc<RwLock<Tokens>>,
}

impl InMemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock means a panic mid-update elsewhere: report the store unavailable rather
    /// than panic again.
    fn poisoned<T>(_: T) -> StoreError {
        StoreError::unavailable("in-memory store lock poisoned")
    }
}

#[async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.record_many(std::slice::from_ref(record)).await
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        let mut tokens = self.inner.write().map_err(Self::poisoned)?;
        for record in records {
            tokens
                .by_id
                .entry(record.id().clone())
                .or_insert_with(|| record.clone());
        }
        Ok(())
    }

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let tokens = self.inner.read().map_err(Self::poisoned)?;
        Ok(tokens.by_id.get(id).cloned())
    }

    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError> {
        let mut tokens = self.inner.write().map_err(Self::poisoned)?;
        let Some(record) = tokens.by_id.get_mut(id) else {
            return Ok(RevokeOutcome::Unknown);
        };
        if record.revoked_at.is_some() {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        record.revoked_at = Some(at);
        tokens.revoked.insert(RevocationCursor {
            revoked_at: at,
            token_id: id.clone(),
        });
        Ok(RevokeOutcome::Revoked)
    }

    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        let tokens = self.inner.read().map_err(Self::poisoned)?;
        Ok(tokens.by_id.get(id).is_some_and(|r| r.revoked_at.is_some()))
    }

    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        let tokens = self.inner.read().map_err(Self::poisoned)?;
        let range: Box<dyn Iterator<Item = &RevocationCursor>> = match &after {
            Some(cursor) => Box::new(tokens.revoked.range((
                std::ops::Bound::Excluded(cursor),
                std::ops::Bound::Unbounded,
            ))),
            None => Box::new(tokens.revoked.iter()),
        };
        Ok(range
            .take(limit)
            .filter_map(|c| {
                tokens.by_id.get(&c.token_id).map(|r| Revocation {
                    token_id: c.token_id.clone(),
                    revoked_at: c.revoked_at,
                    expires_at: r.claims.expires_at,
                })
            })
            .collect())
    }

    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tokens = self.inner.write().map_err(Self::poisoned)?;
        let dead: Vec<TokenId> = tokens
            .by_id
            .values()
            .filter(|r| r.claims.expires_at < before)
            .map(|r| r.id().clone())
            .collect();
        for id in &dead {
            if let Some(record) = tokens.by_id.remove(id) {
                if let Some(at) = record.revoked_at {
                    tokens.revoked.remove(&RevocationCursor {
                        revoked_at: at,
                        token_id: id.clone(),
                    });
                }
            }
        }
        Ok(dead.len() as u64)
    }

    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError> {
        let mut tokens = self.inner.write().map_err(Self::poisoned)?;
        let held = tokens.clients.get(&revocation.client_id);
        if held.is_none_or(|h| h.issued_before < revocation.issued_before) {
            tokens
                .clients
                .insert(revocation.client_id.clone(), revocation.clone());
        }
        Ok(())
    }

    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError> {
        let tokens = self.inner.read().map_err(Self::poisoned)?;
        Ok(tokens
            .clients
            .values()
            .filter(|r| r.revoked_at >= since)
            .cloned()
            .collect())
    }
}

#[derive(Clone, Default)]
pub struct InMemoryClientRegistry {
    inner: Arc<RwLock<BTreeMap<ClientId, Client>>>,
}

impl InMemoryClientRegistry {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ClientRegistry for InMemoryClientRegistry {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let clients = self.inner.read().map_err(InMemoryTokenStore::poisoned)?;
        Ok(clients.get(id).cloned())
    }

    async fn upsert(&self, client: &Client) -> Result<(), StoreError> {
        let mut clients = self.inner.write().map_err(InMemoryTokenStore::poisoned)?;
        clients.insert(client.id.clone(), client.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let clients = self.inner.read().map_err(InMemoryTokenStore::poisoned)?;
        Ok(clients.values().cloned().collect())
    }
}
