//! The port contracts, and Redis specifics (poison entries, a lost consumer group, blocking
//! reads, the write-behind store on Redis), against the shared test Redis. Each test uses a
//! key prefix of its own. What must hold on a Redis Cluster too (a partitioned queue, keys in
//! many slots) runs against the shared test cluster as well.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokener_core::adapters::InMemoryTokenStore;
use tokener_core::contract::sample_record;
use tokener_core::{
    RecordQueue, RevokeOutcome, StoreError, Timestamp, TokenCache, TokenRecord, TokenStore,
    WorkerConfig, WriteBehindStore, WriteBehindWorker,
};
use tokener_redis::testing::{self, TestRedis};
use tokener_redis::{RedisConfig, RedisStore};

fn in_an_hour() -> u64 {
    Timestamp::from_system_time(std::time::SystemTime::now())
        .plus_secs(3600)
        .unix()
}

async fn record_queue_contract(redis: &TestRedis) {
    tokener_core::contract::record_queue(&redis.store.queue()).await;
    if redis.store.config().stream_partitions > 1 {
        batches_spread_over_the_partitions(redis).await;
    }
}

/// On a partitioned queue, batches land in several partitions and reads gather them all.
async fn batches_spread_over_the_partitions(redis: &TestRedis) {
    let queue = redis.store.queue();
    let batches: Vec<Vec<TokenRecord>> = (0..24u64)
        .map(|b| {
            (0..3)
                .map(|i| sample_record("spread", in_an_hour() + b * 10 + i))
                .collect()
        })
        .collect();
    for batch in &batches {
        queue.enqueue_many(batch).await.unwrap();
    }
    let mut read = Vec::new();
    loop {
        let more = queue.read("c", 7, Duration::ZERO).await.unwrap();
        if more.is_empty() {
            break;
        }
        read.extend(more);
    }
    assert_eq!(read.len(), 72, "every entry of every partition read");
    let partitions: std::collections::BTreeSet<&str> = read
        .iter()
        .map(|e| e.entry.as_str().split('/').next().unwrap())
        .collect();
    assert!(
        partitions.len() >= 3,
        "24 batches in a few partitions at least: {partitions:?}"
    );
    for batch in &batches {
        let positions: Vec<usize> = batch
            .iter()
            .map(|r| {
                read.iter()
                    .position(|e| e.record.as_ref() == Some(r))
                    .unwrap()
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "a batch keeps its order"
        );
    }
    let ids: Vec<_> = read.iter().map(|e| e.entry.clone()).collect();
    queue.ack(&ids).await.unwrap();
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));
}

async fn token_cache_contract(redis: &TestRedis) {
    tokener_core::contract::token_cache(&redis.store.cache()).await;
}

/// Runs `$suite` against the shared test Redis and, in a second test, the shared test
/// cluster; each under a prefix of its own.
macro_rules! on_single_and_cluster {
    ($($suite:ident),* $(,)?) => {$(
        mod $suite {
            use tokener_redis::testing::TestRedis;

            #[tokio::test]
            async fn single() {
                let Some(redis) = TestRedis::connect().await else {
                    return;
                };
                super::$suite(&redis).await;
                redis.cleanup().await;
            }

            #[tokio::test]
            async fn cluster() {
                let Some(redis) = TestRedis::connect_cluster().await else {
                    return;
                };
                super::$suite(&redis).await;
                redis.cleanup().await;
            }
        }
    )*};
}

on_single_and_cluster!(
    record_queue_contract,
    token_cache_contract,
    a_lost_consumer_group_is_recreated,
    lag_is_the_age_of_the_oldest_unacknowledged_entry,
    write_behind_over_redis_revokes_a_queued_token_for_good,
    rate_counters_count_per_key_and_window,
    assertion_ids_are_accepted_once_across_the_shared_redis,
);

#[tokio::test]
async fn undecodable_entries_are_reported_and_dead_lettered_as_they_were() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let queue = redis.store.queue();
    let poison = testing::push_raw_payload(&queue, b"\xff not json").await;
    let good = sample_record("billing", in_an_hour());
    queue.enqueue(&good).await.unwrap();

    let read = queue.read("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].entry, poison);
    assert_eq!(read[0].record, None, "undecodable");
    assert_eq!(read[1].record.as_ref(), Some(&good));

    let permanent = InMemoryTokenStore::new();
    let worker = WriteBehindWorker::new(queue.clone(), permanent.clone(), WorkerConfig::default());
    let report = worker.run_once("c").await.unwrap();
    assert_eq!(
        (report.redelivered, report.dead_lettered, report.written),
        (2, 1, 1)
    );
    assert!(permanent.get(good.id()).await.unwrap().is_some());
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.dead_letters), (0, 0, 1));
    let dead = testing::dead_letters(&redis.store).await;
    let field = |name: &str| {
        dead[0]
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("entry"), poison.as_str());
    assert_eq!(field("reason"), "undecodable payload");
    assert_eq!(field("deliveries"), "2");
    assert!(
        field("record").ends_with(" not json"),
        "the payload is kept"
    );
    redis.cleanup().await;
}

async fn a_lost_consumer_group_is_recreated(redis: &TestRedis) {
    let queue = redis.store.queue();
    // As if Redis lost its data: stream and group gone.
    testing::delete_prefix(&redis.store).await.unwrap();
    let record = sample_record("billing", in_an_hour());
    queue.enqueue(&record).await.unwrap();
    let read = queue.read("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        read.len(),
        1,
        "the entry added before the group is not skipped"
    );
    assert_eq!(read[0].record.as_ref(), Some(&record));
    queue.ack(&[read[0].entry.clone()]).await.unwrap();
    assert_eq!(queue.stats().await.unwrap().depth, 0);
}

#[tokio::test]
async fn a_blocking_read_waits_for_its_block_time_not_the_command_timeout() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let queue = redis.store.queue();
    let started = Instant::now();
    let read = queue
        .read("c", 10, Duration::from_millis(2500))
        .await
        .expect("longer than the command timeout of 2 s, still fine");
    assert!(read.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(2400));

    // An entry arriving while a read blocks is handed out at once.
    let waiting = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.read("c", 10, Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    queue
        .enqueue(&sample_record("billing", in_an_hour()))
        .await
        .unwrap();
    let read = waiting.await.unwrap().unwrap();
    assert_eq!(read.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    redis.cleanup().await;
}

async fn lag_is_the_age_of_the_oldest_unacknowledged_entry(redis: &TestRedis) {
    let queue = redis.store.queue();
    queue
        .enqueue(&sample_record("billing", in_an_hour()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lag = queue.stats().await.unwrap().lag.expect("a lag");
    assert!(
        lag >= Duration::from_millis(250) && lag < Duration::from_secs(10),
        "{lag:?}"
    );
}

async fn write_behind_over_redis_revokes_a_queued_token_for_good(redis: &TestRedis) {
    let permanent = InMemoryTokenStore::new();
    let store = Arc::new(WriteBehindStore::new(
        redis.store.queue(),
        redis.store.cache(),
        permanent.clone(),
    ));
    store.warm_revocations().await.unwrap();
    let record = sample_record("billing", in_an_hour());
    store.record(&record).await.unwrap();
    assert_eq!(permanent.get(record.id()).await.unwrap(), None);
    assert_eq!(
        store.get(record.id()).await.unwrap().as_ref(),
        Some(&record),
        "served from the cache"
    );
    assert!(!store.is_revoked(record.id()).await.unwrap());

    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    assert_eq!(
        store.revoke(record.id(), now).await.unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        redis.store.cache().revoked(record.id()).await.unwrap(),
        Some(true)
    );
    let worker = WriteBehindWorker::new(
        redis.store.queue(),
        permanent.clone(),
        WorkerConfig::default(),
    );
    let report = worker.drain("w", 10).await.unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(
        permanent
            .get(record.id())
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now),
        "the worker's insert did not undo the revocation"
    );
    assert!(store.is_revoked(record.id()).await.unwrap());
}

#[tokio::test]
async fn connect_reports_the_servers_durability() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    // scripts/test-services.sh runs Redis as production should.
    let durability = redis.store.durability();
    assert_eq!(durability.appendonly.as_deref(), Some("yes"));
    assert_eq!(durability.appendfsync.as_deref(), Some("always"));
    redis.store.ping().await.unwrap();
    redis.cleanup().await;
}

/// A cluster's queue never blocks a read on the shared cluster connection: an empty pass
/// waits a little and returns, and an entry enqueued meanwhile is read by the next pass.
#[tokio::test]
async fn a_read_of_a_cluster_queue_waits_a_pass_not_its_block_time() {
    let Some(redis) = TestRedis::connect_cluster().await else {
        return;
    };
    let queue = redis.store.queue();
    let started = Instant::now();
    let read = queue.read("c", 10, Duration::from_secs(5)).await.unwrap();
    assert!(read.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(90) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    queue
        .enqueue(&sample_record("billing", in_an_hour()))
        .await
        .unwrap();
    assert_eq!(
        queue
            .read("c", 10, Duration::from_secs(5))
            .await
            .unwrap()
            .len(),
        1
    );
    redis.cleanup().await;
}

#[tokio::test]
async fn a_cluster_with_no_node_listening_is_unavailable_quickly() {
    let seeds = (0..2)
        .map(|_| format!("redis://127.0.0.1:{}/", testing::free_port()))
        .collect();
    let started = Instant::now();
    let result = RedisStore::connect(RedisConfig {
        cluster_urls: seeds,
        stream_partitions: 4,
        connect_timeout: Duration::from_millis(300),
        command_timeout: Duration::from_millis(700),
        ..RedisConfig::default()
    })
    .await;
    assert!(matches!(result, Err(StoreError::Unavailable { .. })));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn nothing_listening_is_unavailable_quickly() {
    let port = testing::free_port();
    let started = Instant::now();
    let result = RedisStore::connect(RedisConfig {
        connect_timeout: Duration::from_millis(300),
        command_timeout: Duration::from_millis(700),
        ..RedisConfig::new(format!("redis://127.0.0.1:{port}/"))
    })
    .await;
    assert!(matches!(result, Err(StoreError::Unavailable { .. })));
    assert!(started.elapsed() < Duration::from_secs(3));
}

async fn rate_counters_count_per_key_and_window(redis: &TestRedis) {
    tokener_core::contract::hit_counter(&redis.store.hit_counter()).await;
}

async fn assertion_ids_are_accepted_once_across_the_shared_redis(redis: &TestRedis) {
    tokener_core::contract::replay_cache(&redis.store.replay_cache()).await;
}
