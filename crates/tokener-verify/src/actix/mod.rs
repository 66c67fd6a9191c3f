//! actix-web 4 integration: the [`TokenerAuth`] middleware and the [`VerifiedClaims`]
//! extractor.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use tokener_verify::{actix::TokenerAuth, RemoteVerifier, VerifiedClaims};
//!
//! async fn orders(claims: VerifiedClaims) -> String {
//!     format!("hello {}", claims.client_id)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = RemoteVerifier::discover("http://127.0.0.1:8080").await?;
//! HttpServer::new(move || {
//!     App::new().service(
//!         web::resource("/orders")
//!             .wrap(TokenerAuth::new(verifier.clone()).scope("orders:read"))
//!             .to(orders),
//!     )
//! })
//! .bind("127.0.0.1:8081")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! [`VerifiedClaims`]: crate::VerifiedClaims

mod extractor;
mod middleware;
mod response;

pub use middleware::{TokenerAuth, TokenerAuthMiddleware};
pub(crate) use response::rejection_response;
