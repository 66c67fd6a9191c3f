//! [`VerifiedClaims`] as an axum extractor: the claims [`TokenerAuth`] left in the request's
//! extensions.
//!
//! [`TokenerAuth`]: super::TokenerAuth

use super::rejection_response;
use crate::rfc6750::Rejection;
use crate::VerifiedClaims;
use ::axum::extract::FromRequestParts;
use ::axum::response::Response;
use http::request::Parts;

impl<S: Send + Sync> FromRequestParts<S> for VerifiedClaims {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedClaims>()
            .cloned()
            .ok_or_else(|| {
                // A handler asking for claims on a route without the layer: refuse rather
                // than run unauthenticated.
                tracing::error!(
                    path = parts.uri.path(),
                    "VerifiedClaims used without TokenerAuth"
                );
                rejection_response(&Rejection::MissingToken)
            })
    }
}
