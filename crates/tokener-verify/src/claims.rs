//! The claims of a verified request, as middleware leaves them in the request's extensions for
//! handlers to extract.

use std::ops::Deref;
use std::sync::Arc;
use tokener_core::TokenClaims;

/// Verified token claims; cheap to clone (shared, as the verification cache may hold them too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims(pub Arc<TokenClaims>);

impl Deref for VerifiedClaims {
    type Target = TokenClaims;

    fn deref(&self) -> &TokenClaims {
        &self.0
    }
}
