//! Test support (feature `test-support`): where the test Redis is, key prefixes no other test
//! uses, poison entries, and private Redis servers for fault tests.
//!
//! The services come from environment variables (`scripts/test-services.sh` starts them and
//! sets these). A test whose service is not configured is skipped with a message, unless
//! `TOKENER_TEST_REQUIRE_SERVICES=1`, in which case it fails: CI must never pass by skipping.

// Test support: a broken test environment should stop the test loudly.
#![allow(clippy::expect_used, clippy::panic)]

pub use tokener_core::testing::{free_port, service_var, wait_for_port, PrivateProcess};

use crate::{RedisConfig, RedisQueue, RedisStore};
use deadpool_redis::redis::{self, Value};
use std::time::{Duration, Instant};
use tokener_core::{EntryId, StoreError};

pub const REDIS_URL: &str = "TOKENER_TEST_REDIS_URL";
pub const REDIS_BIN: &str = "TOKENER_TEST_REDIS_BIN";

/// A key prefix no other test uses, so tests share one Redis and run in parallel.
pub fn unique_prefix() -> String {
    format!("tokener-test-{:016x}", rand::random::<u64>())
}

/// Short timeouts, so failures show quickly.
pub fn test_config(url: &str, prefix: &str) -> RedisConfig {
    RedisConfig {
        key_prefix: prefix.to_owned(),
        pool_size: 8,
        connect_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_secs(2),
        ..RedisConfig::new(url)
    }
}

/// A store on the shared test Redis under a fresh prefix. Remove its keys with
/// [`TestRedis::cleanup`].
pub struct TestRedis {
    pub store: RedisStore,
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// `None` when the test should be skipped.
    pub async fn connect() -> Option<Self> {
        let url = service_var(REDIS_URL)?;
        let prefix = unique_prefix();
        let store = RedisStore::connect(test_config(&url, &prefix))
            .await
            .expect("connect to the test Redis");
        Some(Self { store, url, prefix })
    }

    /// Deletes every key under the test's prefix.
    pub async fn cleanup(self) {
        if let Err(error) = delete_prefix(&self.store).await {
            eprintln!("could not delete the keys of {}: {error}", self.prefix);
        }
    }
}

/// Deletes every key under the store's prefix.
pub async fn delete_prefix(store: &RedisStore) -> Result<(), StoreError> {
    let pattern = format!("{}:*", store.config().key_prefix);
    store
        .shared
        .run(
            "delete test keys",
            Duration::from_secs(10),
            |mut c| async move {
                let mut cursor = 0u64;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await?;
                    if !keys.is_empty() {
                        redis::cmd("DEL")
                            .arg(&keys)
                            .query_async::<()>(&mut c)
                            .await?;
                    }
                    if next == 0 {
                        return Ok(());
                    }
                    cursor = next;
                }
            },
        )
        .await
}

/// Appends a raw payload to the queue, as a foreign or damaged writer might: a poison entry.
pub async fn push_raw_payload(queue: &RedisQueue, payload: &[u8]) -> EntryId {
    queue
        .push_raw(payload.to_vec())
        .await
        .expect("append a raw entry")
}

/// How many entries each consumer of the queue's group holds pending (delivered, not yet
/// acknowledged), by consumer name (`XPENDING` summary form).
pub async fn pending_by_consumer(store: &RedisStore) -> std::collections::BTreeMap<String, u64> {
    let (key, group) = (
        store.shared.stream_key.clone(),
        store.shared.config.group.clone(),
    );
    // The summary reply: count, smallest id, greatest id, [[consumer, count as text], ...].
    type Summary = (u64, Value, Value, Option<Vec<(String, String)>>);
    let (_, _, _, consumers): Summary = store
        .shared
        .run("read pending entries", Duration::ZERO, |mut c| async move {
            redis::cmd("XPENDING")
                .arg(&key)
                .arg(&group)
                .query_async(&mut c)
                .await
        })
        .await
        .expect("XPENDING");
    consumers
        .unwrap_or_default()
        .into_iter()
        .map(|(name, count)| (name, count.parse().expect("a count")))
        .collect()
}

/// The dead-letter stream's entries as (field, value) lists, oldest first (values decoded
/// lossily: a poison payload need not be UTF-8).
pub async fn dead_letters(store: &RedisStore) -> Vec<Vec<(String, String)>> {
    let key = store.shared.dead_letter_key.clone();
    store
        .shared
        .run("read dead letters", Duration::ZERO, |mut c| async move {
            redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query_async::<Vec<(String, Vec<(String, Vec<u8>)>)>>(&mut c)
                .await
        })
        .await
        .expect("read the dead-letter stream")
        .into_iter()
        .map(|(_, fields)| {
            fields
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect()
        })
        .collect()
}

/// A Redis of the test's own (AOF with `appendfsync always`, in a temporary directory), which
/// the test may kill and restart; see [`PrivateProcess`] for `dir`, `port`, `kill` and `pid`.
pub struct PrivateRedis {
    binary: String,
    process: PrivateProcess,
    /// The port of the primary this server replicates, if it is a replica.
    primary: Option<u16>,
}

impl PrivateRedis {
    /// `None` when the test should be skipped.
    pub async fn start() -> Option<Self> {
        Self::start_as(None).await
    }

    /// A replica of `primary` (which it starts copying at once; see
    /// [`crate::RedisStore::connected_replicas`] on the primary to wait for its sync).
    pub async fn start_replica_of(primary: &PrivateRedis) -> Option<Self> {
        Self::start_as(Some(primary.port)).await
    }

    async fn start_as(primary: Option<u16>) -> Option<Self> {
        let binary = service_var(REDIS_BIN)?;
        let mut server = Self {
            binary,
            process: PrivateProcess::new("redis"),
            primary,
        };
        server.restart().await;
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) on the same port with the same data directory, and waits
    /// until it answers (after replaying its append-only file).
    pub async fn restart(&mut self) {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir);
        if let Some(primary) = self.primary {
            command.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        self.process.spawn(command).await;
        // Accepting connections is not answering: while loading the AOF Redis says LOADING.
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = redis::Client::open(self.url()).expect("valid URL");
        loop {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "private Redis did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl std::ops::Deref for PrivateRedis {
    type Target = PrivateProcess;
    fn deref(&self) -> &PrivateProcess {
        &self.process
    }
}

impl std::ops::DerefMut for PrivateRedis {
    fn deref_mut(&mut self) -> &mut PrivateProcess {
        &mut self.process
    }
}
