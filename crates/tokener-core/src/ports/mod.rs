//! Ports: what the services need from the outside world, as async traits with typed errors.
//! Only the domain is used here; adapters implement these traits and map their driver errors to
//! [`StoreError`] at the seam.

pub mod audit;
pub mod cache;
pub mod hits;
pub mod keys;
pub mod queue;
pub mod replay;
pub mod store;

pub use audit::AuditLog;
#[cfg(feature = "mocks")]
pub use audit::MockAuditLog;
#[cfg(feature = "mocks")]
pub use cache::MockTokenCache;
pub use cache::TokenCache;
pub use hits::HitCounter;
#[cfg(feature = "mocks")]
pub use hits::MockHitCounter;
#[cfg(feature = "mocks")]
pub use keys::MockKeyStore;
pub use keys::{KeyStore, StoredKey};
#[cfg(feature = "mocks")]
pub use queue::MockRecordQueue;
pub use queue::{EntryId, QueueStats, QueuedRecord, RecordQueue};
#[cfg(feature = "mocks")]
pub use replay::MockReplayCache;
pub use replay::ReplayCache;
pub use store::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
#[cfg(feature = "mocks")]
pub use store::{MockClientRegistry, MockTokenStore};
