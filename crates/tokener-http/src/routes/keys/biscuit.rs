//! `GET /keys`: every published key with its id and status: the Biscuit key, and the JWK of
//! the same key's JWTs.

use super::{cacheable_json, published, JwkView};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tokener_core::token::KeyStatus;
use utoipa::ToSchema;

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
    /// The ES256 key that signs the JWTs of this key id (also in `GET /jwks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwk: Option<JwkView>,
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
    let published = published(&state);
    let keys = published
        .statuses
        .iter()
        .filter_map(|(id, status)| {
            let key = published.keys.get(*id)?;
            let (status, activates_at) = match status {
                KeyStatus::Active => ("active", None),
                KeyStatus::Next { activates_at } => ("next", Some(activates_at.unix())),
                // Withdrawn keys are not published; the match is total for the compiler.
                KeyStatus::Retired | KeyStatus::Withdrawn => ("retired", None),
            };
            Some(PublicKeyInfo {
                id: id.0,
                algorithm: "ed25519",
                public_key: key.to_string(),
                public_key_hex: key.to_bytes_hex(),
                status,
                activates_at,
                jwk: published.keys.jwt(*id).map(|k| k.jwk(id.0).into()),
            })
        })
        .collect();
    cacheable_json(&state, &req, &KeySet { keys })
}
