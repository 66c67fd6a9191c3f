//! [`WriteBehindStore`]: the token store of the write-behind mode.

use crate::domain::{ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord};
use crate::ports::{
    QueueStats, RecordQueue, RevocationCursor, RevokeOutcome, StoreError, TokenCache, TokenStore,
};
use async_trait::async_trait;

/// How many revocations [`WriteBehindStore::warm_revocations`] loads per page: large enough
/// that warming a big revocation list takes few round trips, small enough that one page is a
/// modest message for either store.
const WARM_PAGE: usize = 1000;

/// A [`TokenStore`] that records through a queue and a cache, and keeps the permanent store
/// for everything that has to be authoritative (revocation, listing, pruning).
pub struct WriteBehindStore<Q, C, S> {
    queue: Q,
    cache: C,
    permanent: S,
    /// Records written through to the permanent store because the queue refused them.
    fallbacks: std::sync::atomic::AtomicU64,
}

impl<Q: RecordQueue, C: TokenCache, S: TokenStore> WriteBehindStore<Q, C, S> {
    pub fn new(queue: Q, cache: C, permanent: S) -> Self {
        Self {
            queue,
            cache,
            permanent,
            fallbacks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many records were written through because the queue was unavailable.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    pub fn cache(&self) -> &C {
        &self.cache
    }

    pub fn permanent(&self) -> &S {
        &self.permanent
    }

    /// The queue's depth, pending count, lag and dead letters, for metrics.
    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.queue.stats().await
    }

    /// Loads the revocations of unexpired tokens from the permanent store into the cache and
    /// then declares the cache authoritative. Returns how many revocations were listed.
    ///
    /// Call it at start-up and whenever [`Self::warm_revocations_if_needed`] finds the cache
    /// without authority (e.g. after Redis lost its data). Revocations made while it runs are
    /// marked in the cache by their own requests, so none is missed by starting too early.
    pub async fn warm_revocations(&self) -> Result<u64, StoreError> {
        let mut cursor: Option<RevocationCursor> = None;
        let mut listed = 0u64;
        loop {
            let page = self
                .permanent
                .revocations(cursor.clone(), WARM_PAGE)
                .await?;
            self.cache.mark_revoked_many(&page).await?;
            listed += page.len() as u64;
            match page.last() {
                Some(last) if page.len() == WARM_PAGE => {
                    cursor = Some(RevocationCursor {
                        revoked_at: last.revoked_at,
                        token_id: last.token_id.clone(),
                    });
                }
                _ => break,
            }
        }
        self.cache.mark_complete().await?;
        Ok(listed)
    }

    /// Warms the cache if it is not authoritative; `Some(count)` when it did. Cheap when there
    /// is nothing to do (one cache read), so the binary may call it periodically.
    pub async fn warm_revocations_if_needed(&self) -> Result<Option<u64>, StoreError> {
        if self.cache.is_complete().await? {
            return Ok(None);
        }
        self.warm_revocations().await.map(Some)
    }

    /// Puts the (now revoked) record and its revocation marker into the cache.
    ///
    /// If the marker cannot be written, the cache must not go on answering "not revoked" for
    /// this token: its authority is withdrawn instead (lookups then go to the permanent store
    /// until it is warmed again), and only if that fails too is the revocation reported as
    /// failed, so the client retries (a retry finds it `AlreadyRevoked` and marks it again).
    async fn publish_revocation(&self, id: &TokenId) -> Result<(), StoreError> {
        let record = match self.permanent.get(id).await {
            Ok(Some(record)) => record,
            // Pruned in the meantime: expired, so no marker is needed.
            Ok(None) => return Ok(()),
            Err(error) => return self.withdraw_authority(id, error).await,
        };
        if let Err(error) = self.cache.put_record(&record).await {
            // Only the cached copy's `revoked_at` is stale; verification reads the marker.
            tracing::warn!(token_id = %id, %error, "could not refresh the cached token record");
        }
        match self.cache.mark_revoked(id, record.claims.expires_at).await {
            Ok(()) => Ok(()),
            Err(error) => self.withdraw_authority(id, error).await,
        }
    }

    async fn withdraw_authority(&self, id: &TokenId, cause: StoreError) -> Result<(), StoreError> {
        match self.cache.mark_incomplete().await {
            Ok(()) => {
                tracing::warn!(
                    token_id = %id, error = %cause,
                    "could not mark a revocation in the cache; revocation lookups go to the \
                     permanent store until the cache is warmed again"
                );
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    token_id = %id, %cause, %error,
                    "could neither mark a revocation in the cache nor withdraw its authority"
                );
                Err(cause)
            }
        }
    }
}

#[async_trait]
impl<Q: RecordQueue, C: TokenCache, S: TokenStore> TokenStore for WriteBehindStore<Q, C, S> {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.record_many(std::slice::from_ref(record)).await
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // The queue is the commitment: once it accepted the records, they will reach the
        // permanent store, so nothing after this may fail the request. The cached copies are
        // written at the same time, not after: when both live in one Redis, the commands of a
        // whole batch then share a round trip (and, with `appendfsync always`, one fsync).
        let (enqueued, cached) = futures_util::future::join(
            self.queue.enqueue_many(records),
            self.cache.put_records(records),
        )
        .await;
        if let Err(error) = enqueued {
            // The queue (Redis) is down: write through instead. Slower, but the records are
            // durable before the clients hear of them; only if both fail do the requests fail.
            // Records the queue did take before failing are then written twice, harmlessly.
            self.fallbacks
                .fetch_add(records.len() as u64, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(records = records.len(), %error,
                "write-behind queue unavailable; writing the token records through");
            return self.permanent.record_many(records).await;
        }
        if let Err(error) = cached {
            // Without the cached copy, a revocation arriving before the worker wrote the record
            // would not find it anywhere (the queue cannot be searched by token id). Writing
            // them through now closes that gap; the worker's later inserts are then no-ops.
            tracing::warn!(records = records.len(), %error,
                "could not cache queued token records; writing them through");
            if let Err(error) = self.permanent.record_many(records).await {
                tracing::warn!(records = records.len(), %error,
                    "could not write queued token records through either; a revocation \
                     before the worker writes them would find no token");
            }
        }
        Ok(())
    }

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        match self.cache.get_record(id).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(error) => tracing::warn!(token_id = %id, %error, "token cache read failed"),
        }
        let found = self.permanent.get(id).await?;
        if let Some(record) = &found {
            if let Err(error) = self.cache.put_record(record).await {
                tracing::warn!(token_id = %id, %error, "could not cache a token record");
            }
        }
        Ok(found)
    }

    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError> {
        let mut outcome = self.permanent.revoke(id, at).await?;
        if outcome == RevokeOutcome::Unknown {
            // Maybe still queued: the cache holds every queued record (or it was written
            // through). A cache error is returned rather than guessed at: answering "unknown"
            // for a queued token would drop the revocation, and the client may retry.
            let Some(record) = self.cache.get_record(id).await? else {
                return Ok(RevokeOutcome::Unknown);
            };
            self.permanent.record(&record).await?;
            outcome = self.permanent.revoke(id, at).await?;
        }
        if outcome != RevokeOutcome::Unknown {
            self.publish_revocation(id).await?;
        }
        Ok(outcome)
    }

    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        match self.cache.revoked(id).await {
            Ok(Some(revoked)) => return Ok(revoked),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(token_id = %id, %error,
                    "revocation cache lookup failed; asking the permanent store");
            }
        }
        self.permanent.is_revoked(id).await
    }

    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.permanent.revocations(after, limit).await
    }

    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        // The cache expires its entries by itself (records and markers live until expiry).
        self.permanent.prune_expired(before).await
    }

    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError> {
        self.permanent.revoke_client(revocation).await
    }

    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError> {
        self.permanent.client_revocations(since).await
    }
}
