//! MongoDB adapter of Tokener's store ports: [`tokener_core::TokenStore`] and
//! [`tokener_core::ClientRegistry`], on the official `mongodb` driver.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tokener_core::StoreError> {
//! use tokener_mongo::{MongoConfig, MongoStore};
//!
//! let store = MongoStore::connect(MongoConfig::new("mongodb://127.0.0.1:27017/", "tokener")).await?;
//! let tokens = store.tokens(); // impl TokenStore
//! let clients = store.clients(); // impl ClientRegistry
//! store.ping().await?; // readiness
//! # let _ = (tokens, clients);
//! # Ok(())
//! # }
//! ```
//!
//! Two collections: `tokens` (one document per issued token, `_id` = token id; the bearer token
//! itself is never stored, only its SHA-256 fingerprint) and `clients` (`_id` = client id; the
//! secret only as its SHA-256). Revocations are the `revoked_at` field of token documents;
//! client-wide ones are in `client_revocations`. The signing key ring, when the service keeps it
//! in MongoDB, is in `keys`, private keys sealed.
//!
//! Only features that both MongoDB (5.1 and later; 7 is the reference) and FerretDB 1.24
//! implement are relied on: plain CRUD commands, unordered inserts, ascending and compound
//! indexes. TTL indexes, which FerretDB 1.x lacks, are used when available and otherwise
//! reported (see [`MongoStore::ttl_index_supported`]). Every operation is bounded by
//! [`MongoConfig::operation_timeout`], and every driver error becomes a
//! [`tokener_core::StoreError`] inside this crate.
//!
//! Every write uses one write concern, chosen at connect from [`MongoConfig::write_concern`] and
//! the deployment the server reports (`majority` with journal on a replica set by default): see
//! [`WriteConcernSetting`].
//!
//! One difference remains: MongoDB applies a conditional single-document update atomically,
//! FerretDB 1.x does not. On FerretDB, concurrent revocations of the same token may each be
//! told `Revoked` and the last time written is kept (the token is revoked either way); on
//! MongoDB exactly one wins and the first revocation time stands.

mod audit;
mod client_revocations;
mod clients;
mod config;
mod documents;
mod errors;
mod indexes;
mod keys;
mod read_preference;
mod store;
mod tokens;
mod write_concern;

pub use audit::MongoAuditLog;
pub use clients::MongoClientRegistry;
pub use config::MongoConfig;
pub use keys::MongoKeyStore;
pub use read_preference::ListingReadPreference;
pub use store::MongoStore;
pub use tokens::MongoTokenStore;
pub use write_concern::{Deployment, WriteConcernSetting};

#[cfg(feature = "test-support")]
pub mod testing;
