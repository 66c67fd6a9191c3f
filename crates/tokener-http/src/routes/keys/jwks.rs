//! `GET /jwks`: the keys of JWT access tokens as a JWK set (RFC 7517 §5), for JOSE libraries
//! and gateways configured with the `jwks_uri` of the metadata.

use super::{cacheable_json, published, JwkView};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<JwkView>,
}

/// The JWT verification keys: active, next (accept them already) and retired (still verify
/// the tokens they signed). `kid` is the key id in a JWT's header.
#[utoipa::path(
    get,
    path = "/jwks",
    tag = "keys",
    params(("If-None-Match" = Option<String>, Header, description = "A previous `ETag`", nullable = false)),
    responses(
        (status = 200, description = "The published JWT keys", body = JwkSet, content_type = "application/json"),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`"),
    )
)]
pub async fn jwks(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let keys = published(&state)
        .keys
        .jwt_keys()
        .map(|(id, key)| key.jwk(id.0).into())
        .collect();
    cacheable_json(&state, &req, &JwkSet { keys })
}
