//! Group commit: batches form while a write is in flight, each caller hears its own batch's
//! outcome, and a stopped committer never answers "recorded".

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokener_core::adapters::InMemoryTokenStore;
use tokener_core::contract::sample_record;
use tokener_core::domain::{ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord};
use tokener_core::ports::{RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use tokener_core::{group_commit, GroupCommitStore, GroupLimits};
use tokio::sync::Semaphore;

const LATER: u64 = 4_000_000_000;

/// An in-memory store whose batch writes wait for the test to let them through, that
/// remembers each batch it was handed, and that refuses any batch holding a record of the
/// client `doomed` (writing none of it, as a failed insert would).
#[derive(Clone)]
struct GatedStore {
    inner: InMemoryTokenStore,
    gate: Arc<Semaphore>,
    batches: Arc<Mutex<Vec<Vec<TokenId>>>>,
}

impl GatedStore {
    fn new(open: bool) -> Self {
        let permits = if open { Semaphore::MAX_PERMITS } else { 0 };
        Self {
            inner: InMemoryTokenStore::new(),
            gate: Arc::new(Semaphore::new(permits)),
            batches: Arc::default(),
        }
    }

    /// Lets `n` more batches through.
    fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }

    fn batch_sizes(&self) -> Vec<usize> {
        self.batches.lock().unwrap().iter().map(Vec::len).collect()
    }
}

#[async_trait]
impl TokenStore for GatedStore {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.record_many(std::slice::from_ref(record)).await
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        self.batches
            .lock()
            .unwrap()
            .push(records.iter().map(|r| r.id().clone()).collect());
        self.gate.acquire().await.expect("gate open").forget();
        if records
            .iter()
            .any(|r| r.claims.client_id.as_str() == "doomed")
        {
            return Err(StoreError::unavailable("insert_many: connection reset"));
        }
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

type Store = Arc<GroupCommitStore<GatedStore>>;

fn started(inner: &GatedStore, limits: GroupLimits) -> Store {
    let (store, committer) = group_commit(inner.clone(), limits);
    tokio::spawn(committer.run());
    Arc::new(store)
}

fn one_at_a_time(max_batch: usize) -> GroupLimits {
    GroupLimits {
        max_batch,
        in_flight: 1,
    }
}

/// Starts recording `record` in the background.
fn submit(store: &Store, record: TokenRecord) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    let store = store.clone();
    tokio::spawn(async move { store.record(&record).await })
}

/// Waits until `check` holds; the committer and the callers run on other tasks.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_lone_record_is_written_at_once_in_a_batch_of_its_own() {
    let inner = GatedStore::new(true);
    let store = started(&inner, GroupLimits::default());
    let record = sample_record("billing", LATER);
    store.record(&record).await.expect("recorded");
    assert_eq!(inner.batch_sizes(), vec![1]);
    assert_eq!(inner.inner.get(record.id()).await.unwrap(), Some(record));
    let stats = store.stats();
    assert_eq!((stats.batches, stats.records, stats.waiting), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arriving_during_a_write_ride_on_the_next_one() {
    let inner = GatedStore::new(false);
    let store = started(&inner, one_at_a_time(4));
    let first = submit(&store, sample_record("billing", LATER));
    until("the first batch is being written", || {
        inner.batch_sizes() == [1]
    })
    .await;
    let records: Vec<TokenRecord> = (0..6).map(|_| sample_record("billing", LATER)).collect();
    let waiting: Vec<_> = records.iter().map(|r| submit(&store, r.clone())).collect();
    until("six records wait", || store.stats().waiting == 6).await;
    assert!(
        !first.is_finished(),
        "no answer before the store acknowledged"
    );

    inner.release(3);
    first.await.unwrap().expect("first recorded");
    for handle in waiting {
        handle.await.unwrap().expect("recorded");
    }
    assert_eq!(
        inner.batch_sizes(),
        vec![1, 4, 2],
        "what waited went in the next batches, bounded by max_batch"
    );
    for record in &records {
        assert!(inner.inner.get(record.id()).await.unwrap().is_some());
    }
    let stats = store.stats();
    assert_eq!((stats.batches, stats.records), (3, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_fails_exactly_its_own_callers() {
    let inner = GatedStore::new(false);
    let store = started(&inner, one_at_a_time(3));
    let before = sample_record("billing", LATER);
    let first = submit(&store, before.clone());
    until("the first batch is being written", || {
        inner.batch_sizes() == [1]
    })
    .await;
    // The next batch: a record the store refuses, and two that share its fate.
    let doomed = [
        sample_record("doomed", LATER),
        sample_record("billing", LATER),
        sample_record("billing", LATER),
    ];
    let mut failing = Vec::new();
    for record in &doomed {
        failing.push(submit(&store, record.clone()));
        let n = failing.len() as u64;
        until("the record waits", || store.stats().waiting == n).await;
    }
    let after = sample_record("billing", LATER);
    let last = submit(&store, after.clone());
    until("four records wait", || store.stats().waiting == 4).await;

    inner.release(3);
    first.await.unwrap().expect("the batch before was written");
    for handle in failing {
        let error = handle.await.unwrap().expect_err("its batch failed");
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    }
    last.await.unwrap().expect("the batch after was written");
    assert_eq!(inner.batch_sizes(), vec![1, 3, 1]);
    assert!(inner.inner.get(before.id()).await.unwrap().is_some());
    assert!(inner.inner.get(after.id()).await.unwrap().is_some());
    for record in &doomed {
        assert_eq!(inner.inner.get(record.id()).await.unwrap(), None);
    }
}

#[tokio::test]
async fn the_same_record_twice_is_recorded_once() {
    let inner = GatedStore::new(true);
    let store = started(&inner, GroupLimits::default());
    let record = sample_record("billing", LATER);
    let (a, b) = tokio::join!(store.record(&record), store.record(&record));
    a.expect("recorded");
    b.expect("a retried record is not an error");
    assert_eq!(inner.inner.get(record.id()).await.unwrap(), Some(record));
}

#[tokio::test]
async fn without_a_running_committer_nothing_is_reported_recorded() {
    let inner = GatedStore::new(true);
    let (store, committer) = group_commit(inner.clone(), GroupLimits::default());
    drop(committer);
    let error = store
        .record(&sample_record("billing", LATER))
        .await
        .expect_err("nobody writes it");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    assert!(inner.batch_sizes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committer_finishes_its_batches_after_the_store_is_dropped() {
    let inner = GatedStore::new(false);
    let (store, committer) = group_commit(inner.clone(), one_at_a_time(8));
    let running = tokio::spawn(committer.run());
    let store = Arc::new(store);
    let record = sample_record("billing", LATER);
    let pending = submit(&store, record.clone());
    until("the batch is being written", || inner.batch_sizes() == [1]).await;
    drop(store);
    inner.release(1);
    pending.await.unwrap().expect("written");
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the committer ends once no store is left")
        .unwrap();
    assert!(inner.inner.get(record.id()).await.unwrap().is_some());
}
