//! Domain types: parsed identifiers, secrets, clients, token claims and records.

mod audit;
mod client;
pub mod client_keys;
mod clock;
pub mod feed;
mod names;
mod revocation;
mod secret;
mod token;
mod token_format;

pub use audit::AuditEvent;
pub use client::Client;
pub use client_keys::{AssertionAlgorithm, ClientKey, ClientKeys, ClientKeysError};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use names::{Audience, ClientId, NameError, Scope, TokenId, Ttl, TtlError};
pub use revocation::{BadCursor, ClientRevocation, FeedCursor, RevocationEntry};
pub use secret::{ClientSecret, SecretError, SecretHash};
pub use token::{Fingerprint, IssuedToken, KeyId, Revocation, TokenClaims, TokenRecord};
pub use token_format::{TokenFormat, UnknownTokenFormat};
