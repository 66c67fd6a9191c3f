//! The write-behind queue port: a durable, shared queue of token records on their way to the
//! permanent store.
//!
//! The model is a consumer group on a log (what a Redis Stream offers): every entry is handed
//! to exactly one consumer of the group when first read, stays *pending* (owned by that
//! consumer) until it is acknowledged, and can be taken over by another consumer once it has
//! been pending too long (its owner probably died). Acknowledging removes it for good. Entries
//! that can never be written go to a dead-letter log, kept for an operator.

use crate::domain::TokenRecord;
use crate::ports::StoreError;
use async_trait::async_trait;
use std::fmt;
use std::time::Duration;

/// An entry's id in the queue, as the adapter chose it (a Redis stream id such as
/// `1764000000000-0`, a sequence number in memory). Opaque to everyone else.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(String);

impl EntryId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecord {
    pub entry: EntryId,
    /// `None` when the payload could not be decoded (a poison entry: written by an incompatible
    /// version, or damaged). Such an entry can never be written and belongs in dead letters.
    pub record: Option<TokenRecord>,
    /// How many times the entry has been handed to a consumer, this time included (1 on the
    /// first read). Rises with every redelivery and takeover.
    pub deliveries: u64,
}

/// The queue's state, for metrics and readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Entries enqueued and not yet acknowledged (pending ones included): what still has to
    /// reach the permanent store.
    pub depth: u64,
    /// Of those, the entries handed to a consumer and not yet acknowledged.
    pub pending: u64,
    /// The age of the oldest unacknowledged entry: how far the permanent store is behind.
    /// `None` when the queue is empty.
    pub lag: Option<Duration>,
    /// Entries in the dead-letter log.
    pub dead_letters: u64,
}

/// A durable queue of token records shared by every instance of the service (one consumer
/// group). Consumers are named by the caller; a name must be unique among live instances and
/// should stay the same across a restart of one instance (so it finds its own pending entries
/// again), though entries of a name never seen again are still taken over by [`Self::reclaim`].
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RecordQueue: Send + Sync + 'static {
    /// Appends a record. `Ok` means durable: the record will be handed to a consumer even if
    /// this process and the queue's server restart right after.
    async fn enqueue(&self, record: &TokenRecord) -> Result<EntryId, StoreError>;

    /// Appends many records (a group commit's batch), in as few round trips as the adapter
    /// can, in order. `Ok` means every one of them is durable; on an error some of them may
    /// have been appended (they reach the permanent store like any other entry).
    async fn enqueue_many(&self, records: &[TokenRecord]) -> Result<(), StoreError>;

    /// Up to `max` entries no consumer of the group has seen yet, now pending for `consumer`,
    /// oldest first. Waits up to `block` for one to arrive when there is none (`Duration::ZERO`:
    /// do not wait; an adapter without a way to wait may return at once).
    async fn read(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueuedRecord>, StoreError>;

    /// Up to `max` entries already pending for `consumer` (read earlier and not acknowledged:
    /// a failed write, or a restart under the same name), handed to it again; their delivery
    /// counts rise.
    async fn redeliver(&self, consumer: &str, max: usize) -> Result<Vec<QueuedRecord>, StoreError>;

    /// Up to `max` entries pending on any consumer for at least `min_idle` since they were last
    /// handed out (typically those of a dead instance), now pending for `consumer`; their
    /// delivery counts rise and their idle time starts again.
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError>;

    /// Done with these entries: they leave the queue for good. Unknown or already acknowledged
    /// ids are ignored, so acknowledging twice is harmless.
    async fn ack(&self, entries: &[EntryId]) -> Result<(), StoreError>;

    /// Moves an entry to the dead-letter log, with the reason, and acknowledges it.
    async fn dead_letter(&self, entry: &QueuedRecord, reason: &str) -> Result<(), StoreError>;

    async fn stats(&self) -> Result<QueueStats, StoreError>;
}

#[async_trait]
impl<T: RecordQueue + ?Sized> RecordQueue for std::sync::Arc<T> {
    async fn enqueue(&self, record: &TokenRecord) -> Result<EntryId, StoreError> {
        (**self).enqueue(record).await
    }
    async fn enqueue_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        (**self).enqueue_many(records).await
    }
    async fn read(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        (**self).read(consumer, max, block).await
    }
    async fn redeliver(&self, consumer: &str, max: usize) -> Result<Vec<QueuedRecord>, StoreError> {
        (**self).redeliver(consumer, max).await
    }
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        (**self).reclaim(consumer, min_idle, max).await
    }
    async fn ack(&self, entries: &[EntryId]) -> Result<(), StoreError> {
        (**self).ack(entries).await
    }
    async fn dead_letter(&self, entry: &QueuedRecord, reason: &str) -> Result<(), StoreError> {
        (**self).dead_letter(entry, reason).await
    }
    async fn stats(&self) -> Result<QueueStats, StoreError> {
        (**self).stats().await
    }
}
