//! The verification cache: claims of tokens verified before, by SHA-256 of the bearer, so a
//! token seen again skips the signature check (most of a verification's cost).
//!
//! Only tokens made of the authority block alone are kept. An attenuation block may carry
//! checks on time that a cached verdict would stop judging; such tokens are verified fully on
//! every use.

use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokener_core::TokenClaims;

pub(crate) type CacheKey = [u8; 32];

pub(crate) struct VerificationCache {
    entries: quick_cache::sync::Cache<CacheKey, Arc<TokenClaims>>,
}

impl VerificationCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity),
        }
    }

    pub(crate) fn key(bearer: &str) -> CacheKey {
        Sha256::digest(bearer.as_bytes()).into()
    }

    pub(crate) fn get(&self, key: &CacheKey) -> Option<Arc<TokenClaims>> {
        self.entries.get(key)
    }

    /// Keeps `claims` of a token just verified, if the token may be cached at all.
    pub(crate) fn insert(&self, key: CacheKey, bearer: &str, claims: Arc<TokenClaims>) {
        if authority_only(bearer) {
            self.entries.insert(key, claims);
        }
    }

    pub(crate) fn remove(&self, key: &CacheKey) {
        self.entries.remove(key);
    }
}

/// Whether the token has no attenuation block. Reads the structure only: the signature was
/// checked by the verification that precedes every insert.
fn authority_only(bearer: &str) -> bool {
    biscuit_auth::UnverifiedBiscuit::from_base64(bearer).is_ok_and(|t| t.block_count() == 1)
}
