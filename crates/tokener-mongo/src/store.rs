//! The connection to MongoDB, shared by the token store and the client registry.

use crate::audit::MongoAuditLog;
use crate::clients::MongoClientRegistry;
use crate::config::MongoConfig;
use crate::documents::{ClientDocument, TokenDocument, CLIENTS, TOKENS};
use crate::errors::{bounded, to_store_error};
use crate::indexes;
use crate::keys::MongoKeyStore;
use crate::tokens::MongoTokenStore;
use crate::write_concern::{self, Deployment};
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, DatabaseOptions};
use mongodb::{Client, Collection, Database};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::StoreError;

/// What every adapter handle holds: the driver's client (its connection pool and monitors)
/// and the collections, plus the time bound of every operation.
pub(crate) struct Shared {
    pub(crate) database: Database,
    pub(crate) tokens: Collection<TokenDocument>,
    pub(crate) clients: Collection<ClientDocument>,
    pub(crate) operation_timeout: Duration,
    /// Where the admin listings read from.
    pub(crate) listings: mongodb::options::SelectionCriteria,
}

/// A connected MongoDB store: hands out the [`TokenStore`](tokener_core::TokenStore) and
/// [`ClientRegistry`](tokener_core::ClientRegistry) adapters, and reports readiness.
///
/// Cheap to clone: clones (and the adapters) share one connection pool. The driver reconnects
/// by itself after the server comes back, so one store lives as long as the process.
#[derive(Clone)]
pub struct MongoStore {
    shared: Arc<Shared>,
    retention: Option<Duration>,
    ttl_index: bool,
    deployment: Deployment,
    write_concern: String,
}

impl MongoStore {
    /// Connects, checks the server answers, and creates the indexes (idempotent: connecting
    /// again, from this or another process, changes nothing).
    ///
    /// Fails with [`StoreError::Unavailable`] when the configuration is invalid or the server
    /// cannot be reached within the configured timeouts.
    pub async fn connect(config: MongoConfig) -> Result<Self, StoreError> {
        config
            .validate()
            .map_err(|e| StoreError::unavailable(format!("invalid MongoDB configuration: {e}")))?;

        // Parsing may resolve DNS (mongodb+srv URIs), hence the bound. Driver messages about a
        // bad URI might quote it, so they are scrubbed of the password.
        let parsed = tokio::time::timeout(
            config.operation_timeout,
            ClientOptions::parse(config.uri.as_str()),
        )
        .await
        .map_err(|_| {
            StoreError::unavailable(format!(
                "resolving the MongoDB connection string {} took longer than {:?}",
                config.redacted_uri(),
                config.operation_timeout
            ))
        })?;
        let mut options = parsed.map_err(|e| {
            StoreError::unavailable(format!(
                "invalid MongoDB connection string {}: {}",
                config.redacted_uri(),
                config.scrub(&e.to_string())
            ))
        })?;
        config.apply_to(&mut options);
        let uri_concern = options.write_concern.clone();
        let client = Client::with_options(options).map_err(|e| {
            let error = to_store_error("create MongoDB client", &e);
            StoreError::unavailable(config.scrub(&error.to_string()))
        })?;

        // The driver connects lazily; `hello` makes an unreachable server fail here, with the
        // driver's explanation, rather than in the first index operation, and tells what the
        // server is part of, on which the write concern depends.
        let hello = bounded(
            config.operation_timeout,
            "hello",
            client
                .database(&config.database)
                .run_command(doc! { "hello": 1 }),
        )
        .await?;
        let deployment = Deployment::from_hello(&hello);
        let concern = config
            .write_concern
            .resolve(
                deployment,
                uri_concern.as_ref(),
                config.write_concern_wait(),
            )
            .map_err(|e| StoreError::unavailable(format!("MongoDB write concern: {e}")))?;
        let write_concern = write_concern::describe(&concern);

        let database = client.database_with_options(
            &config.database,
            DatabaseOptions::builder().write_concern(concern).build(),
        );
        let shared = Arc::new(Shared {
            tokens: database.collection(TOKENS),
            clients: database.collection(CLIENTS),
            database,
            operation_timeout: config.operation_timeout,
            listings: config.listing_read_preference.criteria(),
        });

        let ttl_index = indexes::ensure_indexes(&shared, config.retention).await?;

        tracing::info!(
            uri = %config.redacted_uri(),
            database = %config.database,
            ttl_index,
            retention_secs = config.retention.map(|r| r.as_secs()),
            %deployment,
            %write_concern,
            listing_read_preference = %config.listing_read_preference,
            "connected to MongoDB"
        );
        Ok(Self {
            shared,
            retention: config.retention,
            ttl_index,
            deployment,
            write_concern,
        })
    }

    /// The token store adapter.
    pub fn tokens(&self) -> MongoTokenStore {
        MongoTokenStore::new(Arc::clone(&self.shared))
    }

    /// The client registry adapter.
    pub fn clients(&self) -> MongoClientRegistry {
        MongoClientRegistry::new(Arc::clone(&self.shared))
    }

    /// The audit trail adapter.
    pub fn audit(&self) -> MongoAuditLog {
        MongoAuditLog::new(Arc::clone(&self.shared))
    }

    /// The signing key store adapter.
    pub fn keys(&self) -> MongoKeyStore {
        MongoKeyStore::new(Arc::clone(&self.shared))
    }

    /// Readiness: whether the server answers a `ping` within the operation timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        ping(&self.shared).await
    }

    /// Whether a TTL index on `expires_at` enforces the configured retention, so the server
    /// deletes expired records by itself.
    ///
    /// False when no retention is configured (nothing to enforce) and when the server refused
    /// TTL indexes (FerretDB 1.x): then, if a retention is configured, the service has to call
    /// `prune_expired` on a schedule; see [`Self::scheduled_prune_needed`].
    pub fn ttl_index_supported(&self) -> bool {
        self.ttl_index
    }

    /// The configured retention after expiry.
    pub fn retention(&self) -> Option<Duration> {
        self.retention
    }

    /// The retention the caller must enforce itself by calling `prune_expired(now - retention)`
    /// periodically: `Some` when a retention is configured but no TTL index enforces it.
    pub fn scheduled_prune_needed(&self) -> Option<Duration> {
        self.retention.filter(|_| !self.ttl_index)
    }

    /// What the server said it is part of when the store connected.
    pub fn deployment(&self) -> Deployment {
        self.deployment
    }

    /// The write concern every write uses, e.g. `w=majority j=true wtimeout=4000ms`.
    pub fn write_concern(&self) -> &str {
        &self.write_concern
    }

    /// The database name in use.
    pub fn database_name(&self) -> &str {
        self.shared.database.name()
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.shared.database.name())
            .field("operation_timeout", &self.shared.operation_timeout)
            .field("retention", &self.retention)
            .field("ttl_index", &self.ttl_index)
            .field("deployment", &self.deployment)
            .field("write_concern", &self.write_concern)
            .finish_non_exhaustive()
    }
}

async fn ping(shared: &Shared) -> Result<(), StoreError> {
    bounded(
        shared.operation_timeout,
        "ping",
        shared.database.run_command(doc! { "ping": 1 }),
    )
    .await
    .map(|_| ())
}
