//! Domain types: parsed identifiers, secrets, clients, token claims and records.

mod client;
mod clock;
mod names;
mod secret;
mod token;

pub use client::Client;
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use names::{Audience, ClientId, NameError, Scope, TokenId, Ttl, TtlError};
pub use secret::{ClientSecret, SecretError, SecretHash};
pub use token::{Fingerprint, IssuedToken, KeyId, Revocation, TokenClaims, TokenRecord};
