//! `wait_replicas`: an enqueue counts only once the replicas asked for hold its records, and
//! fails as `Unavailable` (for the caller to write the records elsewhere) when they do not
//! confirm in time. Runs a private primary and a replica of it.

use deadpool_redis::redis;
use std::time::{Duration, Instant};
use tokener_core::contract::sample_record;
use tokener_core::{RecordQueue, StoreError, Timestamp, TokenRecord};
use tokener_redis::testing::{test_config, unique_prefix, PrivateRedis};
use tokener_redis::{RedisConfig, RedisStore};

fn records(n: usize) -> Vec<TokenRecord> {
    let expires = Timestamp::from_system_time(std::time::SystemTime::now())
        .plus_secs(3600)
        .unix();
    (0..n).map(|_| sample_record("billing", expires)).collect()
}

/// The number of entries in `key` on the server at `url`, asked directly.
async fn stream_length(url: &str, key: &str) -> u64 {
    let client = redis::Client::open(url).expect("valid URL");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut c)
        .await
        .expect("XLEN")
}

/// Waits until the primary counts `n` replicas online (past their initial sync).
async fn wait_for_replicas(store: &RedisStore, n: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.connected_replicas().await.expect("INFO replication") < n {
        assert!(Instant::now() < deadline, "the replica did not come online");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_enqueue_waits_for_its_replica_and_fails_without_it() {
    let Some(primary) = PrivateRedis::start().await else {
        return;
    };
    let Some(mut replica) = PrivateRedis::start_replica_of(&primary).await else {
        return;
    };
    let prefix = unique_prefix();
    let config = |wait_replicas| RedisConfig {
        command_timeout: Duration::from_millis(500),
        wait_replicas,
        ..test_config(&primary.url(), &prefix)
    };
    let waiting = RedisStore::connect(config(1)).await.expect("connect");
    wait_for_replicas(&waiting, 1).await;
    let stream = format!("{prefix}:wb:records");

    // With the replica in sync, a batch counts once the replica holds it: the replica has
    // every entry the moment the enqueue returns.
    let queue = waiting.queue();
    queue
        .enqueue_many(&records(200))
        .await
        .expect("enqueue_many");
    queue.enqueue(&records(1)[0]).await.expect("enqueue");
    assert_eq!(stream_length(&replica.url(), &stream).await, 201);

    // With the replica gone, the records still reach the primary, but the enqueue is not
    // confirmed: it fails within the wait instead of claiming two copies.
    replica.kill().await;
    let started = Instant::now();
    match queue.enqueue_many(&records(10)).await {
        Err(StoreError::Unavailable { detail: message }) => {
            assert!(message.contains("0 of the 1 replicas"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the failed wait took {:?}",
        started.elapsed()
    );
    assert!(matches!(
        queue.enqueue(&records(1)[0]).await,
        Err(StoreError::Unavailable { .. })
    ));

    // The same primary without the wait accepts at once: the failures above were the wait's.
    let alone = RedisStore::connect(config(0)).await.expect("connect");
    alone
        .queue()
        .enqueue_many(&records(10))
        .await
        .expect("enqueue_many without waiting");
    assert_eq!(
        stream_length(&primary.url(), &stream).await,
        201 + 10 + 1 + 10
    );
}
