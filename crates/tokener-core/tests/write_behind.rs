//! Write-behind on the in-memory adapters and on mocks: the queue is the commitment, the worker
//! moves records to the permanent store exactly when it confirmed them, revocation of a queued
//! token is never undone, and failures leave entries pending rather than lose them.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokener_core::adapters::{
    InMemoryClientRegistry, InMemoryRecordQueue, InMemoryTokenCache, InMemoryTokenStore,
};
use tokener_core::contract::sample_record;
use tokener_core::domain::ManualClock;
use tokener_core::ports::MockTokenCache;
use tokener_core::ports::MockTokenStore;
use tokener_core::{
    CachedClientRegistry, ClientId, ClientRegistry, ClientService, Grants, IssueRequest, KeyRing,
    RecordQueue, RevokeOutcome, StoreError, Timestamp, TokenCache, TokenId, TokenRecord,
    TokenService, TokenStore, TtlPolicy, VerifyError, VerifyFailure, VerifyOptions, WorkerConfig,
    WriteBehindStore, WriteBehindWorker,
};

const NOW: u64 = 1_800_000_000;

type CountingStore = tokener_core::contract::CountingStore<InMemoryTokenStore>;
type Store = WriteBehindStore<InMemoryRecordQueue, InMemoryTokenCache, CountingStore>;
type Registry = CachedClientRegistry<InMemoryTokenCache, InMemoryClientRegistry>;

struct Fixture {
    tokens: TokenService<Arc<Store>, Arc<Registry>>,
    clients: ClientService<Arc<Registry>>,
    store: Arc<Store>,
    queue: InMemoryRecordQueue,
    cache: InMemoryTokenCache,
    permanent: CountingStore,
    worker: WriteBehindWorker<InMemoryRecordQueue, CountingStore>,
}

fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::at(Timestamp::from_unix(NOW)));
    let queue = InMemoryRecordQueue::new();
    let cache = InMemoryTokenCache::with_clock(clock.clone());
    let permanent = CountingStore::default();
    let store = Arc::new(WriteBehindStore::new(
        queue.clone(),
        cache.clone(),
        permanent.clone(),
    ));
    let registry = Arc::new(CachedClientRegistry::new(
        cache.clone(),
        InMemoryClientRegistry::new(),
    ));
    Fixture {
        tokens: TokenService::new(
            store.clone(),
            registry.clone(),
            Arc::new(KeyRing::generate()),
            clock.clone(),
            TtlPolicy::default(),
        ),
        clients: ClientService::new(registry, clock),
        store,
        worker: WriteBehindWorker::new(queue.clone(), permanent.clone(), test_worker_config()),
        queue,
        cache,
        permanent,
    }
}

/// Takeovers at once (no waiting 30 s in a test), otherwise the defaults.
fn test_worker_config() -> WorkerConfig {
    WorkerConfig {
        min_idle: Duration::ZERO,
        block: Duration::ZERO,
        ..WorkerConfig::default()
    }
}

fn grants() -> Grants {
    Grants {
        scopes: ["orders:read".parse().unwrap()].into(),
        audiences: ["orders".parse().unwrap()].into(),
        ..Default::default()
    }
}

fn billing() -> ClientId {
    "billing".parse().unwrap()
}

#[tokio::test]
async fn in_memory_record_queue_meets_the_contract() {
    tokener_core::contract::record_queue(&InMemoryRecordQueue::new()).await;
}

#[tokio::test]
async fn in_memory_token_cache_meets_the_contract() {
    tokener_core::contract::token_cache(&InMemoryTokenCache::new()).await;
}

#[tokio::test]
async fn an_issued_token_reaches_the_permanent_store_only_through_the_worker() {
    let f = fixture();
    assert_eq!(f.store.warm_revocations().await.unwrap(), 0);
    let (_, secret) = f.clients.create(billing(), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&billing(), &secret, IssueRequest::default())
        .await
        .unwrap();
    let id = issued.record.id().clone();

    assert_eq!(f.permanent.get(&id).await.unwrap(), None, "not written yet");
    assert_eq!(
        f.store.get(&id).await.unwrap().as_ref(),
        Some(&issued.record),
        "but readable through the cache"
    );
    f.tokens
        .verify(&issued.bearer, &VerifyOptions::default())
        .await
        .expect("a queued token verifies");
    let stats = f.queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (1, 0));
    assert!(stats.lag.is_some());

    let report = f.worker.run_once("w1").await.unwrap();
    assert_eq!((report.read, report.written), (1, 1));
    assert_eq!(
        f.permanent.get(&id).await.unwrap().as_ref(),
        Some(&issued.record)
    );
    assert_eq!(f.queue.stats().await.unwrap().depth, 0);
    assert!(f.worker.run_once("w1").await.unwrap().is_idle());
    assert_eq!(f.permanent.writes_of(&id), 1);
}

#[tokio::test]
async fn revoking_a_queued_token_is_not_undone_by_the_worker() {
    let f = fixture();
    f.store.warm_revocations().await.unwrap();
    let (_, secret) = f.clients.create(billing(), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&billing(), &secret, IssueRequest::default())
        .await
        .unwrap();
    let id = issued.record.id().clone();

    let outcome = f.tokens.revoke(&billing(), &issued.bearer).await.unwrap();
    assert_eq!(outcome, RevokeOutcome::Revoked);
    let written = f
        .permanent
        .get(&id)
        .await
        .unwrap()
        .expect("written through");
    assert_eq!(written.revoked_at, Some(Timestamp::from_unix(NOW)));
    assert_eq!(f.cache.revoked(&id).await.unwrap(), Some(true));
    assert_eq!(
        f.store.get(&id).await.unwrap().unwrap().revoked_at,
        Some(Timestamp::from_unix(NOW)),
        "the cached record was refreshed"
    );

    let report = f.worker.run_once("w1").await.unwrap();
    assert_eq!(report.written, 1, "the queued entry is done with");
    let after = f.permanent.get(&id).await.unwrap().unwrap();
    assert_eq!(
        after.revoked_at,
        Some(Timestamp::from_unix(NOW)),
        "the worker's insert did not undo the revocation"
    );
    let err = f
        .tokens
        .verify(&issued.bearer, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyFailure::Invalid(VerifyError::Revoked)));
    assert_eq!(
        f.tokens.revoke(&billing(), &issued.bearer).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let unknown = sample_record("nobody", NOW + 60);
    assert_eq!(
        f.store
            .revoke(unknown.id(), Timestamp::from_unix(NOW))
            .await
            .unwrap(),
        RevokeOutcome::Unknown
    );
}

#[tokio::test]
async fn revocations_survive_the_cache_losing_its_data() {
    let f = fixture();
    let (_, secret) = f.clients.create(billing(), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&billing(), &secret, IssueRequest::default())
        .await
        .unwrap();
    f.worker.run_once("w1").await.unwrap();
    f.tokens.revoke(&billing(), &issued.bearer).await.unwrap();
    assert_eq!(f.store.warm_revocations_if_needed().await.unwrap(), Some(1));
    assert_eq!(f.store.warm_revocations_if_needed().await.unwrap(), None);

    f.cache.clear().unwrap();
    assert_eq!(f.cache.revoked(issued.record.id()).await.unwrap(), None);
    assert!(
        f.store.is_revoked(issued.record.id()).await.unwrap(),
        "a cache without authority defers to the permanent store"
    );
    assert_eq!(f.store.warm_revocations_if_needed().await.unwrap(), Some(1));
    assert_eq!(
        f.cache.revoked(issued.record.id()).await.unwrap(),
        Some(true),
        "warming brought the marker back"
    );
}

#[tokio::test]
async fn poison_entries_go_to_dead_letters() {
    let f = fixture();
    let poison = f
        .queue
        .push_payload("{ this is not a token record")
        .unwrap();
    let good = sample_record("billing", NOW + 3600);
    f.store.record(&good).await.unwrap();

    let report = f.worker.run_once("w1").await.unwrap();
    assert_eq!((report.written, report.dead_lettered), (1, 1));
    let dead = f.queue.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].entry, poison);
    assert_eq!(dead[0].payload, "{ this is not a token record");
    assert_eq!(dead[0].reason, "undecodable payload");
    let stats = f.queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.dead_letters), (0, 1));
    assert!(f.permanent.get(good.id()).await.unwrap().is_some());
}

/// A mocked permanent store that fails with `Unavailable` while `down` is set (reads included,
/// as in an outage) and otherwise writes into `written`.
fn flaky_store(down: Arc<AtomicBool>, written: Arc<Mutex<Vec<TokenId>>>) -> MockTokenStore {
    let mut store = MockTokenStore::new();
    let (d1, d2, w1) = (down.clone(), down.clone(), written.clone());
    store.expect_record_many().returning(move |records| {
        if d1.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        w1.lock()
            .unwrap()
            .extend(records.iter().map(|r| r.id().clone()));
        Ok(())
    });
    store.expect_get().returning(move |_| {
        if d2.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        Ok(None)
    });
    store.expect_record().returning(move |record| {
        if down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        written.lock().unwrap().push(record.id().clone());
        Ok(())
    });
    store
}

#[tokio::test]
async fn an_unavailable_store_leaves_entries_pending_until_it_recovers() {
    let down = Arc::new(AtomicBool::new(true));
    let written = Arc::new(Mutex::new(Vec::new()));
    let queue = InMemoryRecordQueue::new();
    // Few deliveries allowed, to show an outage is never blamed on the records.
    let worker = WriteBehindWorker::new(
        queue.clone(),
        flaky_store(down.clone(), written.clone()),
        WorkerConfig {
            max_deliveries: 2,
            ..test_worker_config()
        },
    );
    let records: Vec<TokenRecord> = (0..3).map(|i| sample_record("billing", NOW + i)).collect();
    for r in &records {
        queue.enqueue(r).await.unwrap();
    }

    for _ in 0..5 {
        let err = worker.run_once("w1").await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable { .. }));
        let stats = queue.stats().await.unwrap();
        assert_eq!(
            (stats.depth, stats.pending, stats.dead_letters),
            (3, 3, 0),
            "left pending, never dead-lettered for an outage"
        );
    }
    assert!(written.lock().unwrap().is_empty());

    down.store(false, Ordering::SeqCst);
    let report = worker.run_once("w1").await.unwrap();
    assert_eq!(report.redelivered, 3, "its own pending entries first");
    assert_eq!(report.written, 3);
    assert_eq!(queue.stats().await.unwrap().depth, 0);
    let mut got = written.lock().unwrap().clone();
    got.sort();
    let mut expected: Vec<TokenId> = records.iter().map(|r| r.id().clone()).collect();
    expected.sort();
    assert_eq!(got, expected, "each record written exactly once");
}

#[tokio::test]
async fn a_record_the_store_refuses_is_dead_lettered_without_holding_back_the_others() {
    let bad = sample_record("billing", NOW + 1);
    let good = sample_record("billing", NOW + 2);
    let bad_id = bad.id().clone();
    let (b1, b2) = (bad_id.clone(), bad_id.clone());
    let written = Arc::new(Mutex::new(Vec::new()));
    let w = written.clone();
    let mut store = MockTokenStore::new();
    store.expect_record_many().returning(move |records| {
        if records.iter().any(|r| r.id() == &b1) {
            return Err(StoreError::unavailable("server error 2: document refused"));
        }
        Ok(())
    });
    store.expect_record().returning(move |record| {
        if record.id() == &b2 {
            return Err(StoreError::unavailable("server error 2: document refused"));
        }
        w.lock().unwrap().push(record.id().clone());
        Ok(())
    });
    store.expect_get().returning(|_| Ok(None));
    let queue = InMemoryRecordQueue::new();
    let worker = WriteBehindWorker::new(
        queue.clone(),
        store,
        WorkerConfig {
            max_deliveries: 2,
            min_idle: Duration::from_secs(3600),
            ..test_worker_config()
        },
    );
    queue.enqueue(&bad).await.unwrap();
    queue.enqueue(&good).await.unwrap();

    let first = worker.run_once("w1").await.unwrap();
    assert_eq!(
        (first.written, first.held),
        (1, 1),
        "the good one goes through"
    );
    assert!(first.should_back_off());
    assert_eq!(*written.lock().unwrap(), vec![good.id().clone()]);
    let second = worker.run_once("w1").await.unwrap();
    assert_eq!((second.redelivered, second.held), (1, 1));
    let third = worker.run_once("w1").await.unwrap();
    assert_eq!(third.dead_lettered, 1, "refused past max_deliveries");
    let dead = queue.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("refused"), "{}", dead[0].reason);
    assert_eq!(dead[0].deliveries, 3);
    assert_eq!(queue.stats().await.unwrap().depth, 0);
}

#[tokio::test]
async fn two_workers_write_every_record_exactly_once() {
    let f = fixture();
    let mut ids = BTreeSet::new();
    for i in 0..1200 {
        let record = sample_record("billing", NOW + 3600 + i);
        ids.insert(record.id().clone());
        f.store.record(&record).await.unwrap();
    }
    let other = WriteBehindWorker::new(
        f.queue.clone(),
        f.permanent.clone(),
        WorkerConfig {
            batch_size: 70,
            ..test_worker_config()
        },
    );
    // A third consumer reads entries and dies before writing them: they are taken over.
    let lost = f.queue.read("dead", 50, Duration::ZERO).await.unwrap();
    assert_eq!(lost.len(), 50);
    loop {
        let a = f.worker.run_once("w1").await.unwrap();
        let b = other.run_once("w2").await.unwrap();
        if a.is_idle() && b.is_idle() {
            break;
        }
    }
    assert_eq!(f.queue.stats().await.unwrap().depth, 0);
    for id in &ids {
        assert!(f.permanent.get(id).await.unwrap().is_some());
        assert_eq!(f.permanent.writes_of(id), 1, "written once: {id}");
    }
}

#[tokio::test]
async fn drain_empties_the_queue() {
    let f = fixture();
    for i in 0..1100 {
        f.store
            .record(&sample_record("billing", NOW + 3600 + i))
            .await
            .unwrap();
    }
    let report = f.worker.drain("w1", 100).await.unwrap();
    assert_eq!(report.written, 1100);
    assert_eq!(f.queue.stats().await.unwrap().depth, 0);
}

#[tokio::test]
async fn a_cache_failure_after_enqueueing_does_not_fail_the_request() {
    let queue = InMemoryRecordQueue::new();
    let permanent = InMemoryTokenStore::new();
    let mut cache = MockTokenCache::new();
    cache
        .expect_put_records()
        .returning(|_| Err(StoreError::unavailable("cache down")));
    cache
        .expect_revoked()
        .returning(|_| Err(StoreError::unavailable("cache down")));
    let store = WriteBehindStore::new(queue.clone(), cache, permanent.clone());
    let record = sample_record("billing", NOW + 3600);
    store.record(&record).await.expect("enqueued, so accepted");
    assert_eq!(queue.stats().await.unwrap().depth, 1);
    assert_eq!(
        permanent.get(record.id()).await.unwrap().as_ref(),
        Some(&record),
        "written through, so a revocation finds it"
    );
    permanent
        .revoke(record.id(), Timestamp::from_unix(NOW))
        .await
        .unwrap();
    assert!(
        store.is_revoked(record.id()).await.unwrap(),
        "a failing cache defers to the permanent store"
    );
}

#[tokio::test]
async fn an_enqueue_failure_writes_through_and_fails_only_if_that_fails_too() {
    let mut queue = tokener_core::ports::MockRecordQueue::new();
    queue
        .expect_enqueue_many()
        .returning(|_| Err(StoreError::unavailable("redis down")));
    // The cached copy is written alongside the enqueue; caching a record that is then written
    // through is harmless.
    let mut cache = MockTokenCache::new();
    cache.expect_put_records().returning(|_| Ok(()));
    let permanent = InMemoryTokenStore::new();
    let store = WriteBehindStore::new(queue, cache, permanent.clone());
    let record = sample_record("billing", NOW + 3600);
    store.record(&record).await.unwrap();
    assert_eq!(
        permanent.get(record.id()).await.unwrap(),
        Some(record),
        "written through"
    );
    assert_eq!(store.fallbacks(), 1);

    let mut queue = tokener_core::ports::MockRecordQueue::new();
    queue
        .expect_enqueue_many()
        .returning(|_| Err(StoreError::unavailable("redis down")));
    let mut permanent = MockTokenStore::new();
    permanent
        .expect_record_many()
        .returning(|_| Err(StoreError::unavailable("mongodb down")));
    let mut cache = MockTokenCache::new();
    cache
        .expect_put_records()
        .returning(|_| Err(StoreError::unavailable("redis down")));
    let store = WriteBehindStore::new(queue, cache, permanent);
    let err = store
        .record(&sample_record("billing", NOW + 3600))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "durable nowhere: no 2xx"
    );
}

#[tokio::test]
async fn a_revocation_the_cache_cannot_mark_withdraws_its_authority() {
    let permanent = InMemoryTokenStore::new();
    let record = sample_record("billing", NOW + 3600);
    permanent.record(&record).await.unwrap();
    let complete = Arc::new(AtomicBool::new(true));
    let c = complete.clone();
    let mut cache = MockTokenCache::new();
    cache.expect_put_record().returning(|_| Ok(()));
    cache
        .expect_mark_revoked()
        .returning(|_, _| Err(StoreError::unavailable("cache down")));
    cache.expect_mark_incomplete().times(1).returning(move || {
        c.store(false, Ordering::SeqCst);
        Ok(())
    });
    let store = WriteBehindStore::new(InMemoryRecordQueue::new(), cache, permanent.clone());
    assert_eq!(
        store
            .revoke(record.id(), Timestamp::from_unix(NOW))
            .await
            .unwrap(),
        RevokeOutcome::Revoked,
        "durable in the permanent store, and the cache no longer claims otherwise"
    );
    assert!(!complete.load(Ordering::SeqCst));

    let mut cache = MockTokenCache::new();
    cache.expect_put_record().returning(|_| Ok(()));
    cache
        .expect_mark_revoked()
        .returning(|_, _| Err(StoreError::unavailable("cache down")));
    cache
        .expect_mark_incomplete()
        .returning(|| Err(StoreError::unavailable("cache down")));
    let store = WriteBehindStore::new(InMemoryRecordQueue::new(), cache, permanent.clone());
    let other = sample_record("billing", NOW + 3600);
    permanent.record(&other).await.unwrap();
    assert!(
        store
            .revoke(other.id(), Timestamp::from_unix(NOW))
            .await
            .is_err(),
        "reported, so the client retries"
    );
}

#[tokio::test]
async fn clients_are_cached_and_evicted_on_change() {
    let cache = InMemoryTokenCache::new();
    let registry = CachedClientRegistry::new(cache.clone(), InMemoryClientRegistry::new());
    let client = tokener_core::contract::sample_client("billing");
    assert_eq!(registry.get(&client.id).await.unwrap(), None);
    assert_eq!(
        cache.get_client(&client.id).await.unwrap(),
        None,
        "misses are not cached"
    );
    registry.upsert(&client).await.unwrap();
    assert_eq!(cache.get_client(&client.id).await.unwrap(), None);
    assert_eq!(
        registry.get(&client.id).await.unwrap().as_ref(),
        Some(&client)
    );
    assert_eq!(
        cache.get_client(&client.id).await.unwrap().as_ref(),
        Some(&client),
        "cached on read"
    );
    let mut disabled = client.clone();
    disabled.disabled = true;
    registry.upsert(&disabled).await.unwrap();
    assert_eq!(
        cache.get_client(&client.id).await.unwrap(),
        None,
        "evicted on change"
    );
    assert_eq!(registry.get(&client.id).await.unwrap(), Some(disabled));
    assert_eq!(registry.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn warming_pages_through_every_revocation() {
    let f = fixture();
    let records: Vec<TokenRecord> = (0..1005)
        .map(|i| sample_record("billing", NOW + 3600 + i))
        .collect();
    f.permanent.record_many(&records).await.unwrap();
    for (i, r) in records.iter().enumerate() {
        f.permanent
            .revoke(r.id(), Timestamp::from_unix(NOW - 1000 + i as u64))
            .await
            .unwrap();
    }
    let expired = sample_record("billing", NOW - 1);
    f.permanent.record(&expired).await.unwrap();
    f.permanent
        .revoke(expired.id(), Timestamp::from_unix(NOW - 2000))
        .await
        .unwrap();

    assert_eq!(f.store.warm_revocations().await.unwrap(), 1006);
    assert!(f.cache.is_complete().await.unwrap());
    for r in [&records[0], &records[999], &records[1000], &records[1004]] {
        assert_eq!(f.cache.revoked(r.id()).await.unwrap(), Some(true));
    }
    assert_eq!(
        f.cache.revoked(expired.id()).await.unwrap(),
        Some(false),
        "no marker for an expired token"
    );
}
