//! In-memory adapters of every port: the embedded default, and a fast stand-in for tests.

mod memory;
mod memory_audit;
mod memory_cache;
mod memory_hits;
mod memory_keys;
mod memory_queue;
mod memory_replay;

pub use memory::{InMemoryClientRegistry, InMemoryTokenStore};
pub use memory_audit::{InMemoryAuditLog, MEMORY_AUDIT_EVENTS};
pub use memory_cache::{InMemoryTokenCache, DEFAULT_CLIENT_TTL_SECS};
pub use memory_hits::InMemoryHitCounter;
pub use memory_keys::InMemoryKeyStore;
pub use memory_queue::{DeadLetter, InMemoryRecordQueue};
pub use memory_replay::{InMemoryReplayCache, MEMORY_REPLAY_KEYS};
