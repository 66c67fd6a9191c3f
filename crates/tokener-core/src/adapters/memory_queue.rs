//! A process-local [`RecordQueue`] with the consumer-group semantics of a Redis Stream: for
//! tests and for running the write-behind machinery without Redis. Not durable (a process exit
//! loses it), so never a real write-behind queue.

use crate::domain::TokenRecord;
use crate::ports::StoreError;
use crate::ports::{EntryId, QueueStats, QueuedRecord, RecordQueue};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// An entry moved to the dead-letter log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub entry: EntryId,
    /// The payload as it was enqueued (JSON of the record, or whatever was there).
    pub payload: String,
    pub reason: String,
    pub deliveries: u64,
}

struct Entry {
    payload: String,
    enqueued: Instant,
}

struct Pending {
    owner: String,
    delivered: Instant,
    deliveries: u64,
}

#[derive(Default)]
struct State {
    next: u64,
    /// Every unacknowledged entry, delivered or not, by sequence number.
    entries: BTreeMap<u64, Entry>,
    /// The group's cursor: entries after it have not been handed to anyone yet.
    last_delivered: u64,
    pending: BTreeMap<u64, Pending>,
    dead: Vec<DeadLetter>,
}

/// Cheap to clone (clones share the queue), safe across threads. Never waits in `read`: the
/// `block` argument is ignored (there is no runtime here to wait with).
#[derive(Clone, Default)]
pub struct InMemoryRecordQueue {
    inner: Arc<Mutex<State>>,
}

impl InMemoryRecordQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a raw payload, as a foreign or damaged writer might: how tests make a poison
    /// entry.
    pub fn push_payload(&self, payload: impl Into<String>) -> Result<EntryId, StoreError> {
        let mut state = self.lock()?;
        state.next += 1;
        let seq = state.next;
        state.entries.insert(
            seq,
            Entry {
                payload: payload.into(),
                enqueued: Instant::now(),
            },
        );
        Ok(entry_id(seq))
    }

    /// The dead-letter log, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.lock()?.dead.clone())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::unavailable("in-memory queue lock poisoned"))
    }
}

fn entry_id(seq: u64) -> EntryId {
    EntryId::new(seq.to_string())
}

fn parse(id: &EntryId) -> Option<u64> {
    id.as_str().parse().ok()
}

fn decode(payload: &str) -> Option<TokenRecord> {
    serde_json::from_str(payload).ok()
}

/// Hands the pending entry `seq` to `owner` (again), returning it as delivered.
fn deliver(state: &mut State, seq: u64, owner: &str, now: Instant) -> Option<QueuedRecord> {
    let payload = state.entries.get(&seq)?.payload.clone();
    let pending = state.pending.entry(seq).or_insert(Pending {
        owner: owner.to_owned(),
        delivered: now,
        deliveries: 0,
    });
    pending.owner = owner.to_owned();
    pending.delivered = now;
    pending.deliveries += 1;
    Some(QueuedRecord {
        entry: entry_id(seq),
        record: decode(&payload),
        deliveries: pending.deliveries,
    })
}

#[async_trait]
impl RecordQueue for InMemoryRecordQueue {
    async fn enqueue(&self, record: &TokenRecord) -> Result<EntryId, StoreError> {
        let payload = serde_json::to_string(record)
            .map_err(|e| StoreError::corrupt(format!("encode record: {e}")))?;
        self.push_payload(payload)
    }

    async fn enqueue_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        for record in records {
            self.enqueue(record).await?;
        }
        Ok(())
    }

    async fn read(
        &self,
        consumer: &str,
        max: usize,
        _block: Duration,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let mut state = self.lock()?;
        let now = Instant::now();
        let after = state.last_delivered;
        let new: Vec<u64> = state
            .entries
            .range(after + 1..)
            .take(max)
            .map(|(seq, _)| *seq)
            .collect();
        if let Some(last) = new.last() {
            state.last_delivered = *last;
        }
        Ok(new
            .into_iter()
            .filter_map(|seq| deliver(&mut state, seq, consumer, now))
            .collect())
    }

    async fn redeliver(&self, consumer: &str, max: usize) -> Result<Vec<QueuedRecord>, StoreError> {
        let mut state = self.lock()?;
        let now = Instant::now();
        let own: Vec<u64> = state
            .pending
            .iter()
            .filter(|(_, p)| p.owner == consumer)
            .take(max)
            .map(|(seq, _)| *seq)
            .collect();
        Ok(own
            .into_iter()
            .filter_map(|seq| deliver(&mut state, seq, consumer, now))
            .collect())
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let mut state = self.lock()?;
        let now = Instant::now();
        let idle: Vec<u64> = state
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.delivered) >= min_idle)
            .take(max)
            .map(|(seq, _)| *seq)
            .collect();
        Ok(idle
            .into_iter()
            .filter_map(|seq| deliver(&mut state, seq, consumer, now))
            .collect())
    }

    async fn ack(&self, entries: &[EntryId]) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        for seq in entries.iter().filter_map(parse) {
            state.entries.remove(&seq);
            state.pending.remove(&seq);
        }
        Ok(())
    }

    async fn dead_letter(&self, entry: &QueuedRecord, reason: &str) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(seq) = parse(&entry.entry) else {
            return Ok(());
        };
        // Like the Redis adapter: an entry already gone (acknowledged meanwhile) is still
        // logged, with what the caller knows of it.
        let payload = match state.entries.remove(&seq) {
            Some(e) => e.payload,
            None => entry
                .record
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok())
                .unwrap_or_default(),
        };
        state.pending.remove(&seq);
        state.dead.push(DeadLetter {
            entry: entry.entry.clone(),
            payload,
            reason: reason.to_owned(),
            deliveries: entry.deliveries,
        });
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let state = self.lock()?;
        Ok(QueueStats {
            depth: state.entries.len() as u64,
            pending: state.pending.len() as u64,
            lag: state.entries.values().next().map(|e| e.enqueued.elapsed()),
            dead_letters: state.dead.len() as u64,
        })
    }
}
