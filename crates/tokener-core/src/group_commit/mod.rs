//! Group commit: the records of concurrent `record` calls are written together, with one
//! `record_many` per batch, instead of one store round trip each.
//!
//! A batch is whatever arrived while the previous writes were in flight, up to
//! [`GroupLimits::max_batch`]: there is no timer, so a lone request is written at once and pays
//! nothing, and under load the batches grow by themselves until the store keeps up. A caller's
//! `record` returns only once the batch holding its record was acknowledged by the store, with
//! that batch's outcome: a failed batch fails exactly its own callers.
//!
//! The runtime is the caller's: [`group_commit`] hands back the store and the [`Committer`]
//! whose [`Committer::run`] future does the writing; the binary spawns it. It ends once every
//! handle of the store is dropped and the last batch is written.

mod committer;
mod store;

pub use committer::Committer;
pub use store::GroupCommitStore;

use crate::domain::TokenRecord;
use crate::ports::{StoreError, TokenStore};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How large a batch may grow and how many may be written at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// The most records one `record_many` carries.
    ///
    /// Default 256: one MongoDB `insert_many` of 256 token documents is ~130 KiB, far inside a
    /// message, and at the rates one instance reaches (a few thousand tokens per write latency)
    /// batches rarely hit it; a failed batch fails at most this many requests.
    pub max_batch: usize,
    /// The most batches written at once.
    ///
    /// Default 2: while one batch waits for the store's acknowledgement the next one is
    /// already on its way, so the store is never idle between batches; more would mostly
    /// queue behind the store's own write lock and split batches smaller.
    pub in_flight: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        Self {
            max_batch: 256,
            in_flight: 2,
        }
    }
}

/// What the group commit did so far, for metrics: `records / batches` is the mean batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupStats {
    /// Batches handed to the store (written or failed).
    pub batches: u64,
    /// Records in those batches.
    pub records: u64,
    /// Records waiting for a batch right now.
    pub waiting: u64,
}

/// The counters the committer keeps and the store reads.
#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    records: AtomicU64,
}

impl Counters {
    fn count(&self, batch: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(batch as u64, Ordering::Relaxed);
    }
}

/// A record on its way into a batch, and where its batch's outcome goes.
struct Pending {
    record: TokenRecord,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// `inner` behind group commit: the store to hand to the services, and the committer to spawn.
/// Everything but `record` goes straight to `inner`.
pub fn group_commit<S: TokenStore + Clone>(
    inner: S,
    limits: GroupLimits,
) -> (GroupCommitStore<S>, Committer<S>) {
    let limits = GroupLimits {
        max_batch: limits.max_batch.max(1),
        in_flight: limits.in_flight.max(1),
    };
    // Room for a few full batches: past that, callers wait for room (back-pressure), which
    // only happens when the store is slower than the requests arriving.
    let (sender, receiver) = mpsc::channel(limits.max_batch * (limits.in_flight + 2));
    let counters = Arc::new(Counters::default());
    (
        GroupCommitStore::new(inner.clone(), sender, counters.clone()),
        Committer::new(inner, receiver, limits, counters),
    )
}
