//! A process-local [`TokenCache`]: for tests, and as a stand-in where no Redis runs. Entries
//! expire by the clock it is given (the system clock by default).

use crate::domain::{
    Client, ClientId, Clock, Revocation, SystemClock, Timestamp, TokenId, TokenRecord,
};
use crate::ports::StoreError;
use crate::ports::TokenCache;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How long a client stays cached unless told otherwise: short, because a cached client may be
/// stale by up to this long after a change (see `CachedClientRegistry`).
pub const DEFAULT_CLIENT_TTL_SECS: u64 = 60;

#[derive(Default)]
struct State {
    records: HashMap<TokenId, TokenRecord>,
    /// Revocation markers and when they lapse (the token's expiry).
    revoked: HashMap<TokenId, Timestamp>,
    complete: bool,
    clients: HashMap<ClientId, (Client, Timestamp)>,
}

/// Cheap to clone (clones share the data), safe across threads.
#[derive(Clone)]
pub struct InMemoryTokenCache {
    inner: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    client_ttl_secs: u64,
}

impl Default for InMemoryTokenCache {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl InMemoryTokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::default(),
            clock,
            client_ttl_secs: DEFAULT_CLIENT_TTL_SECS,
        }
    }

    pub fn with_client_ttl(mut self, seconds: u64) -> Self {
        self.client_ttl_secs = seconds;
        self
    }

    /// Forgets everything, authority included: what a cache server losing its data looks like.
    pub fn clear(&self) -> Result<(), StoreError> {
        *self.lock()? = State::default();
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::unavailable("in-memory cache lock poisoned"))
    }
}

#[async_trait]
impl TokenCache for InMemoryTokenCache {
    async fn put_record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if record.claims.expires_at > self.clock.now() {
            state.records.insert(record.id().clone(), record.clone());
        } else {
            state.records.remove(record.id());
        }
        Ok(())
    }

    async fn put_records(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        for record in records {
            self.put_record(record).await?;
        }
        Ok(())
    }

    async fn get_record(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.clock.now();
        let state = self.lock()?;
        Ok(state
            .records
            .get(id)
            .filter(|r| r.claims.expires_at > now)
            .cloned())
    }

    async fn evict_record(&self, id: &TokenId) -> Result<(), StoreError> {
        self.lock()?.records.remove(id);
        Ok(())
    }

    async fn mark_revoked(&self, id: &TokenId, expires_at: Timestamp) -> Result<(), StoreError> {
        if expires_at > self.clock.now() {
            self.lock()?.revoked.insert(id.clone(), expires_at);
        }
        Ok(())
    }

    async fn mark_revoked_many(&self, revocations: &[Revocation]) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut state = self.lock()?;
        for r in revocations.iter().filter(|r| r.expires_at > now) {
            state.revoked.insert(r.token_id.clone(), r.expires_at);
        }
        Ok(())
    }

    async fn revoked(&self, id: &TokenId) -> Result<Option<bool>, StoreError> {
        let now = self.clock.now();
        let state = self.lock()?;
        if state.revoked.get(id).is_some_and(|until| *until > now) {
            return Ok(Some(true));
        }
        Ok(state.complete.then_some(false))
    }

    async fn mark_complete(&self) -> Result<(), StoreError> {
        self.lock()?.complete = true;
        Ok(())
    }

    async fn mark_incomplete(&self) -> Result<(), StoreError> {
        self.lock()?.complete = false;
        Ok(())
    }

    async fn is_complete(&self) -> Result<bool, StoreError> {
        Ok(self.lock()?.complete)
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let until = self.clock.now().plus_secs(self.client_ttl_secs);
        self.lock()?
            .clients
            .insert(client.id.clone(), (client.clone(), until));
        Ok(())
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let now = self.clock.now();
        let state = self.lock()?;
        Ok(state
            .clients
            .get(id)
            .filter(|(_, until)| *until > now)
            .map(|(c, _)| c.clone()))
    }

    async fn evict_client(&self, id: &ClientId) -> Result<(), StoreError> {
        self.lock()?.clients.remove(id);
        Ok(())
    }
}
