//! Tokener's domain: Biscuit token minting and verification, the ports the services need, the
//! services holding the business rules, and in-memory adapters.
//!
//! No I/O crate, web framework or database driver belongs here; adapters live in their own
//! crates and depend on this one.

pub mod adapters;
#[cfg(feature = "contract-tests")]
pub mod contract;
pub mod domain;
pub mod group_commit;
pub mod ports;
pub mod services;
#[cfg(feature = "test-env")]
pub mod testing;
pub mod token;
pub mod write_behind;

pub use adapters::{InMemoryAuditLog, InMemoryHitCounter, InMemoryKeyStore, InMemoryReplayCache};
pub use domain::feed;
pub use domain::{AssertionAlgorithm, ClientKeys, ClientKeysError};
pub use domain::{
    Audience, AuditEvent, BadCursor, Client, ClientId, ClientRevocation, ClientSecret, Clock,
    FeedCursor, Fingerprint, IssuedToken, KeyId, NameError, Revocation, RevocationEntry, Scope,
    SecretError, SecretHash, SystemClock, Timestamp, TokenClaims, TokenId, TokenRecord, Ttl,
    TtlError,
};
pub use domain::{TokenFormat, UnknownTokenFormat};
pub use group_commit::{group_commit, Committer, GroupCommitStore, GroupLimits, GroupStats};
pub use ports::{AuditLog, HitCounter, KeyStore, ReplayCache, StoredKey, TokenCache};
pub use ports::{
    ClientRegistry, EntryId, QueueStats, QueuedRecord, RecordQueue, RevocationCursor,
    RevokeOutcome, StoreError, TokenStore,
};
pub use services::{AssertionError, AssertionVerifier, ClientAssertion, JWT_BEARER_ASSERTION};
pub use services::{AuthBackoff, BackoffLimits, KeyManager, KeyManagerError, KeyView};
pub use services::{
    ClientChange, ClientError, ClientService, Grants, RateDecision, RateLimiter, RateLimits,
    ReusedClients, RevocationState, RevocationSync,
};
pub use services::{
    IssueError, IssueRequest, RevokeError, TokenService, TtlPolicy, TtlPolicyError, VerifyFailure,
};
pub use token::{KeyRing, PublicKeySet, Verifier, VerifyError, VerifyOptions};
pub use write_behind::{
    CachedClientRegistry, WorkerConfig, WorkerReport, WriteBehindStore, WriteBehindWorker,
};
