//! Services: the business rules, generic over the ports. They use the domain, the token code
//! and the ports, never an adapter.

pub mod auth_backoff;
pub mod client_assertion;
pub mod client_reuse;
pub mod clients;
pub mod rate_limit;
pub mod revocations;
pub mod signing_keys;
pub mod tokens;

pub use auth_backoff::{AuthBackoff, BackoffLimits, Failure, LimitReached};
pub use client_assertion::{
    AssertionError, AssertionVerifier, ClientAssertion, JWT_BEARER_ASSERTION,
};
pub use client_reuse::ReusedClients;
pub use clients::{ClientChange, ClientError, ClientService, Grants};
pub use rate_limit::{RateDecision, RateLimiter, RateLimits, WINDOW_SECONDS};
pub use revocations::{RevocationState, RevocationSync, FEED_SETTLE_MILLIS, SYNC_OVERLAP_MILLIS};
pub use signing_keys::{KeyManager, KeyManagerError, KeyView};
pub use tokens::{
    IssueError, IssueRequest, RevokeError, TokenService, TtlPolicy, TtlPolicyError, VerifyFailure,
};
