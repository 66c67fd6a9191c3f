//! The connection pool shared by the queue and the cache, the time bound every operation runs
//! under, and the checks made at connect.

use crate::cache::RedisTokenCache;
use crate::config::{PartitionKeys, RedisConfig};
use crate::connection::{Conn, SharedConnection};
use crate::errors::{has_code, to_store_error, BUSY_GROUP};
use crate::queue::RedisQueue;
use deadpool_redis::redis::cluster::ClusterClientBuilder;
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, RedisError, Value};
use deadpool_redis::{Manager, Pool, Runtime};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::StoreError;

/// What the commands run on (see [`crate::connection`]).
pub(crate) enum Backend {
    /// One Redis: pooled connections for blocking reads, one multiplexed connection per
    /// thread for everything else.
    Single {
        pool: Pool,
        connection: SharedConnection,
    },
    /// A Redis Cluster: one cluster connection for every command.
    Cluster(ClusterConnection),
}

pub(crate) struct Shared {
    pub(crate) backend: Backend,
    pub(crate) config: RedisConfig,
    /// The queue's streams, one pair per partition.
    pub(crate) partitions: Vec<PartitionKeys>,
    pub(crate) cache_prefix: String,
}

impl Shared {
    /// Runs `work` bounded by the command timeout plus `extra` (the blocking time a command
    /// asks for): on the shared multiplexed connection, or on a pooled one when the command
    /// blocks (`extra` above zero). The bound covers getting a connection too, so a dead Redis
    /// costs the caller at most that long.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        operation: &'static str,
        extra: Duration,
        work: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.run_raw(operation, extra, work)
            .await?
            .map_err(|error| self.store_error(operation, &error))
    }

    /// Like [`Self::run`], but hands a Redis error back as is, for callers that react to
    /// particular server answers (`NOGROUP`, `BUSYGROUP`); only pool failures and the timeout
    /// are mapped.
    pub(crate) async fn run_raw<T, F, Fut>(
        &self,
        operation: &'static str,
        extra: Duration,
        work: F,
    ) -> Result<Result<T, RedisError>, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let limit = self.config.command_timeout + extra;
        let shared = extra.is_zero();
        let attempt = async {
            let connection = match &self.backend {
                Backend::Cluster(connection) => Ok(Conn::Cluster(connection.clone())),
                Backend::Single { connection, pool } if shared => {
                    connection.get(pool).await.map(Conn::Shared)
                }
                Backend::Single { pool, .. } => pool.get().await.map(Conn::Pooled),
            };
            let connection = connection.map_err(|error| {
                StoreError::unavailable(format!(
                    "{operation}: no Redis connection: {}",
                    self.config.scrub(&error.to_string())
                ))
            })?;
            Ok(work(connection).await)
        };
        // Dropping the attempt on expiry drops a pooled connection too (the pool checks it
        // with a PING before handing it out again); the shared one is replaced, as it may be
        // stuck. The cluster connection repairs itself (it reconnects to nodes it lost).
        let outcome = tokio::time::timeout(limit, attempt).await;
        if let (Backend::Single { connection, .. }, true) = (&self.backend, shared) {
            match &outcome {
                Ok(Ok(Err(error))) if SharedConnection::breaks_connection(error) => {
                    connection.discard()
                }
                Err(_elapsed) => connection.discard(),
                _ => {}
            }
        }
        outcome.map_err(|_elapsed| {
            StoreError::unavailable(format!(
                "{operation}: Redis did not answer within {limit:?}"
            ))
        })?
    }

    /// Runs commands whose keys may lie in different slots, and returns their replies in
    /// order: one pipeline on a single Redis; on a cluster, each command on its own, all at
    /// once (the cluster connection pipelines those bound for one node).
    pub(crate) async fn run_each(
        &self,
        operation: &'static str,
        commands: Vec<redis::Cmd>,
    ) -> Result<Vec<Value>, StoreError> {
        self.run(operation, Duration::ZERO, |mut c| async move {
            if let Conn::Cluster(cluster) = &c {
                let each = commands.iter().map(|command| {
                    let mut connection = cluster.clone();
                    async move { command.query_async::<Value>(&mut connection).await }
                });
                return futures_util::future::try_join_all(each).await;
            }
            let mut pipe = redis::pipe();
            for command in commands {
                pipe.add_command(command);
            }
            pipe.query_async(&mut c).await
        })
        .await
    }

    pub(crate) fn store_error(&self, operation: &str, error: &RedisError) -> StoreError {
        match to_store_error(operation, error) {
            StoreError::Unavailable { detail } => {
                StoreError::unavailable(self.config.scrub(&detail))
            }
            StoreError::Corrupt { detail } => StoreError::corrupt(self.config.scrub(&detail)),
        }
    }

    /// Creates the consumer group (and the stream) of every partition unless it exists.
    pub(crate) async fn ensure_groups(&self) -> Result<(), StoreError> {
        for partition in 0..self.partitions.len() {
            self.ensure_group(partition).await?;
        }
        Ok(())
    }

    /// Creates the consumer group (and the stream) of one partition unless it exists. Starts
    /// at `0`, so entries added before the group existed are not skipped.
    pub(crate) async fn ensure_group(&self, partition: usize) -> Result<(), StoreError> {
        let stream = self.partitions[partition].stream.clone();
        let group = self.config.group.clone();
        let created = self
            .run_raw(
                "create consumer group",
                Duration::ZERO,
                |mut c| async move {
                    redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(&stream)
                        .arg(&group)
                        .arg("0")
                        .arg("MKSTREAM")
                        .query_async::<()>(&mut c)
                        .await
                },
            )
            .await?;
        match created {
            Ok(()) => Ok(()),
            Err(error) if has_code(&error, BUSY_GROUP) => Ok(()),
            Err(error) => Err(self.store_error("create consumer group", &error)),
        }
    }
}

/// How the server keeps what it acknowledged, as `CONFIG GET` reports it (`None` where the
/// server refused to say, as managed services that disable `CONFIG` do).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Durability {
    pub appendonly: Option<String>,
    pub appendfsync: Option<String>,
    pub maxmemory_policy: Option<String>,
}

impl Durability {
    /// What stands between an acknowledged write and its survival of a crash or memory
    /// pressure; empty when nothing does.
    ///
    /// * `appendonly yes`: without the AOF, a restart loses everything since the last RDB
    ///   snapshot, queued records included.
    /// * `appendfsync always`: Redis fsyncs the AOF before it answers a write, so a reply means
    ///   the entry is on disk. `everysec` (Redis's default) can lose the last second of writes
    ///   on a power loss or kernel crash (a process crash alone loses nothing); `no` leaves it
    ///   to the kernel.
    /// * `maxmemory-policy noeviction`: any other policy may evict the queue's stream (losing
    ///   records) or revocation markers (while the authority marker stays, turning revoked
    ///   tokens valid again); with `noeviction` a full Redis refuses writes instead, which the
    ///   service reports as unavailable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let check = |value: &Option<String>, want: &str, name: &str, why: &str| match value {
            Some(v) if v.eq_ignore_ascii_case(want) => None,
            Some(v) => Some(format!("{name} is {v}, not {want}: {why}")),
            None => Some(format!("{name} is unknown (CONFIG GET refused): {why}")),
        };
        problems.extend(check(
            &self.appendonly,
            "yes",
            "appendonly",
            "a restart loses queued records",
        ));
        problems.extend(check(
            &self.appendfsync,
            "always",
            "appendfsync",
            "a power loss can lose acknowledged records",
        ));
        problems.extend(check(
            &self.maxmemory_policy,
            "noeviction",
            "maxmemory-policy",
            "memory pressure can evict queued records and revocation markers",
        ));
        problems
    }

    pub fn is_durable(&self) -> bool {
        self.problems().is_empty()
    }
}

/// The pool of one Redis. It bounds connecting and waiting; `Shared::run` bounds every whole
/// operation. The client's own response timeout is off: it would cut blocking queue reads
/// short.
fn connect_single(config: &RedisConfig) -> Result<Backend, StoreError> {
    let connection_config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(None);
    let manager =
        Manager::new_with_config(config.url.as_str(), connection_config).map_err(|e| {
            StoreError::unavailable(format!(
                "invalid Redis URL: {}",
                config.scrub(&e.to_string())
            ))
        })?;
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.connect_timeout))
        .create_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::unavailable(format!("Redis pool: {e}")))?;
    Ok(Backend::Single {
        pool,
        connection: SharedConnection::default(),
    })
}

/// The cluster connection: the seed nodes tell it the slot map, and it opens a connection to
/// each primary. No command blocks on it but `WAIT`, which Redis ends within the command
/// timeout: the client's response timeout is twice that, so a `WAIT` that times out reports
/// how many replicas confirmed (`Shared::run` bounds whole operations, retries included).
async fn connect_cluster(config: &RedisConfig) -> Result<ClusterConnection, StoreError> {
    let scrubbed = |e: RedisError| config.scrub(&e.to_string());
    let client = ClusterClientBuilder::new(config.cluster_urls.clone())
        .connection_timeout(config.connect_timeout)
        .response_timeout(2 * config.command_timeout)
        .build()
        .map_err(|e| {
            StoreError::unavailable(format!("invalid Redis Cluster URLs: {}", scrubbed(e)))
        })?;
    let limit = config.connect_timeout + config.command_timeout;
    match tokio::time::timeout(limit, client.get_async_connection()).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(e)) => Err(StoreError::unavailable(format!(
            "cannot connect to the Redis Cluster: {}",
            scrubbed(e)
        ))),
        Err(_) => Err(StoreError::unavailable(format!(
            "the Redis Cluster did not answer within {limit:?}"
        ))),
    }
}

/// The connections to one Redis or one Redis Cluster, handing out the queue and the cache
/// adapters (which share them). Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) shared: Arc<Shared>,
    durability: Durability,
}

impl RedisStore {
    /// Opens the pool, checks that Redis answers, creates the queue's consumer group if it is
    /// missing, and reads the server's persistence settings (see [`Durability`]): warned about
    /// when they do not keep acknowledged writes, or refused with `Unavailable` when
    /// [`RedisConfig::require_durability`] is set.
    pub async fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        config.validate().map_err(|problem| {
            StoreError::unavailable(format!("invalid Redis configuration: {problem}"))
        })?;
        let backend = if config.is_cluster() {
            Backend::Cluster(connect_cluster(&config).await?)
        } else {
            connect_single(&config)?
        };
        let shared = Arc::new(Shared {
            backend,
            partitions: config.partition_keys(),
            cache_prefix: config.cache_prefix(),
            config,
        });
        let store = Self {
            durability: Durability::default(),
            shared,
        };
        store.ping().await?;
        store.shared.ensure_groups().await?;
        let durability = store.read_durability().await?;
        let problems = durability.problems();
        if !problems.is_empty() {
            if store.shared.config.require_durability {
                return Err(StoreError::unavailable(format!(
                    "Redis does not keep acknowledged writes: {}",
                    problems.join("; ")
                )));
            }
            for problem in &problems {
                tracing::warn!(redis = %store.shared.config.redacted_url(), "{problem}");
            }
        }
        let wanted = store.shared.config.wait_replicas;
        if wanted > 0 && !store.shared.config.is_cluster() {
            let online = store.connected_replicas().await?;
            if online < wanted {
                // Not refused: replicas may still be joining. Until they do, every enqueue
                // fails and write-behind writes its records through to MongoDB.
                tracing::warn!(
                    redis = %store.shared.config.redacted_url(), online, wanted,
                    "fewer replicas are online than enqueues wait for"
                );
            }
        }
        Ok(Self {
            durability,
            ..store
        })
    }

    /// How many replicas of this primary are online: connected and past their initial sync
    /// (the `slaveN:…,state=online,…` lines of `INFO replication`), so able to confirm a `WAIT`.
    pub async fn connected_replicas(&self) -> Result<u32, StoreError> {
        if self.shared.config.is_cluster() {
            // `INFO` would go to any one node; on a cluster, `WAIT` reports per enqueue.
            return Err(StoreError::unavailable(
                "read replication: not asked of a cluster (WAIT reports per enqueue)",
            ));
        }
        let info: String = self
            .shared
            .run("read replication", Duration::ZERO, |mut c| async move {
                redis::cmd("INFO")
                    .arg("replication")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let online = info
            .lines()
            .filter(|line| line.starts_with("slave") && line.contains("state=online"))
            .count();
        Ok(u32::try_from(online).unwrap_or(u32::MAX))
    }

    /// The write-behind queue (a stream with a consumer group).
    pub fn queue(&self) -> RedisQueue {
        RedisQueue::new(self.shared.clone())
    }

    /// The token, revocation and client cache.
    pub fn cache(&self) -> RedisTokenCache {
        RedisTokenCache::new(self.shared.clone())
    }

    /// Rate-limit counters shared by every instance using this Redis.
    pub fn hit_counter(&self) -> crate::RedisHitCounter {
        crate::RedisHitCounter::new(self.shared.clone())
    }

    /// The `private_key_jwt` replay cache shared by every instance using this Redis.
    pub fn replay_cache(&self) -> crate::RedisReplayCache {
        crate::RedisReplayCache::new(self.shared.clone())
    }

    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// The persistence settings read at connect.
    pub fn durability(&self) -> &Durability {
        &self.durability
    }

    /// Readiness: Redis answers a PING within the command timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply: String = self
            .shared
            .run("ping", Duration::ZERO, |mut c| async move {
                redis::cmd("PING").query_async(&mut c).await
            })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(StoreError::corrupt(format!(
                "ping: Redis answered {reply:?}"
            )))
        }
    }

    async fn read_durability(&self) -> Result<Durability, StoreError> {
        let replies: Vec<Result<Value, RedisError>> = {
            let mut replies = Vec::new();
            for parameter in ["appendonly", "appendfsync", "maxmemory-policy"] {
                let reply = self
                    .shared
                    .run_raw("read configuration", Duration::ZERO, |mut c| async move {
                        redis::cmd("CONFIG")
                            .arg("GET")
                            .arg(parameter)
                            .query_async::<Value>(&mut c)
                            .await
                    })
                    .await?;
                replies.push(reply);
            }
            replies
        };
        let value = |reply: &Result<Value, RedisError>| -> Option<String> {
            match reply {
                Ok(Value::Array(items)) => items.get(1).and_then(crate::reply::text),
                Ok(Value::Map(pairs)) => pairs.first().and_then(|(_, v)| crate::reply::text(v)),
                Ok(_) => None,
                Err(error) => {
                    tracing::debug!(%error, "CONFIG GET refused");
                    None
                }
            }
        };
        Ok(Durability {
            appendonly: value(&replies[0]),
            appendfsync: value(&replies[1]),
            maxmemory_policy: value(&replies[2]),
        })
    }
}
