//! `GET /keys`: the public keys tokens are verified with.

use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
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
    /// `active` (signs new tokens) or `retired` (still verifies tokens it signed).
    #[schema(example = "active")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeySet {
    pub keys: Vec<PublicKeyInfo>,
}

/// Public verification keys, active and retired, with their ids.
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    responses((status = 200, description = "The published keys", body = KeySet))
)]
pub async fn keys(state: web::Data<AppState>) -> HttpResponse {
    let ring = state.tokens.keys();
    let active = ring.active().id();
    let keys = ring
        .public_keys()
        .iter()
        .map(|(id, key)| PublicKeyInfo {
            id: id.0,
            algorithm: "ed25519",
            public_key: key.to_string(),
            status: if id == active { "active" } else { "retired" },
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(KeySet { keys })
}
