//! [`WriteBehindWorker`]: moves queued records to the permanent store.

use crate::domain::TokenRecord;
use crate::ports::{EntryId, QueueStats, QueuedRecord, RecordQueue, StoreError, TokenStore};
use std::collections::HashMap;
use std::time::Duration;

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
