//! Tokener's domain: Biscuit token minting and verification, the ports the services need, the
//! services holding the business rules, and in-memory adapters.
//!
//! No I/O crate, web framework or database driver belongs here; adapters live in their own
//! crates and depend on this one.

pub mod adapters;
pub mod cache;
pub mod client_reuse;
pub mod clients;
#[cfg(feature = "contract-tests")]
pub mod contract;
#[cfg(feature = "contract-tests")]
pub mod contract_queue;
pub mod domain;
pub mod ports;
pub mod queue;
pub mod rate_limit;
pub mod service;
#[cfg(feature = "test-env")]
pub mod testing;
pub mod token;
pub mod write_behind;

pub use cache::TokenCache;
pub use clients::{ClientChange, ClientError, ClientService, Grants};
pub use domain::{
    Audience, Client, ClientId, ClientSecret, Clock, Fingerprint, IssuedToken, KeyId, NameError,
    Revocation, Scope, SecretError, SecretHash, SystemClock, Timestamp, TokenClaims, TokenId,
    TokenRecord, Ttl, TtlError,
};
pub use ports::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
pub use queue::{EntryId, QueueStats, QueuedRecord, RecordQueue};
pub use service::{
    IssueError, IssueRequest, RevokeError, TokenService, TtlPolicy, TtlPolicyError, VerifyFailure,
};
pub use token::{KeyRing, PublicKeySet, Verifier, VerifyError, VerifyOptions};
pub use write_behind::{
    CachedClientRegistry, WorkerConfig, WorkerReport, WriteBehindStore, WriteBehindWorker,
};
