//! Redis adapters of Tokener's write-behind ports: [`RedisQueue`] (a
//! [`tokener_core::RecordQueue`] on a Redis Stream with a consumer group) and
//! [`RedisTokenCache`] (a [`tokener_core::TokenCache`] on expiring strings), sharing one
//! connection pool (`deadpool-redis`) opened by [`RedisStore::connect`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), tokener_core::StoreError> {
//! use tokener_redis::{RedisConfig, RedisStore};
//!
//! let redis = RedisStore::connect(RedisConfig::new("redis://127.0.0.1:6379/")).await?;
//! let queue = redis.queue(); // impl RecordQueue
//! let cache = redis.cache(); // impl TokenCache
//! redis.ping().await?; // readiness
//! # let _ = (queue, cache);
//! # Ok(())
//! # }
//! ```
//!
//! The key layout is described on [`RedisConfig`]. Every operation is bounded by
//! [`RedisConfig::command_timeout`] (plus the blocking time of a queue read), so a dead or hung
//! Redis gives `StoreError::Unavailable` quickly and never hangs a request; every Redis error
//! becomes a [`tokener_core::StoreError`] inside this crate.
//!
//! # Durability
//!
//! The write-behind promise ("a 2xx means the record will reach MongoDB") holds only if Redis
//! keeps what it acknowledged: run it with `appendonly yes` and `appendfsync always` (Redis
//! then fsyncs the append-only file before it replies; `everysec`, Redis's default, can lose
//! up to a second of acknowledged writes on a power loss or kernel crash), and with
//! `maxmemory-policy noeviction` (any other policy may evict the queue or revocation markers
//! under memory pressure). [`RedisStore::connect`] reads these settings and warns when they
//! fall short, or refuses to start with [`RedisConfig::require_durability`]. A single Redis
//! is a single point of failure for the queue: a replica does not help durability, since
//! replication is asynchronous.

mod cache;
pub mod codec;
mod config;
mod connection;
mod errors;
mod queue;
mod rate;
mod replay;
mod reply;
mod store;

pub use cache::RedisTokenCache;
pub use config::{RedisConfig, MAX_STREAM_PARTITIONS, MAX_WAIT_REPLICAS};
pub use queue::RedisQueue;
pub use rate::RedisHitCounter;
pub use replay::RedisReplayCache;
pub use store::{Durability, RedisStore};

#[cfg(feature = "test-support")]
pub mod testing;
