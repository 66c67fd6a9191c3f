//! The standard OAuth2 endpoints.

pub mod introspect;
pub mod metadata;
pub mod revoke;
pub mod token;
