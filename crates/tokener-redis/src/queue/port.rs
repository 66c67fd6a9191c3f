//! The port, over the partitions: appends go to one partition per batch, everything else
//! visits the partitions in turn.

use super::{RedisQueue, EMPTY_PASS_WAIT};
use crate::codec::encode_record;
use async_trait::async_trait;
use std::future::Future;
use std::time::Duration;
use tokener_core::{
    EntryId, QueueStats, QueuedRecord, RecordQueue, StoreError, TokenId, TokenRecord,
};

impl RedisQueue {
    /// Appends a batch to the partition of its first record (or, while that one fails, to
    /// another: see [`super::partitions::AVOID_FAILED_FOR`]).
    async fn append_batch(
        &self,
        first: &TokenId,
        payloads: Vec<Vec<u8>>,
    ) -> Result<Vec<EntryId>, StoreError> {
        let partition = self.partitions.for_append(first);
        let appended = self.append(partition, payloads).await;
        if appended.is_err() && self.partitions.count() > 1 {
            self.partitions.avoid(partition);
        }
        appended
    }

    /// Visits the partitions in turn (see [`super::partitions::Partitions::pass`]), asking
    /// each for what is still wanted, until `max` entries are gathered.
    async fn gather<F, Fut>(&self, max: usize, mut take: F) -> Result<Vec<QueuedRecord>, StoreError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<Vec<QueuedRecord>, StoreError>>,
    {
        let mut gathered = Vec::new();
        for partition in self.partitions.pass() {
            if gathered.len() >= max {
                break;
            }
            let want = max - gathered.len();
            gathered.extend(take(partition, want).await?);
        }
        Ok(gathered)
    }
}

#[async_trait]
impl RecordQueue for RedisQueue {
    async fn enqueue(&self, record: &TokenRecord) -> Result<EntryId, StoreError> {
        let payload = encode_record(record)?;
        // With `appendfsync always` the reply comes after the entry reached the disk.
        let mut ids = self.append_batch(record.id(), vec![payload]).await?;
        Ok(ids.remove(0))
    }

    async fn enqueue_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let payloads = records
            .iter()
            .map(encode_record)
            .collect::<Result<Vec<_>, _>>()?;
        // The whole batch in one partition: one round trip, and its order kept.
        self.append_batch(first.id(), payloads).await.map(drop)
    }

    async fn read(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        if self.reads_block() {
            return self.read_partition(0, consumer, max, block).await;
        }
        let read = self
            .gather(max, |partition, want| {
                self.read_partition(partition, consumer, want, Duration::ZERO)
            })
            .await?;
        if read.is_empty() && !block.is_zero() {
            tokio::time::sleep(block.min(EMPTY_PASS_WAIT)).await;
        }
        Ok(read)
    }

    async fn redeliver(&self, consumer: &str, max: usize) -> Result<Vec<QueuedRecord>, StoreError> {
        self.gather(max, |partition, want| {
            self.redeliver_partition(partition, consumer, want)
        })
        .await
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        self.gather(max, |partition, want| {
            self.reclaim_partition(partition, consumer, min_idle, want)
        })
        .await
    }

    async fn ack(&self, entries: &[EntryId]) -> Result<(), StoreError> {
        for (partition, ids) in self.partitions.group(entries)? {
            self.ack_partition(partition, &ids).await?;
        }
        Ok(())
    }

    async fn dead_letter(&self, entry: &QueuedRecord, reason: &str) -> Result<(), StoreError> {
        self.dead_letter_entry(entry, reason).await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let mut total = QueueStats {
            depth: 0,
            pending: 0,
            lag: None,
            dead_letters: 0,
        };
        for partition in 0..self.partitions.count() {
            let stats = self.partition_stats(partition).await?;
            total.depth += stats.depth;
            total.pending += stats.pending;
            total.dead_letters += stats.dead_letters;
            total.lag = total.lag.max(stats.lag);
        }
        Ok(total)
    }
}
