//! axum 0.8 integration: the [`TokenerAuth`] tower layer and the [`VerifiedClaims`] extractor.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tokener_verify::{axum::TokenerAuth, RemoteVerifier, VerifiedClaims};
//!
//! async fn orders(claims: VerifiedClaims) -> String {
//!     format!("hello {}", claims.client_id)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = RemoteVerifier::discover("http://127.0.0.1:8080").await?;
//! let app: Router = Router::new()
//!     .route("/orders", get(orders))
//!     .route_layer(TokenerAuth::new(verifier).scope("orders:read"));
//! # Ok(()) }
//! ```
//!
//! [`VerifiedClaims`]: crate::VerifiedClaims

mod extractor;
mod layer;
mod response;

pub use layer::{TokenerAuth, TokenerAuthService};
pub(crate) use response::rejection_response;
