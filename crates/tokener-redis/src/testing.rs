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
/// The seed nodes of the test Redis Cluster (comma-separated `redis://` URLs).
pub const REDIS_CLUSTER_URLS: &str = "TOKENER_TEST_REDIS_CLUSTER_URLS";
/// Partitions of the queue in the cluster tests: fewer than the service's default keeps a
/// worker pass short, more than the three primaries puts several on each.
pub const CLUSTER_TEST_PARTITIONS: u16 = 6;

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

/// The test cluster's seed nodes, `None` when the test should be skipped.
pub fn cluster_seeds() -> Option<Vec<String>> {
    let urls = service_var(REDIS_CLUSTER_URLS)?;
    Some(urls.split(',').map(|u| u.trim().to_owned()).collect())
}

/// [`test_config`] for a cluster, with [`CLUSTER_TEST_PARTITIONS`] queue partitions.
pub fn cluster_config(seeds: &[String], prefix: &str) -> RedisConfig {
    RedisConfig {
        cluster_urls: seeds.to_vec(),
        stream_partitions: CLUSTER_TEST_PARTITIONS,
        ..test_config("redis://unused/", prefix)
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

    /// A store on the shared test Redis Cluster under a fresh prefix, its queue partitioned.
    /// `None` when the test should be skipped.
    pub async fn connect_cluster() -> Option<Self> {
        let seeds = cluster_seeds()?;
        let prefix = unique_prefix();
        let store = RedisStore::connect(cluster_config(&seeds, &prefix))
            .await
            .expect("connect to the test Redis Cluster");
        Some(Self {
            store,
            url: seeds.join(","),
            prefix,
        })
    }

    /// Deletes every key under the test's prefix.
    pub async fn cleanup(self) {
        if let Err(error) = delete_prefix(&self.store).await {
            eprintln!("could not delete the keys of {}: {error}", self.prefix);
        }
    }
}

/// Deletes every key under the store's prefix: on the one Redis, or on every node of the
/// cluster (each primary holds its own slots' keys; replicas refuse the deletes and follow
/// their primary).
pub async fn delete_prefix(store: &RedisStore) -> Result<(), StoreError> {
    let pattern = format!("{}:*", store.config().key_prefix);
    let config = store.config();
    let nodes = if config.cluster_urls.is_empty() {
        vec![config.url.clone()]
    } else {
        config.cluster_urls.clone()
    };
    for node in nodes {
        let Ok(client) = redis::Client::open(node.as_str()) else {
            continue;
        };
        let Ok(mut c) = client.get_multiplexed_async_connection().await else {
            continue;
        };
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .map_err(|e| StoreError::unavailable(format!("delete test keys: {e}")))?;
            if !keys.is_empty() {
                // READONLY on a replica: its primary's pass deletes them.
                let _ = redis::cmd("DEL").arg(&keys).query_async::<()>(&mut c).await;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(())
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
    let mut pending = std::collections::BTreeMap::new();
    for partition in &store.shared.partitions {
        let (key, group) = (partition.stream.clone(), store.shared.config.group.clone());
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
        for (name, count) in consumers.unwrap_or_default() {
            *pending.entry(name).or_insert(0) += count.parse::<u64>().expect("a count");
        }
    }
    pending
}

/// The dead-letter streams' entries as (field, value) lists, oldest first within each
/// partition (values decoded lossily: a poison payload need not be UTF-8).
pub async fn dead_letters(store: &RedisStore) -> Vec<Vec<(String, String)>> {
    let mut letters = Vec::new();
    for partition in &store.shared.partitions {
        let key = partition.dead_letters.clone();
        let entries = store
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
            .expect("read the dead-letter stream");
        letters.extend(entries.into_iter().map(|(_, fields)| {
            fields
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect()
        }));
    }
    letters
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

/// A Redis Cluster of the test's own (three primaries, three replicas, started by
/// `scripts/redis-cluster.sh` in a temporary directory), for tests that kill its nodes.
/// Stopped and removed on drop.
pub struct PrivateCluster {
    dir: std::path::PathBuf,
    seeds: Vec<String>,
}

impl PrivateCluster {
    /// `None` when the test should be skipped (no Redis configured for the tests).
    pub async fn start() -> Option<Self> {
        service_var(REDIS_BIN)?;
        let dir = std::env::temp_dir().join(format!(
            "tokener-redis-cluster-{:016x}",
            rand::random::<u64>()
        ));
        let output = tokio::process::Command::new("bash")
            .arg(cluster_script())
            .arg("start")
            .arg(&dir)
            .output()
            .await
            .expect("run scripts/redis-cluster.sh");
        assert!(
            output.status.success(),
            "the private cluster did not start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seeds = String::from_utf8(output.stdout)
            .expect("UTF-8 seeds")
            .trim()
            .split(',')
            .map(str::to_owned)
            .collect();
        Some(Self { dir, seeds })
    }

    pub fn seeds(&self) -> &[String] {
        &self.seeds
    }

    /// SIGKILLs a primary whose replica is online (in sync, streaming its writes) and returns
    /// its node number and port.
    pub async fn kill_a_synced_primary(&self) -> (usize, u16) {
        for node in 1..=self.seeds.len() {
            let port: u16 = std::fs::read_to_string(self.dir.join(format!("{node}/port")))
                .expect("node port")
                .trim()
                .parse()
                .expect("a port");
            let info = info_replication(port).await;
            // Online: past its initial sync and streaming every write. Under load the
            // offsets never match at one instant; what the replica has of each enqueue is
            // what `WAIT` confirmed (the tests that kill a primary enqueue with it).
            let synced = info.contains("role:master")
                && info
                    .lines()
                    .any(|line| line.starts_with("slave0:") && line.contains("state=online"));
            if synced {
                let pid = std::fs::read_to_string(self.dir.join(format!("{node}/pid")))
                    .expect("node pid");
                let status = std::process::Command::new("kill")
                    .args(["-9", pid.trim()])
                    .status()
                    .expect("kill");
                assert!(status.success(), "SIGKILL of the primary on {port}");
                return (node, port);
            }
        }
        panic!("no primary of the private cluster has an online replica");
    }

    /// Waits until the cluster serves every slot again (a replica of the killed primary took
    /// over), as seen from a surviving node other than `killed`.
    pub async fn wait_until_healthy(&self, killed: u16, within: Duration) -> Duration {
        let started = Instant::now();
        let survivor = self
            .seeds
            .iter()
            .find(|s| !s.contains(&format!(":{killed}/")))
            .expect("a surviving node")
            .clone();
        let client = redis::Client::open(survivor.as_str()).expect("valid URL");
        // The surviving nodes need the node timeout to notice the death first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        loop {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut c)
                    .await
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    let nodes: String = redis::cmd("CLUSTER")
                        .arg("NODES")
                        .query_async(&mut c)
                        .await
                        .unwrap_or_default();
                    // The killed node holds no slot any more (a line lists the node's slots
                    // after its eight fixed fields): its replica took them over.
                    let killed_serves = nodes.lines().any(|line| {
                        line.contains(&format!(":{killed}@")) && line.split(' ').count() > 8
                    });
                    if !killed_serves {
                        return started.elapsed();
                    }
                }
            }
            assert!(
                started.elapsed() < within,
                "the cluster did not fail over within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl PrivateCluster {
    /// Starts a killed node again, as an operator's supervisor would: it rejoins the cluster
    /// as a replica of the node that took its slots over. Waits until that replica is online.
    pub async fn restart_node(&self, node: usize) {
        let status = tokio::process::Command::new("bash")
            .arg(cluster_script())
            .arg("restart-node")
            .arg(&self.dir)
            .arg(node.to_string())
            .status()
            .await
            .expect("run scripts/redis-cluster.sh");
        assert!(status.success(), "node {node} did not restart");
        let port: u16 = std::fs::read_to_string(self.dir.join(format!("{node}/port")))
            .expect("node port")
            .trim()
            .parse()
            .expect("a port");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = info_replication(port).await;
            if info.contains("role:slave") && info.contains("master_link_status:up") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} did not rejoin as a replica"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(cluster_script())
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cluster_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/redis-cluster.sh")
}

async fn info_replication(port: u16) -> String {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("valid URL");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("a cluster node");
    redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut c)
        .await
        .expect("INFO replication")
}
