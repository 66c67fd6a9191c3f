//! Chooses the adapters behind the ports from the configuration.

use crate::configuration::{MongoSettings, Settings};
use crate::state::Dependency;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::adapters::{
    InMemoryAuditLog, InMemoryClientRegistry, InMemoryKeyStore, InMemoryTokenStore,
};
use tokener_core::write_behind::{CachedClientRegistry, WriteBehindStore};
use tokener_core::{group_commit, GroupLimits, GroupStats, ReusedClients};
use tokener_core::{
    AuditLog, ClientRegistry, Clock, KeyStore, StoreError, SystemClock, TokenStore,
};
use tokener_core::{HitCounter, InMemoryHitCounter, InMemoryReplayCache, ReplayCache};
use tokener_core::{RecordQueue, TokenCache};
use tokener_mongo::{MongoConfig, MongoStore};
use tokener_redis::{RedisConfig, RedisStore};

/// How often expired records are pruned where the server has no TTL index.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the revocation cache's authority is checked (and restored if Redis lost it).
const REWARM_EVERY: Duration = Duration::from_secs(10);

/// The adapters the service runs on.
pub struct Storage {
    pub tokens: Arc<dyn TokenStore>,
    pub clients: Arc<dyn ClientRegistry>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// Where rate-limit hits are counted.
    pub hits: Arc<dyn HitCounter>,
    /// Where used `private_key_jwt` assertion ids are remembered (shared through Redis when
    /// configured, like `hits`).
    pub replay: Arc<dyn ReplayCache>,
    /// Where the signing key ring is kept when no key file is configured.
    pub keys: Arc<dyn KeyStore>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// In write-behind mode, what the worker needs.
    pub write_behind: Option<WriteBehindParts>,
    /// In the durable modes, what the group commit did (read when `/metrics` is scraped).
    pub group_commit: Option<GroupStatsSource>,
    /// `in-memory` or `mongodb`, as shown on `GET /` and in the start-up log.
    pub mode: &'static str,
}

/// Reads the group commit's counters.
pub type GroupStatsSource = Arc<dyn Fn() -> GroupStats + Send + Sync>;

/// The queue and the permanent store the write-behind worker connects, and the store's
/// count of records written through because the queue refused them.
pub struct WriteBehindParts {
    pub queue: Arc<dyn RecordQueue>,
    pub permanent: Arc<dyn TokenStore>,
    pub fallbacks: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl Storage {
    /// These stores, with every other port in this process's memory (the embedded mode, and
    /// tests that bring their own stores).
    pub fn in_memory(
        tokens: Arc<dyn TokenStore>,
        clients: Arc<dyn ClientRegistry>,
        mode: &'static str,
    ) -> Self {
        Self {
            tokens,
            clients,
            dependencies: Vec::new(),
            hits: Arc::new(InMemoryHitCounter::new()),
            replay: Arc::new(InMemoryReplayCache::new()),
            keys: Arc::new(InMemoryKeyStore::new()),
            audit: Arc::new(InMemoryAuditLog::new()),
            write_behind: None,
            group_commit: None,
            mode,
        }
    }

    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.mongodb {
            None => {
                tracing::warn!(
                    max_tokens = settings.memory_max_tokens,
                    "no TOKENER_MONGODB_URI: running on the embedded in-memory store; issued \
                     tokens and clients live in this process only and are lost when it stops"
                );
                // Bounded, so a flood of issuance cannot exhaust the machine's memory: past the
                // bound, expired records make room, else issuance answers 503.
                let tokens: Arc<dyn TokenStore> = Arc::new(InMemoryTokenStore::with_max_tokens(
                    settings.memory_max_tokens,
                ));
                // Memory is the only bound here: forget records of expired tokens hourly.
                spawn_pruning(tokens.clone(), Duration::ZERO);
                Ok(Self::in_memory(
                    tokens,
                    Arc::new(InMemoryClientRegistry::new()),
                    "in-memory",
                ))
            }
            Some(mongo) => {
                let redis = redis_config(settings);
                let limits = group_limits(redis.as_ref());
                let mut storage = match redis {
                    None => Self::mongodb(mongo).await?,
                    Some(redis) => Self::write_behind(mongo, redis, settings).await?,
                };
                // Every token request authenticates its client: reuse what the registry
                // answered for a second rather than ask MongoDB (or Redis) each time.
                storage.clients = Arc::new(ReusedClients::new(storage.clients));
                // Concurrent issuances share one write: one `insert_many` (write-through) or
                // one Redis pipeline (write-behind) per batch.
                let (tokens, stats) = grouped(storage.tokens, limits);
                storage.tokens = tokens;
                storage.group_commit = Some(stats);
                Ok(storage)
            }
        }
    }

    /// MongoDB behind a Redis Stream: a 2xx means the record is durably enqueued (Redis with
    /// AOF) and a worker will write it to MongoDB. Tokens, clients and revocations are cached in
    /// Redis. If Redis is unreachable at run time, records are written through to MongoDB
    /// instead (logged and counted): slower, never a 2xx for a record that is not durable.
    async fn write_behind(
        mongo: &MongoSettings,
        config: RedisConfig,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        let mut storage = Self::mongodb(mongo).await?;
        let redacted = config.redacted_url();
        let variable = if config.cluster_urls.is_empty() {
            "TOKENER_REDIS_URL"
        } else {
            "TOKENER_REDIS_CLUSTER_URLS"
        };
        let redis = RedisStore::connect(config)
            .await
            .map_err(|e| anyhow::anyhow!("{variable}: cannot use Redis at {redacted}: {e}"))?;
        for problem in redis.durability().problems() {
            tracing::warn!(%problem, "Redis durability: acknowledged tokens could be lost");
        }
        let permanent = storage.tokens.clone();
        let store = Arc::new(WriteBehindStore::new(
            redis.queue(),
            redis.cache(),
            permanent.clone(),
        ));
        match store.warm_revocations().await {
            Ok(n) => tracing::info!(revocations = n, "revocation cache warmed"),
            Err(e) => {
                tracing::warn!(error = %e, "could not warm the revocation cache; verification asks MongoDB until it is")
            }
        }
        spawn_rewarming(store.clone());
        let fallbacks = {
            let store = store.clone();
            Arc::new(move || store.fallbacks()) as Arc<dyn Fn() -> u64 + Send + Sync>
        };
        tracing::info!(url = %redacted, "recording tokens through Redis (write-behind to MongoDB)");
        storage.clients = Arc::new(CachedClientRegistry::new(
            redis.cache(),
            storage.clients.clone(),
        ));
        storage.tokens = store;
        storage.hits = Arc::new(redis.hit_counter());
        storage.replay = Arc::new(redis.replay_cache());
        storage
            .dependencies
            .push(Arc::new(RedisDependency(redis.clone())));
        storage.dependencies.push(Arc::new(BacklogDependency {
            queue: redis.queue(),
            max: settings.max_backlog,
        }));
        storage.write_behind = Some(WriteBehindParts {
            queue: Arc::new(redis.queue()),
            permanent,
            fallbacks,
        });
        storage.mode = "mongodb+redis";
        Ok(storage)
    }

    /// Write-through MongoDB: a 2xx on issuance means the record is in MongoDB.
    async fn mongodb(settings: &MongoSettings) -> anyhow::Result<Self> {
        let config = mongo_config(settings);
        let uri = config.redacted_uri();
        let store = MongoStore::connect(config).await.map_err(|e| {
            anyhow::anyhow!("TOKENER_MONGODB_URI: cannot use MongoDB at {uri}: {e}")
        })?;
        tracing::info!(uri = %uri, database = store.database_name(), "recording tokens in MongoDB (write-through)");
        if let Some(retention) = store.scheduled_prune_needed() {
            spawn_pruning(Arc::new(store.tokens()), retention);
        }
        Ok(Self {
            tokens: Arc::new(store.tokens()),
            clients: Arc::new(store.clients()),
            keys: Arc::new(store.keys()),
            audit: Arc::new(store.audit()),
            dependencies: vec![Arc::new(MongoDependency(store))],
            // Per instance: with several instances each counts its own share.
            hits: Arc::new(InMemoryHitCounter::new()),
            replay: Arc::new(InMemoryReplayCache::new()),
            write_behind: None,
            group_commit: None,
            mode: "mongodb",
        })
    }
}

/// The adapter's defaults, bounded by the configured operation timeout: server selection and
/// connecting may not take longer than an operation may.
fn mongo_config(settings: &MongoSettings) -> MongoConfig {
    let defaults = MongoConfig::new(settings.uri.clone(), settings.database.clone());
    MongoConfig {
        operation_timeout: settings.timeout,
        server_selection_timeout: defaults.server_selection_timeout.min(settings.timeout),
        connect_timeout: defaults.connect_timeout.min(settings.timeout),
        retention: settings.retention,
        write_concern: settings.write_concern,
        listing_read_preference: settings.listing_read_preference,
        ..defaults
    }
}

/// `tokens` behind group commit (see [`tokener_core::group_commit`]), and how to read its
/// counters. The committer runs until the last handle of the store is dropped.
fn grouped(
    tokens: Arc<dyn TokenStore>,
    limits: GroupLimits,
) -> (Arc<dyn TokenStore>, GroupStatsSource) {
    let (store, committer) = group_commit(tokens, limits);
    tokio::spawn(committer.run());
    let store = Arc::new(store);
    let stats = {
        let store = store.clone();
        Arc::new(move || store.stats()) as GroupStatsSource
    };
    (store, stats)
}

/// Deletes records of tokens expired longer than `retention` ago, every hour: in MongoDB where
/// the server has no TTL index, and in the embedded store, whose only bound is memory.
fn spawn_pruning(tokens: Arc<dyn TokenStore>, retention: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let now = SystemClock.now().unix();
            let before =
                tokener_core::Timestamp::from_unix(now.saturating_sub(retention.as_secs()));
            match tokens.prune_expired(before).await {
                Ok(removed) => tracing::info!(removed, "pruned expired token records"),
                Err(e) => tracing::warn!(error = %e, "pruning expired token records failed"),
            }
        }
    });
}

/// Restores the revocation cache's authority when Redis lost it (a restart without its data):
/// until then verification asks MongoDB.
fn spawn_rewarming<Q, C, S>(store: Arc<WriteBehindStore<Q, C, S>>)
where
    Q: RecordQueue,
    C: TokenCache,
    S: TokenStore,
{
    tokio::spawn(async move {
        let mut every = tokio::time::interval(REWARM_EVERY);
        loop {
            every.tick().await;
            match store.warm_revocations_if_needed().await {
                Ok(Some(n)) => tracing::info!(revocations = n, "revocation cache re-warmed"),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "revocation cache not re-warmed"),
            }
        }
    });
}

/// Not ready while the write-behind backlog is over its bound: MongoDB is falling behind, and a
/// load balancer should send traffic elsewhere.
struct BacklogDependency<Q> {
    queue: Q,
    max: u64,
}

#[async_trait]
impl<Q: RecordQueue> Dependency for BacklogDependency<Q> {
    fn name(&self) -> &'static str {
        "write-behind backlog"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let stats = self.queue.stats().await?;
        if stats.depth > self.max {
            return Err(StoreError::unavailable(format!(
                "{} records wait for MongoDB (more than {})",
                stats.depth, self.max
            )));
        }
        Ok(())
    }
}

struct RedisDependency(RedisStore);

#[async_trait]
impl Dependency for RedisDependency {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

struct MongoDependency(MongoStore);

#[async_trait]
impl Dependency for MongoDependency {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// Batches in flight at once: the default two, or one per queue partition up to eight on a
/// partitioned queue, whose batches go to different streams (on a cluster, different
/// primaries): a partition that stalls (its primary failing over) then holds one lane of
/// several rather than one of two.
fn group_limits(redis: Option<&RedisConfig>) -> GroupLimits {
    let partitions = redis.map_or(1, |r| usize::from(r.stream_partitions));
    let default = GroupLimits::default();
    GroupLimits {
        in_flight: default.in_flight.max(partitions.min(8)),
        ..default
    }
}

/// The Redis of write-behind mode, if one is configured: a single Redis or a cluster.
fn redis_config(settings: &Settings) -> Option<RedisConfig> {
    let base = RedisConfig {
        key_prefix: settings.redis_prefix.clone(),
        wait_replicas: settings.redis_wait_replicas,
        stream_partitions: settings.redis_stream_partitions,
        ..RedisConfig::default()
    };
    match &settings.redis_url {
        Some(url) => Some(RedisConfig {
            url: url.clone(),
            ..base
        }),
        None if !settings.redis_cluster_urls.is_empty() => Some(RedisConfig {
            cluster_urls: settings.redis_cluster_urls.clone(),
            ..base
        }),
        None => None,
    }
}
