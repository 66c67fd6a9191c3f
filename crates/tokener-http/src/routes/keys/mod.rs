//! The public keys tokens are verified with: `GET /keys` (every key with its status, Biscuit
//! and JWT) and `GET /jwks` (the JWT keys as a JWK set). Both carry an `ETag`, so verifiers
//! that refresh on a timer cost a `304` when nothing changed, and a `Cache-Control` max-age
//! below the announce period of a new key, so every verifier knows a key before it signs.

pub mod biscuit;
pub mod jwks;

pub use biscuit::keys;
pub use jwks::jwks;

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokener_core::token::{Jwk, KeyStatus};
use tokener_core::{Clock, KeyId, PublicKeySet, SystemClock};
use utoipa::ToSchema;

/// The longest verifiers may cache a key set.
const MAX_AGE_SECONDS: u64 = 60;

/// A key set's lifetime in caches: at most a minute, and under half the announce period, so
/// a verifier refreshing on the cache's schedule meets a new key while it is still `next`.
fn max_age(state: &AppState) -> u64 {
    MAX_AGE_SECONDS.min(state.key_announce.as_secs() / 2)
}

/// The keys published now (every key but those withdrawn) and what each does.
struct Published {
    keys: PublicKeySet,
    statuses: Vec<(KeyId, KeyStatus)>,
}

fn published(state: &AppState) -> Published {
    let ring = state.tokens.keys();
    let now = SystemClock.now();
    let max_ttl = state.tokens.ttl_policy().max_ttl().as_duration();
    let keys = ring.published_keys(now, max_ttl);
    let statuses = keys
        .iter()
        .map(|(id, _)| (id, ring.status(id, now, max_ttl)))
        .collect();
    Published { keys, statuses }
}

/// A public JWK of an ES256 key (RFC 7517, RFC 7518 §6.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkView {
    #[schema(example = "EC")]
    pub kty: String,
    #[schema(example = "P-256")]
    pub crv: String,
    /// The x coordinate, base64url.
    #[schema(example = "TyinOOXhONYtPKReHh0QVMhfDc1qbfMizOopSk7FUDg")]
    pub x: String,
    /// The y coordinate, base64url.
    #[schema(example = "72ZSau6igu9REhzdIC4X1WdZ4k2qXJFswt8wjSnhcmQ")]
    pub y: String,
    /// The key id, as in a JWT's `kid` header: the same id as the key's Biscuit key.
    #[schema(example = "1")]
    pub kid: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: String,
    #[schema(example = "ES256")]
    pub alg: String,
}

impl From<Jwk> for JwkView {
    fn from(j: Jwk) -> Self {
        Self {
            kty: j.kty,
            crv: j.crv,
            x: j.x,
            y: j.y,
            kid: j.kid,
            use_: j.use_,
            alg: j.alg,
        }
    }
}

/// `body` as JSON with its `ETag` and cache lifetime, or `304` when the caller has it.
fn cacheable_json(state: &AppState, req: &HttpRequest, body: &impl Serialize) -> HttpResponse {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let cache = (
        header::CACHE_CONTROL,
        format!("public, max-age={}", max_age(state)),
    );
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .content_type("application/json")
        .body(body)
}
