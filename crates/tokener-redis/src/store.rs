//! The connection pool shared by the queue and the cache, the time bound every operation runs
//! under, and the checks made at connect.

use crate::cache::RedisTokenCache;
use crate::config::RedisConfig;
use crate::connection::{Conn, SharedConnection};
use crate::errors::{has_code, to_store_error, BUSY_GROUP};
use crate::queue::RedisQueue;
use deadpool_redis::redis::{self, AsyncConnectionConfig, RedisError, Value};
use deadpool_redis::{Manager, Pool, Runtime};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::StoreError;

pub(crate) struct Shared {
    pub(crate) pool: Pool,
    /// Where the non-blocking commands run (see [`crate::connection`]).
    pub(crate) connection: SharedConnection,
    pub(crate) config: RedisConfig,
    pub(crate) stream_key: String,
    pub(crate) dead_letter_key: String,
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
            let connection = if shared {
                self.connection.get(&self.pool).await.map(Conn::Shared)
            } else {
                self.pool.get().await.map(Conn::Pooled)
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
        // stuck.
        let outcome = tokio::time::timeout(limit, attempt).await;
        if shared {
            match &outcome {
                Ok(Ok(Err(error))) if SharedConnection::breaks_connection(error) => {
                    self.connection.discard()
                }
                Err(_elapsed) => self.connection.discard(),
                _ => {}
            }
        }
        outcome.map_err(|_elapsed| {
            StoreError::unavailable(format!(
                "{operation}: Redis did not answer within {limit:?}"
            ))
        })?
    }

    pub(crate) fn store_error(&self, operation: &str, error: &RedisError) -> StoreError {
        match to_store_error(operation, error) {
            StoreError::Unavailable { detail } => {
                StoreError::unavailable(self.config.scrub(&detail))
            }
            StoreError::Corrupt { detail } => StoreError::corrupt(self.config.scrub(&detail)),
        }
    }

    /// Creates the consumer group (and the stream) unless it exists. Starts at `0`, so entries
    /// added before the group existed are not skipped.
    pub(crate) async fn ensure_group(&self) -> Result<(), StoreError> {
        let stream = self.stream_key.clone();
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

/// A connection pool to one Redis, handing out the queue and the cache adapters (which share
/// it). Cheap to clone.
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
        // The pool bounds connecting and waiting; `Shared::run` bounds every whole operation.
        // The client's own response timeout is off: it would cut blocking queue reads short.
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
        let shared = Arc::new(Shared {
            pool,
            connection: SharedConnection::default(),
            stream_key: config.stream_key(),
            dead_letter_key: config.dead_letter_key(),
            cache_prefix: config.cache_prefix(),
            config,
        });
        let store = Self {
            durability: Durability::default(),
            shared,
        };
        store.ping().await?;
        store.shared.ensure_group().await?;
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
        if wanted > 0 {
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
