//! Contract-test suites: the behaviour every adapter of a port must show. Each adapter crate
//! runs these against its own adapter (the in-memory ones run them in this crate), so adapters
//! cannot drift apart. Uses the domain and the ports only.

mod audit;
mod cache;
mod fixtures;
mod hits;
mod keys;
mod queue;
mod replay;
mod stores;

pub use audit::audit_log;
pub use cache::token_cache;
pub use fixtures::{sample_client, sample_record, CountingStore};
pub use hits::hit_counter;
pub use keys::key_store;
pub use queue::record_queue;
pub use replay::replay_cache;
pub use stores::{client_registry, token_store};
