//! `GET /keys`: the public keys tokens are verified with, with an `ETag` so verifiers that
//! refresh on a timer cost a `304` when nothing changed.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokener_core::token::KeyStatus;
use tokener_core::{Clock, SystemClock};
use utoipa::ToSchema;

/// How long verifiers may cache the key set: well below any sensible announce period of a new
/// key (see the README's key rotation), so every verifier knows a key before it signs.
const MAX_AGE_SECONDS: u32 = 60;

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyInfo {
    /// The root key id carried in tokens signed by this key.
    #[schema(example = 1)]
    pub id: u32,
    #[schema(example = "ed25519")]
    pub algorithm: &'static str,
    /// The public key as Biscuit tools print it: `ed25519/<hex>`.
    #[schema(example = "ed25519/5f1c0a2e0b9d4a2c8f1e6d3b7a9c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819")]
    pub public_key: String,
    /// The same key as bare hex, the form some Biscuit libraries want.
    #[schema(example = "5f1c0a2e0b9d4a2c8f1e6d3b7a9c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819")]
    pub public_key_hex: String,
    /// `active` (signs new tokens), `next` (signs from `activates_at`; accept it already) or
    /// `retired` (still verifies tokens it signed).
    #[schema(example = "active")]
    pub status: &'static str,
    /// With `next`: when the key starts signing (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activates_at: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeySet {
    pub keys: Vec<PublicKeyInfo>,
}

/// Public verification keys, active, next and retired, with their ids.
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    params(("If-None-Match" = Option<String>, Header, description = "A previous `ETag`", nullable = false)),
    responses(
        (status = 200, description = "The published keys", body = KeySet),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`"),
    )
)]
pub async fn keys(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ring = state.tokens.keys();
    let now = SystemClock.now();
    let max_ttl = state.tokens.ttl_policy().max_ttl().as_duration();
    let keys = ring
        .published_keys(now, max_ttl)
        .iter()
        .map(|(id, key)| {
            let (status, activates_at) = match ring.status(id, now, max_ttl) {
                KeyStatus::Active => ("active", None),
                KeyStatus::Next { activates_at } => ("next", Some(activates_at.unix())),
                // Withdrawn keys are not published; the match is total for the compiler.
                KeyStatus::Retired | KeyStatus::Withdrawn => ("retired", None),
            };
            PublicKeyInfo {
                id: id.0,
                algorithm: "ed25519",
                public_key: key.to_string(),
                public_key_hex: key.to_bytes_hex(),
                status,
                activates_at,
            }
        })
        .collect();
    let body = serde_json::to_vec(&KeySet { keys }).unwrap_or_default();
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let cache = (
        header::CACHE_CONTROL,
        format!("public, max-age={MAX_AGE_SECONDS}"),
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
