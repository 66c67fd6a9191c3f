//! Contract-test suite of the write-behind queue ([`RecordQueue`]), run by every adapter crate
//! against its own adapter (re-exported from [`crate::contract`]). Expects a fresh, empty
//! queue of its own.

use super::fixtures::sample_record;
use crate::domain::TokenRecord;
use crate::ports::{EntryId, QueueStats, QueuedRecord, RecordQueue};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Runs every record-queue contract on `queue` (fresh and empty).
pub async fn record_queue<Q: RecordQueue>(queue: &Q) {
    enqueue_read_ack(queue).await;
    a_batch_is_enqueued_in_order(queue).await;
    unacked_entries_are_redelivered_and_reclaimed(queue).await;
    consumers_never_share_a_new_entry(queue).await;
    dead_letters_leave_the_queue(queue).await;
    read_with_block_returns_when_empty(queue).await;
}

fn records_of(entries: &[QueuedRecord]) -> Vec<TokenRecord> {
    entries
        .iter()
        .map(|e| e.record.clone().expect("a decodable entry"))
        .collect()
}

fn ids_of(entries: &[QueuedRecord]) -> Vec<EntryId> {
    entries.iter().map(|e| e.entry.clone()).collect()
}

async fn assert_empty<Q: RecordQueue>(queue: &Q, dead_letters: u64, when: &str) {
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        stats,
        QueueStats {
            depth: 0,
            pending: 0,
            lag: None,
            dead_letters
        },
        "{when}: the queue is empty"
    );
}

async fn enqueue_read_ack<Q: RecordQueue>(queue: &Q) {
    assert_empty(queue, 0, "fresh").await;
    let records: Vec<TokenRecord> = (0..3)
        .map(|i| sample_record("queued", 1_900_000_000 + i))
        .collect();
    let mut enqueued = Vec::new();
    for record in &records {
        enqueued.push(queue.enqueue(record).await.expect("enqueue"));
    }
    assert_eq!(
        enqueued.iter().collect::<BTreeSet<_>>().len(),
        3,
        "entry ids are distinct"
    );
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        (stats.depth, stats.pending),
        (3, 0),
        "enqueued, not delivered"
    );
    assert!(stats.lag.is_some(), "a non-empty queue has a lag");

    let read = queue.read("c1", 10, Duration::ZERO).await.expect("read");
    // Separate enqueues may land in separate partitions, and order holds only within one
    // (a batch's order is checked below).
    let read_back: BTreeMap<EntryId, TokenRecord> =
        ids_of(&read).into_iter().zip(records_of(&read)).collect();
    let expected: BTreeMap<EntryId, TokenRecord> = enqueued
        .iter()
        .cloned()
        .zip(records.iter().cloned())
        .collect();
    assert_eq!(read.len(), 3);
    assert_eq!(
        read_back, expected,
        "read back unchanged, with the ids enqueue returned"
    );
    assert!(read.iter().all(|e| e.deliveries == 1), "first delivery");
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        (stats.depth, stats.pending),
        (3, 3),
        "delivered, not acknowledged"
    );
    assert!(
        queue
            .read("c1", 10, Duration::ZERO)
            .await
            .expect("read")
            .is_empty(),
        "new entries are handed out once"
    );

    queue.ack(&enqueued[..1]).await.expect("ack");
    queue
        .ack(&enqueued[..1])
        .await
        .expect("acknowledging twice is harmless");
    let stats = queue.stats().await.expect("stats");
    assert_eq!((stats.depth, stats.pending), (2, 2));
    queue.ack(&enqueued[1..]).await.expect("ack");
    queue.ack(&[]).await.expect("acknowledging nothing");
    assert_empty(queue, 0, "all acknowledged").await;
}

async fn unacked_entries_are_redelivered_and_reclaimed<Q: RecordQueue>(queue: &Q) {
    let record = sample_record("reclaimed", 1_900_000_000);
    let id = queue.enqueue(&record).await.expect("enqueue");
    let first = queue.read("dead", 10, Duration::ZERO).await.expect("read");
    assert_eq!(ids_of(&first), vec![id.clone()]);

    assert!(
        queue
            .reclaim("alive", Duration::from_secs(3600), 10)
            .await
            .expect("reclaim")
            .is_empty(),
        "entries idle less than min_idle stay with their consumer"
    );
    let again = queue.redeliver("dead", 10).await.expect("redeliver");
    assert_eq!(
        ids_of(&again),
        vec![id.clone()],
        "own pending entries come back"
    );
    assert_eq!(again[0].deliveries, 2, "redelivery counts");
    assert_eq!(again[0].record.as_ref(), Some(&record));
    assert!(
        queue
            .redeliver("alive", 10)
            .await
            .expect("redeliver")
            .is_empty(),
        "not another consumer's"
    );

    let taken = queue
        .reclaim("alive", Duration::ZERO, 10)
        .await
        .expect("reclaim");
    assert_eq!(
        ids_of(&taken),
        vec![id.clone()],
        "idle entries are taken over"
    );
    assert_eq!(taken[0].deliveries, 3, "a takeover counts as a delivery");
    assert_eq!(taken[0].record.as_ref(), Some(&record));
    assert!(
        queue
            .redeliver("dead", 10)
            .await
            .expect("redeliver")
            .is_empty(),
        "the entry left its former consumer"
    );
    let mine = queue.redeliver("alive", 10).await.expect("redeliver");
    assert_eq!(ids_of(&mine), vec![id.clone()]);
    assert_eq!(mine[0].deliveries, 4);
    assert_eq!(queue.stats().await.expect("stats").pending, 1);

    queue.ack(&[id]).await.expect("ack");
    assert_empty(queue, 0, "reclaimed and acknowledged").await;
}

async fn consumers_never_share_a_new_entry<Q: RecordQueue>(queue: &Q) {
    let mut enqueued = BTreeSet::new();
    for i in 0..10 {
        let record = sample_record("shared", 1_900_000_000 + i);
        enqueued.insert(queue.enqueue(&record).await.expect("enqueue"));
    }
    let a = queue.read("a", 4, Duration::ZERO).await.expect("read");
    let b = queue.read("b", 100, Duration::ZERO).await.expect("read");
    assert_eq!((a.len(), b.len()), (4, 6), "max holds; the rest go to b");
    let a_ids: BTreeSet<EntryId> = ids_of(&a).into_iter().collect();
    let b_ids: BTreeSet<EntryId> = ids_of(&b).into_iter().collect();
    assert!(a_ids.is_disjoint(&b_ids), "no entry goes to both consumers");
    assert_eq!(
        a_ids.union(&b_ids).cloned().collect::<BTreeSet<_>>(),
        enqueued,
        "every entry goes to one"
    );
    assert!(queue
        .read("a", 100, Duration::ZERO)
        .await
        .expect("read")
        .is_empty());
    let all: Vec<EntryId> = enqueued.into_iter().collect();
    queue.ack(&all).await.expect("ack");
    assert_empty(queue, 0, "shared and acknowledged").await;
}

async fn dead_letters_leave_the_queue<Q: RecordQueue>(queue: &Q) {
    let bad = sample_record("dead-lettered", 1_900_000_000);
    let good = sample_record("dead-lettered", 1_900_000_001);
    queue.enqueue(&bad).await.expect("enqueue");
    queue.enqueue(&good).await.expect("enqueue");
    let read = queue.read("c", 10, Duration::ZERO).await.expect("read");
    assert_eq!(read.len(), 2);
    let find = |wanted: &TokenRecord| {
        read.iter()
            .find(|e| e.record.as_ref() == Some(wanted))
            .expect("both records read")
            .clone()
    };
    let (bad, good) = (find(&bad), find(&good));
    queue
        .dead_letter(&bad, "refused by the store")
        .await
        .expect("dead_letter");
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        (stats.depth, stats.pending, stats.dead_letters),
        (1, 1, 1),
        "the dead letter left the queue and is counted"
    );
    let taken = queue
        .reclaim("other", Duration::ZERO, 10)
        .await
        .expect("reclaim");
    assert_eq!(
        ids_of(&taken),
        vec![good.entry.clone()],
        "a dead letter is never handed out again"
    );
    queue.ack(&ids_of(&taken)).await.expect("ack");
    assert_empty(queue, 1, "after a dead letter").await;
}

async fn read_with_block_returns_when_empty<Q: RecordQueue>(queue: &Q) {
    let read = queue
        .read("waiter", 10, Duration::from_millis(50))
        .await
        .expect("a blocking read on an empty queue returns");
    assert!(read.is_empty());
}

async fn a_batch_is_enqueued_in_order<Q: RecordQueue>(queue: &Q) {
    queue.enqueue_many(&[]).await.expect("enqueueing nothing");
    assert_empty(queue, 0, "after an empty batch").await;
    let records: Vec<TokenRecord> = (0..5)
        .map(|i| sample_record("batched", 1_900_000_000 + i))
        .collect();
    queue.enqueue_many(&records).await.expect("enqueue_many");
    let single = sample_record("batched", 1_900_000_010);
    queue.enqueue(&single).await.expect("enqueue");
    let read = queue.read("c1", 10, Duration::ZERO).await.expect("read");
    let read_records = records_of(&read);
    let of_batch: Vec<TokenRecord> = read_records
        .iter()
        .filter(|r| records.contains(r))
        .cloned()
        .collect();
    assert_eq!(of_batch, records, "every record of the batch, in order");
    assert!(read_records.contains(&single), "and what came after");
    assert_eq!(
        ids_of(&read).iter().collect::<BTreeSet<_>>().len(),
        6,
        "one entry per record"
    );
    queue.ack(&ids_of(&read)).await.expect("ack");
    assert_empty(queue, 0, "batch acknowledged").await;
}
