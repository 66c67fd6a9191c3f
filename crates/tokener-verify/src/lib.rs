//! Verify Tokener tokens in a receiving service: a [`RemoteVerifier`] that keeps Tokener's
//! public keys and revocations fresh from its URL, with middleware for actix-web (feature
//! `actix`) and axum (feature `axum`), and the forward-auth sidecar (feature `guard`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tokener_verify::RemoteVerifier;
//! use tokener_core::VerifyOptions;
//!
//! let verifier = RemoteVerifier::discover("http://127.0.0.1:8080").await?;
//! let options = VerifyOptions::default().scope("orders:read".parse()?);
//! # let bearer = "";
//! let claims = verifier.verify(bearer, &options).await?;
//! println!("call from {}", claims.client_id);
//! # Ok(()) }
//! ```

mod claims;
#[cfg(any(feature = "actix", feature = "axum"))]
mod protection;
pub mod remote;
mod requirements;
pub mod rfc6750;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "guard")]
pub mod guard;

pub use claims::VerifiedClaims;
pub use remote::{
    DiscoverError, RemoteVerifier, RemoteVerifierBuilder, RemoteVerifyError, VerifierStats,
};
pub use requirements::Requirements;
/// The core types of this crate's API, so a service needs no direct tokener-core dependency.
pub use tokener_core::{TokenClaims, VerifyError, VerifyOptions};
