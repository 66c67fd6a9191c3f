//! The forward-auth sidecar (`tokener guard`): answers NGINX `auth_request`, Envoy `ext_authz`
//! and similar with 200 plus identity headers, or the RFC 6750 refusal, from a
//! [`RemoteVerifier`](crate::RemoteVerifier) with the verification cache on.
//!
//! ```no_run
//! # async fn run() -> Result<(), tokener_verify::guard::GuardError> {
//! use tokener_verify::guard::{serve, GuardConfig};
//! serve(GuardConfig::new("127.0.0.1:9000".parse().unwrap(), "http://127.0.0.1:8080")).await
//! # }
//! ```

mod auth;
mod config;
mod server;

pub use config::GuardConfig;
pub use server::{serve, Guard, GuardError};
