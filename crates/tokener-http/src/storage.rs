//! Chooses the adapters behind the ports from the configuration.

use crate::configuration::{MongoSettings, Settings};
use crate::state::Dependency;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::rate_limit::{HitCounter, InMemoryHitCounter};
use tokener_core::{ClientRegistry, Clock, StoreError, SystemClock, TokenStore};
use tokener_mongo::{MongoConfig, MongoStore};

/// How often expired records are pruned where the server has no TTL index.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The adapters the service runs on.
pub struct Storage {
    pub tokens: Arc<dyn TokenStore>,
    pub clients: Arc<dyn ClientRegistry>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// Where rate-limit hits are counted.
    pub hits: Arc<dyn HitCounter>,
    /// `in-memory` or `mongodb`, as shown on `GET /` and in the start-up log.
    pub mode: &'static str,
}

impl Storage {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.mongodb {
            None => {
                tracing::warn!(
                    "no TOKENER_MONGODB_URI: running on the embedded in-memory store; issued \
                     tokens and clients live in this process only and are lost when it stops"
                );
                Ok(Self {
                    tokens: Arc::new(InMemoryTokenStore::new()),
                    clients: Arc::new(InMemoryClientRegistry::new()),
                    dependencies: Vec::new(),
                    hits: Arc::new(InMemoryHitCounter::new()),
                    mode: "in-memory",
                })
            }
            Some(mongo) => Self::mongodb(mongo).await,
        }
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
            spawn_pruning(store.clone(), retention);
        }
        Ok(Self {
            tokens: Arc::new(store.tokens()),
            clients: Arc::new(store.clients()),
            dependencies: vec![Arc::new(MongoDependency(store))],
            // Per instance: with several instances each counts its own share.
            hits: Arc::new(InMemoryHitCounter::new()),
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
        ..defaults
    }
}

/// Deletes records of tokens expired longer than `retention` ago, every hour, where the
/// server cannot do it with a TTL index.
fn spawn_pruning(store: MongoStore, retention: Duration) {
    tokio::spawn(async move {
        let tokens = store.tokens();
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
