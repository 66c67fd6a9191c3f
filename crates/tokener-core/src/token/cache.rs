//! The verification cache: claims of tokens verified before, by SHA-256 of the bearer, so a
//! token seen again skips the signature check (most of a verification's cost). Introspection
//! in the service and the embedded verifiers share it.
//!
//! A hit is judged again on every use (expiry, revocation, the request's options: see
//! [`super::verify::judge_claims`]); only the signature and the decoding are skipped, so an
//! owner clears the cache when the keys it verifies against change. Only JWTs and Biscuits made
//! of the authority block alone are kept: an attenuation block may carry checks on time that a cached verdict would stop judging, so
//! such tokens are verified fully on every use.

use crate::domain::TokenClaims;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The SHA-256 of a bearer string: the cache never holds the token itself.
pub type CacheKey = [u8; 32];

pub struct VerificationCache {
    entries: quick_cache::sync::Cache<CacheKey, Arc<TokenClaims>>,
}

impl VerificationCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity),
        }
    }

    pub fn key(bearer: &str) -> CacheKey {
        Sha256::digest(bearer.as_bytes()).into()
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<TokenClaims>> {
        self.entries.get(key)
    }

    /// Keeps `claims` of a token just verified, if the token may be cached at all.
    pub fn insert(&self, key: CacheKey, bearer: &str, claims: Arc<TokenClaims>) {
        if cacheable(bearer) {
            self.entries.insert(key, claims);
        }
    }

    pub fn remove(&self, key: &CacheKey) {
        self.entries.remove(key);
    }

    /// Forgets every verdict (the keys they were checked against changed).
    pub fn clear(&self) {
        self.entries.clear();
    }
}

/// Whether the token is a JWT (whose claims are all there is to judge) or a Biscuit with no
/// attenuation block. Reads the structure only: the signature was checked by the verification
/// that precedes every insert.
fn cacheable(bearer: &str) -> bool {
    super::jwt::is_jwt(bearer)
        || biscuit_auth::UnverifiedBiscuit::from_base64(bearer).is_ok_and(|t| t.block_count() == 1)
}
