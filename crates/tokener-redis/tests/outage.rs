//! A Redis crash: operations fail fast as `Unavailable` while it is down, and after a restart
//! on the same data directory the append-only file brings back every entry that was
//! acknowledged, pending ones included.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokener_core::contract::sample_record;
use tokener_core::{EntryId, RecordQueue, StoreError, Timestamp, TokenCache, TokenRecord};
use tokener_redis::testing::{test_config, unique_prefix, PrivateRedis};
use tokener_redis::{RedisConfig, RedisStore};

fn in_an_hour() -> u64 {
    Timestamp::from_system_time(std::time::SystemTime::now())
        .plus_secs(3600)
        .unix()
}

/// Retries `op` until it succeeds, for at most `within`.
async fn eventually<T, F, Fut>(within: Duration, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    loop {
        match op().await {
            Ok(value) => return value,
            Err(error) => {
                assert!(Instant::now() < deadline, "still failing: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_crashed_redis_fails_fast_and_its_aof_brings_every_entry_back() {
    let Some(mut server) = PrivateRedis::start().await else {
        return;
    };
    let config = RedisConfig {
        connect_timeout: Duration::from_millis(300),
        command_timeout: Duration::from_millis(800),
        require_durability: true,
        ..test_config(&server.url(), &unique_prefix())
    };
    let redis = RedisStore::connect(config)
        .await
        .expect("a durable private Redis");
    let queue = redis.queue();
    let cache = redis.cache();

    let mut enqueued: BTreeMap<EntryId, TokenRecord> = BTreeMap::new();
    for _ in 0..300 {
        let record = sample_record("billing", in_an_hour());
        let id = queue.enqueue(&record).await.expect("enqueue");
        enqueued.insert(id, record);
    }
    let revoked = sample_record("billing", in_an_hour());
    cache
        .mark_revoked(revoked.id(), revoked.claims.expires_at)
        .await
        .unwrap();
    cache.mark_complete().await.unwrap();
    // A hundred in flight on a consumer when Redis dies.
    let in_flight = queue.read("c1", 100, Duration::ZERO).await.unwrap();
    assert_eq!(in_flight.len(), 100);

    server.kill().await;
    for attempt in 0..3 {
        let started = Instant::now();
        let result = queue.enqueue(&sample_record("billing", in_an_hour())).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable { .. })),
            "attempt {attempt}: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    assert!(matches!(
        queue.read("c1", 10, Duration::from_millis(100)).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(matches!(
        cache.revoked(revoked.id()).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(redis.ping().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(6));

    server.restart().await;
    // The pool replaces its broken connections on the next use.
    eventually(Duration::from_secs(10), || redis.ping()).await;
    let stats = eventually(Duration::from_secs(5), || queue.stats()).await;
    assert_eq!(
        (stats.depth, stats.pending),
        (300, 100),
        "every acknowledged entry came back, the in-flight ones still pending"
    );
    assert_eq!(
        cache.revoked(revoked.id()).await.unwrap(),
        Some(true),
        "the cache kept its markers and its authority"
    );

    let rest = queue.read("c2", 1000, Duration::ZERO).await.unwrap();
    let again = queue.redeliver("c1", 1000).await.unwrap();
    assert_eq!((rest.len(), again.len()), (200, 100));
    let mut recovered: BTreeMap<EntryId, TokenRecord> = BTreeMap::new();
    for entry in rest.into_iter().chain(again) {
        recovered.insert(entry.entry, entry.record.expect("decodable"));
    }
    assert_eq!(recovered, enqueued, "the same entries, unchanged");

    // And the queue works as before.
    queue
        .enqueue(&sample_record("billing", in_an_hour()))
        .await
        .expect("enqueue after the restart");
    assert_eq!(queue.stats().await.unwrap().depth, 301);
}
