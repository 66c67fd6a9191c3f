//! The admin API, guarded by Tokener's own tokens (scope `tokener:admin`).

pub mod audit;
pub mod auth;
pub mod clients;
pub mod keys;
pub mod tokens;

use crate::error::ApiError;
use crate::routes::token::require_json;
use actix_web::HttpRequest;

/// An admin request's JSON body: 415 unless declared `application/json`, 400 if malformed.
fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    require_json(req)?;
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
}

/// The same for a body that may be left out: an empty one means the defaults.
fn optional_json_body<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    json_body(req, body)
}
