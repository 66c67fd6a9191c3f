//! Process-local stores. Cheap to clone (clones share the data), safe across threads.

use crate::domain::{
    Client, ClientId, ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord,
};
use crate::ports::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The detail of the error a full store answers with, before its bound.
const FULL: &str = "the in-memory store holds its maximum of";

/// The warning that the store is full is logged at most this often.
const FULL_WARNING_INTERVAL: Duration = Duration::from_secs(10);

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
    /// With a bound, once the store has been full: no record expires before this, so a full
    /// store need not scan its records again for expired ones until then.
    next_expiry: Option<Timestamp>,
}

impl Tokens {
    /// Drops the records of tokens expired before `before`, and their revocation entries.
    /// Returns how many were dropped.
    fn drop_expired(&mut self, before: Timestamp) -> usize {
        let dead: Vec<TokenId> = self
            .by_id
            .values()
            .filter(|r| r.claims.expires_at < before)
            .map(|r| r.id().clone())
            .collect();
        for id in &dead {
            if let Some(record) = self.by_id.remove(id) {
                if let Some(at) = record.revoked_at {
                    self.revoked.remove(&RevocationCursor {
                        revoked_at: at,
                        token_id: id.clone(),
                    });
                }
            }
        }
        self.next_expiry = self.by_id.values().map(|r| r.claims.expires_at).min();
        dead.len()
    }
}

#[derive(Clone, Default)]
pub struct InMemoryTokenStore {
    inner: Arc<RwLock<Tokens>>,
    /// At most this many token records, if set.
    max_tokens: Option<usize>,
    /// When the store last warned that it is full.
    warned_full: Arc<Mutex<Option<Instant>>>,
}

impl InMemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding at most `max_tokens` token records. A write that would go past the
    /// bound first drops the records of tokens expired by then (and their revocation entries);
    /// if the store is still full it is refused with [`StoreError::Unavailable`], so no token is
    /// handed out that was not recorded. Client-wide revocations are not counted.
    pub fn with_max_tokens(max_tokens: usize) -> Self {
        Self {
            max_tokens: Some(max_tokens),
            ..Self::default()
        }
    }

    /// Whether `error` is the refusal of a store at its bound (see [`Self::with_max_tokens`]).
    pub fn is_full(error: &StoreError) -> bool {
        matches!(error, StoreError::Unavailable { detail } if detail.starts_with(FULL))
    }

    /// Makes room for `records` under the bound, or says why there is none. "Now" is the
    /// latest issue time among them: the records being written are of tokens just issued, and
    /// the service's clock, not this adapter's, says what has expired.
    fn make_room(&self, tokens: &mut Tokens, records: &[TokenRecord]) -> Result<(), StoreError> {
        let Some(max) = self.max_tokens else {
            return Ok(());
        };
        let new = records
            .iter()
            .map(TokenRecord::id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|id| !tokens.by_id.contains_key(*id))
            .count();
        if tokens.by_id.len() + new <= max {
            return Ok(());
        }
        let now = records.iter().map(|r| r.claims.issued_at).max();
        if let Some(now) = now {
            if tokens.next_expiry.is_none_or(|next| next < now) {
                tokens.drop_expired(now);
            }
        }
        if tokens.by_id.len() + new <= max {
            return Ok(());
        }
        self.warn_full(max);
        Err(StoreError::unavailable(format!(
            "{FULL} {max} tokens (TOKENER_MEMORY_MAX_TOKENS) and none of them has expired"
        )))
    }

    /// Logs why issuance is refused, at most once per [`FULL_WARNING_INTERVAL`].
    fn warn_full(&self, max: usize) {
        let Ok(mut last) = self.warned_full.lock() else {
            return;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < FULL_WARNING_INTERVAL) {
            return;
        }
        *last = Some(now);
        tracing::warn!(
            max_tokens = max,
            "the in-memory store holds its maximum of {max} tokens and none has expired: \
             issuance is refused (503) until tokens expire; raise TOKENER_MEMORY_MAX_TOKENS \
             or configure MongoDB"
        );
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
        self.make_room(&mut tokens, records)?;
        for record in records {
            if let Some(next) = tokens.next_expiry {
                tokens.next_expiry = Some(next.min(record.claims.expires_at));
            }
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
        Ok(tokens.drop_expired(before) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::sample_record;

    /// A record of a token issued at `issued_at` and expiring at `expires_at` (Unix seconds).
    fn record(issued_at: u64, expires_at: u64) -> TokenRecord {
        let mut record = sample_record("billing", expires_at);
        record.claims.issued_at = Timestamp::from_unix(issued_at);
        record
    }

    #[tokio::test]
    async fn a_full_store_refuses_with_unavailable() {
        let store = InMemoryTokenStore::with_max_tokens(2);
        store.record(&record(100, 1000)).await.unwrap();
        store
            .record_many(&[record(100, 1000)])
            .await
            .expect("the second fits");
        let refused = record(200, 1000);
        let error = store.record(&refused).await.unwrap_err();
        assert!(InMemoryTokenStore::is_full(&error), "{error}");
        assert_eq!(
            error,
            StoreError::unavailable(
                "the in-memory store holds its maximum of 2 tokens \
                 (TOKENER_MEMORY_MAX_TOKENS) and none of them has expired"
            )
        );
        assert_eq!(store.get(refused.id()).await.unwrap(), None);
        // A batch that would go past the bound is refused whole.
        let error = store
            .record_many(&[record(200, 1000), record(200, 1000)])
            .await
            .unwrap_err();
        assert!(InMemoryTokenStore::is_full(&error));
        assert!(!InMemoryTokenStore::is_full(&StoreError::unavailable(
            "mongodb down"
        )));
    }

    #[tokio::test]
    async fn a_record_already_held_does_not_count_against_the_bound() {
        let store = InMemoryTokenStore::with_max_tokens(1);
        let held = record(100, 1000);
        store.record(&held).await.unwrap();
        store
            .record(&held)
            .await
            .expect("rewriting a record adds none");
    }

    #[tokio::test]
    async fn expired_records_are_dropped_first_so_issuance_continues() {
        let store = InMemoryTokenStore::with_max_tokens(2);
        let expired = record(100, 150);
        let live = record(100, 1000);
        store.record(&expired).await.unwrap();
        store.record(&live).await.unwrap();
        store
            .revoke(expired.id(), Timestamp::from_unix(120))
            .await
            .unwrap();
        assert_eq!(store.revocations(None, 10).await.unwrap().len(), 1);

        // At 200 the first token has expired: its record (and its revocation) make room.
        let next = record(200, 1000);
        store
            .record(&next)
            .await
            .expect("room made by dropping the expired record");
        assert_eq!(store.get(expired.id()).await.unwrap(), None);
        assert!(store.get(live.id()).await.unwrap().is_some());
        assert!(store.get(next.id()).await.unwrap().is_some());
        assert!(store.revocations(None, 10).await.unwrap().is_empty());

        // Full again, with nothing expired: refused, until the tokens expire.
        let error = store.record(&record(300, 2000)).await.unwrap_err();
        assert!(InMemoryTokenStore::is_full(&error));
        store
            .record_many(&[record(1001, 2000), record(1001, 2000)])
            .await
            .expect("both expired tokens make room for two");
    }

    #[tokio::test]
    async fn a_short_lived_record_written_after_a_scan_is_dropped_in_time() {
        let store = InMemoryTokenStore::with_max_tokens(2);
        store.record(&record(100, 1000)).await.unwrap();
        store.record(&record(100, 1000)).await.unwrap();
        // A scan at 200 finds nothing expired and remembers that nothing expires before 1000.
        assert!(store.record(&record(200, 1000)).await.is_err());
        // Pruning (retention) makes room for a short-lived token ...
        store
            .prune_expired(Timestamp::from_unix(1001))
            .await
            .unwrap();
        store.record(&record(300, 400)).await.unwrap();
        store.record(&record(300, 2000)).await.unwrap();
        // ... which, once expired, is dropped though the remembered expiry has not passed.
        store
            .record(&record(500, 2000))
            .await
            .expect("the token that expired at 400 made room");
    }
}
