//! Write-behind: token records go to a durable queue on the request path and reach the
//! permanent store later, in batches, through [`WriteBehindWorker`]; a cache in front answers
//! the hot reads (verification, client authentication).
//!
//! The promise to clients: a successful `record` means the record is durably enqueued and will
//! reach the permanent store. The pieces that keep it:
//!
//! * [`WriteBehindStore::record`] succeeds only once the queue accepted the record (the queue
//!   port's `enqueue` is durable on `Ok`).
//! * The worker acknowledges entries only after the permanent store confirmed them, so a crash
//!   at any point leaves them pending, to be handed out again (to the same consumer name on
//!   restart, or to another instance once idle long enough). The permanent store's
//!   `record_many` is idempotent, so writing an entry twice is harmless.
//! * Revocation of a token still in the queue writes its record through to the permanent store
//!   first, so the worker's later insert (a no-op for an id already recorded) cannot undo it.
//!
//! The runtime is the caller's: nothing here sleeps or spawns. The binary drives
//! [`WriteBehindWorker::run_once`] in a loop of its own, backs off after errors, and calls
//! [`WriteBehindWorker::drain`] on shutdown.

use crate::cache::TokenCache;
use crate::domain::{Client, ClientId, Revocation, Timestamp, TokenId, TokenRecord};
use crate::ports::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use crate::queue::{EntryId, QueueStats, QueuedRecord, RecordQueue};
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::Duration;

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
        // The queue is the commitment: once it accepted the record, the record will reach the
        // permanent store, so nothing after this may fail the request. The cached copy is
        // written at the same time, not after: when both live in one Redis, the two commands
        // then share a round trip (and, with `appendfsync always`, one fsync).
        let (enqueued, cached) =
            futures_util::future::join(self.queue.enqueue(record), self.cache.put_record(record))
                .await;
        if let Err(error) = enqueued {
            // The queue (Redis) is down: write through instead. Slower, but the record is
            // durable before the client hears of it; only if both fail does the request fail.
            self.fallbacks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(token_id = %record.id(), %error,
                "write-behind queue unavailable; writing the token record through");
            return self.permanent.record(record).await;
        }
        if let Err(error) = cached {
            // Without the cached copy, a revocation arriving before the worker wrote the record
            // would not find it anywhere (the queue cannot be searched by token id). Writing it
            // through now closes that gap; the worker's later insert is then a no-op.
            tracing::warn!(token_id = %record.id(), %error,
                "could not cache a queued token record; writing it through");
            if let Err(error) = self.permanent.record(record).await {
                tracing::warn!(token_id = %record.id(), %error,
                    "could not write a queued token record through either; a revocation \
                     before the worker writes it would find no token");
            }
        }
        Ok(())
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        // Per record, so each one's promise is the same as `record`'s. An error part-way leaves
        // the earlier records enqueued; retrying the call is safe as recording is idempotent.
        for record in records {
            self.record(record).await?;
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
}

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

/// How the worker batches and when it gives up on an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The most entries one cycle handles (and writes in one `record_many`).
    ///
    /// Default 500: one MongoDB `insert_many` of 500 small documents (~0.5 KiB each) is one
    /// round trip well inside the server's 48 MB message limit and the store's operation
    /// timeout, and 500 entries per cycle keep up with thousands of tokens per second while a
    /// failing batch still holds back only a modest number of records.
    pub batch_size: usize,

    /// How long a read waits for new entries when a cycle found nothing to do.
    ///
    /// Default 100 ms: records reach the permanent store within about that long of being
    /// enqueued when the service is quiet, while an idle worker costs the queue's server ten
    /// cheap blocking reads a second.
    pub block: Duration,

    /// How long an entry must have been pending on some consumer before another one takes it
    /// over.
    ///
    /// Default 30 s: far longer than a healthy cycle (one write bounded by the permanent
    /// store's operation timeout, 5 s by default), so a live worker's entries are not taken
    /// from it mid-write, yet short enough that entries of a dead instance reach the permanent
    /// store within a minute. Taking over a live worker's entries is only wasteful, never
    /// wrong: writes are idempotent and acknowledging twice is harmless.
    pub min_idle: Duration,

    /// After how many deliveries an entry the permanent store still refuses goes to the
    /// dead-letter log.
    ///
    /// Default 10. An entry is never dead-lettered merely for having been delivered often (a
    /// permanent-store outage redelivers everything, many times): past this count it is
    /// written on its own, and dead-lettered only if that write fails while the store answers
    /// reads, i.e. the store is up and refuses this record. Ten tries with the caller's backoff
    /// rides out transient refusals without keeping a bad record around for long.
    pub max_deliveries: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            block: Duration::from_millis(100),
            min_idle: Duration::from_secs(30),
            max_deliveries: 10,
        }
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Entries of this consumer's own, pending from an earlier cycle, handed out again.
    pub redelivered: usize,
    /// Entries taken over from other (probably dead) consumers.
    pub reclaimed: usize,
    /// New entries read.
    pub read: usize,
    /// Entries the permanent store confirmed, now acknowledged.
    pub written: usize,
    /// Entries moved to the dead-letter log.
    pub dead_lettered: usize,
    /// Entries the permanent store refused while answering, left pending for a later cycle.
    pub held: usize,
}

impl WorkerReport {
    /// Entries this cycle took in.
    pub fn handled(&self) -> usize {
        self.redelivered + self.reclaimed + self.read
    }

    /// Nothing to do: the queue had no entry for this consumer.
    pub fn is_idle(&self) -> bool {
        self.handled() == 0
    }

    /// Some entries were refused and left pending: the next cycle would hand them out again
    /// at once, so the caller should wait (with backoff) before it.
    pub fn should_back_off(&self) -> bool {
        self.held > 0
    }

    fn add(&mut self, other: &WorkerReport) {
        self.redelivered += other.redelivered;
        self.reclaimed += other.reclaimed;
        self.read += other.read;
        self.written += other.written;
        self.dead_lettered += other.dead_lettered;
        self.held += other.held;
    }
}

/// Moves records from the queue to the permanent store. Any number of workers, in any number
/// of instances, may run on one queue, each under its own consumer name.
pub struct WriteBehindWorker<Q, S> {
    queue: Q,
    permanent: S,
    config: WorkerConfig,
}

impl<Q: RecordQueue, S: TokenStore> WriteBehindWorker<Q, S> {
    pub fn new(queue: Q, permanent: S, config: WorkerConfig) -> Self {
        // A zero batch would make every cycle idle and nothing would ever be written.
        let config = WorkerConfig {
            batch_size: config.batch_size.max(1),
            ..config
        };
        Self {
            queue,
            permanent,
            config,
        }
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// The queue's depth, pending count, lag and dead letters, for metrics.
    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.queue.stats().await
    }

    /// One cycle: take up to `batch_size` entries — this consumer's own pending ones first
    /// (left by a failed cycle or a previous life under the same name), then ones idle on any
    /// consumer for `min_idle`, then new ones (waiting up to `block` only if there was nothing
    /// else) — and write them to the permanent store, acknowledging each only after the store
    /// confirmed it.
    ///
    /// An `Err` means the permanent store (or the queue) is unavailable: the entries taken in
    /// stay pending and come back in a later cycle; the caller should back off before it.
    pub async fn run_once(&self, consumer: &str) -> Result<WorkerReport, StoreError> {
        let batch = self.config.batch_size;
        let mut report = WorkerReport::default();
        let mut entries = self.queue.redeliver(consumer, batch).await?;
        report.redelivered = entries.len();
        if entries.len() < batch {
            let taken = self
                .queue
                .reclaim(consumer, self.config.min_idle, batch - entries.len())
                .await?;
            report.reclaimed = taken.len();
            entries.extend(taken);
        }
        if entries.len() < batch {
            // Waiting is only worth it with nothing in hand.
            let block = if entries.is_empty() {
                self.config.block
            } else {
                Duration::ZERO
            };
            let fresh = self
                .queue
                .read(consumer, batch - entries.len(), block)
                .await?;
            report.read = fresh.len();
            entries.extend(fresh);
        }
        // A short `min_idle` may take over entries just redelivered in this very cycle: keep
        // one copy of each (the later delivery, whose count is the current one).
        self.process(dedup(entries), &mut report).await?;
        Ok(report)
    }

    /// Runs cycles until one finds nothing to do (or `max_cycles` ran), e.g. on shutdown after
    /// the service stopped accepting requests. Returns the sum of the cycles' reports; stops at
    /// the first error.
    pub async fn drain(
        &self,
        consumer: &str,
        max_cycles: usize,
    ) -> Result<WorkerReport, StoreError> {
        let mut total = WorkerReport::default();
        for _ in 0..max_cycles {
            let report = self.run_once(consumer).await?;
            total.add(&report);
            if report.is_idle() || report.should_back_off() {
                break;
            }
        }
        Ok(total)
    }

    async fn process(
        &self,
        entries: Vec<QueuedRecord>,
        report: &mut WorkerReport,
    ) -> Result<(), StoreError> {
        let mut fresh: Vec<(EntryId, TokenRecord)> = Vec::new();
        let mut suspects: Vec<(QueuedRecord, TokenRecord)> = Vec::new();
        for entry in entries {
            match entry.record.clone() {
                // No retry can decode it: dead-letter at once rather than after N deliveries.
                None => {
                    self.queue
                        .dead_letter(&entry, "undecodable payload")
                        .await?;
                    report.dead_lettered += 1;
                    tracing::error!(entry = %entry.entry, "dead-lettered an undecodable queue entry");
                }
                Some(record) if entry.deliveries > self.config.max_deliveries => {
                    suspects.push((entry, record));
                }
                Some(record) => fresh.push((entry.entry, record)),
            }
        }

        if !fresh.is_empty() {
            let records: Vec<TokenRecord> = fresh.iter().map(|(_, r)| r.clone()).collect();
            match self.permanent.record_many(&records).await {
                Ok(()) => {
                    let ids: Vec<EntryId> = fresh.iter().map(|(e, _)| e.clone()).collect();
                    self.queue.ack(&ids).await?;
                    report.written += ids.len();
                }
                Err(error) => {
                    // Down, or up and refusing something in the batch? A read tells: if the
                    // store answers, write one by one so good records do not wait on a bad one.
                    if self.permanent.get(records[0].id()).await.is_err() {
                        return Err(error);
                    }
                    tracing::warn!(%error, "the permanent store refused a batch; writing its records one by one");
                    for (entry, record) in &fresh {
                        self.write_one(entry, record, None, report).await?;
                    }
                }
            }
        }

        // Delivered many times already: most likely victims of an outage or of a crashed
        // worker, possibly a record the store refuses. Written alone, so one cannot hold back
        // the others, and dead-lettered if the store answers yet refuses it.
        for (entry, record) in &suspects {
            self.write_one(&entry.entry, record, Some(entry), report)
                .await?;
        }
        Ok(())
    }

    /// Writes one record and acknowledges it. On failure, probes the store with a read of the
    /// same id: unreachable means an outage (return the error, everything stays pending);
    /// already there means done; otherwise the store refused this record, and it is
    /// dead-lettered if `dead_letter` is given, else left pending for a later cycle.
    async fn write_one(
        &self,
        entry: &EntryId,
        record: &TokenRecord,
        dead_letter: Option<&QueuedRecord>,
        report: &mut WorkerReport,
    ) -> Result<(), StoreError> {
        let error = match self.permanent.record(record).await {
            Ok(()) => {
                self.queue.ack(std::slice::from_ref(entry)).await?;
                report.written += 1;
                return Ok(());
            }
            Err(error) => error,
        };
        match self.permanent.get(record.id()).await {
            Err(_) => Err(error),
            Ok(Some(_)) => {
                self.queue.ack(std::slice::from_ref(entry)).await?;
                report.written += 1;
                Ok(())
            }
            Ok(None) => {
                match dead_letter {
                    Some(queued) => {
                        let reason = format!(
                            "refused by the permanent store after {} deliveries: {error}",
                            queued.deliveries
                        );
                        self.queue.dead_letter(queued, &reason).await?;
                        report.dead_lettered += 1;
                        tracing::error!(entry = %entry, token_id = %record.id(), %error,
                            "dead-lettered a token record the permanent store refuses");
                    }
                    None => {
                        report.held += 1;
                        tracing::warn!(entry = %entry, token_id = %record.id(), %error,
                            "the permanent store refused a token record; it stays queued");
                    }
                }
                Ok(())
            }
        }
    }
}

/// `entries` with one element per entry id, where it first appeared, holding its last delivery.
fn dedup(entries: Vec<QueuedRecord>) -> Vec<QueuedRecord> {
    let mut position: HashMap<EntryId, usize> = HashMap::with_capacity(entries.len());
    let mut unique: Vec<QueuedRecord> = Vec::with_capacity(entries.len());
    for entry in entries {
        match position.get(&entry.entry) {
            Some(&i) => unique[i] = entry,
            None => {
                position.insert(entry.entry.clone(), unique.len());
                unique.push(entry);
            }
        }
    }
    unique
}
