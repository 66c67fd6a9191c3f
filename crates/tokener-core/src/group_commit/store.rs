//! [`GroupCommitStore`]: the token store handed to the services in the durable modes.

use super::{Counters, GroupStats, Pending};
use crate::domain::{ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord};
use crate::ports::{RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use async_trait::async_trait;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A [`TokenStore`] whose `record` joins the next batch of its [`super::Committer`]; every
/// other operation (including `record_many`, already a batch) goes straight to the inner store.
pub struct GroupCommitStore<S> {
    inner: S,
    batches: mpsc::Sender<Pending>,
    counters: Arc<Counters>,
}

impl<S> GroupCommitStore<S> {
    pub(super) fn new(inner: S, batches: mpsc::Sender<Pending>, counters: Arc<Counters>) -> Self {
        Self {
            inner,
            batches,
            counters,
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Batches and records so far, and the records waiting now.
    pub fn stats(&self) -> GroupStats {
        GroupStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            records: self.counters.records.load(Ordering::Relaxed),
            waiting: (self.batches.max_capacity() - self.batches.capacity()) as u64,
        }
    }
}

fn stopped() -> StoreError {
    StoreError::unavailable("record token: the group commit is not running (shutting down?)")
}

#[async_trait]
impl<S: TokenStore> TokenStore for GroupCommitStore<S> {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let (done, outcome) = oneshot::channel();
        let pending = Pending {
            record: record.clone(),
            done,
        };
        self.batches.send(pending).await.map_err(|_| stopped())?;
        // Dropped unanswered only if the committer stopped mid-batch: the record may or may
        // not be written, so the caller must not be told it is.
        outcome.await.map_err(|_| stopped())?
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        self.inner.record_many(records).await
    }

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError> {
        self.inner.revoke(id, at).await
    }

    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        self.inner.is_revoked(id).await
    }

    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.inner.revocations(after, limit).await
    }

    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.prune_expired(before).await
    }

    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError> {
        self.inner.revoke_client(revocation).await
    }

    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError> {
        self.inner.client_revocations(since).await
    }
}
