//! `/admin/keys`: the signing key ring, listed, extended with a key announced before it signs,
//! and keys retired. Never any private material. Every route requires an admin token.

use super::auth::require_admin;
use crate::error::{ApiError, ErrorBody};
use crate::signing_keys::{self, KeySource};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tokener_core::token::KeyStatus;
use tokener_core::{Clock, KeyId, KeyManager, KeyManagerError, KeyView, SystemClock, Timestamp};
use utoipa::ToSchema;

/// The latest activation time accepted: the end of year 9999, as MongoDB dates go.
const LAST_ACTIVATION: u64 = 253_402_300_799;

/// One signing key, as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    #[schema(example = 2)]
    pub id: u32,
    #[schema(example = "ed25519")]
    pub algorithm: &'static str,
    #[schema(example = "ed25519/5f1c0a2e0b9d4a2c8f1e6d3b7a9c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819")]
    pub public_key: String,
    /// `active` (signs), `next` (signs from `activates_at`), `retired` (verifies the tokens it
    /// signed until `verifies_until`) or `withdrawn` (no longer published).
    #[schema(example = "next")]
    pub status: &'static str,
    /// When it starts (or started) signing, Unix seconds; null for a retired key of a key file.
    pub activates_at: Option<u64>,
    /// When it was retired by hand, Unix seconds.
    pub retired_at: Option<u64>,
    /// When it stops (or stopped) signing, Unix seconds: retired, or a newer key activated.
    pub stops_signing_at: Option<u64>,
    /// When the last token it can have signed expires and it leaves `GET /keys`.
    pub verifies_until: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// `mongodb` (shared by every instance, sealed with `TOKENER_KEY_ENCRYPTION_SECRET`),
    /// `file` (`TOKENER_SIGNING_KEY_FILE`; read only here) or `memory` (this process only).
    #[schema(example = "mongodb")]
    pub source: &'static str,
    pub keys: Vec<KeyInfo>,
}

/// What `POST /admin/keys` may ask for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// When the key starts signing, Unix seconds, now or later (at most the end of year 9999).
    /// Default: after the announce period (`TOKENER_KEY_ANNOUNCE_SECONDS`), so every verifier
    /// knows the key before it signs.
    #[schema(minimum = 0, maximum = 253402300799_u64)]
    pub activates_at: Option<u64>,
}

impl From<KeyManagerError> for ApiError {
    fn from(e: KeyManagerError) -> Self {
        match e {
            KeyManagerError::Store(e) => e.into(),
            KeyManagerError::UnknownKey(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "key_not_found", e.to_string())
            }
            KeyManagerError::Signing(_) => {
                ApiError::new(StatusCode::CONFLICT, "key_signing", e.to_string())
            }
            KeyManagerError::AlreadyScheduled(_) => {
                ApiError::new(StatusCode::CONFLICT, "key_scheduled", e.to_string())
            }
            KeyManagerError::Seal(_) | KeyManagerError::Ring(_) => {
                tracing::error!(error = %e, "the stored signing keys cannot be used");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the stored signing keys cannot be used; see the service log",
                )
            }
        }
    }
}

/// The key store's manager, or 409 when the keys come from a key file.
fn manager(state: &AppState) -> Result<&KeyManager, ApiError> {
    match &state.keys {
        KeySource::Store { manager, .. } => Ok(manager),
        KeySource::File(path) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "keys_from_file",
            format!(
                "the signing keys come from the key file {} (TOKENER_SIGNING_KEY_FILE), which \
                 stays the source of truth: change the file and restart the instances",
                path.display()
            ),
        )),
    }
}

fn info(view: KeyView, max_ttl: std::time::Duration) -> KeyInfo {
    KeyInfo {
        id: view.id.0,
        algorithm: "ed25519",
        public_key: view.public_key,
        status: match view.status {
            KeyStatus::Active => "active",
            KeyStatus::Next { .. } => "next",
            KeyStatus::Retired => "retired",
            KeyStatus::Withdrawn => "withdrawn",
        },
        activates_at: view.lifecycle.activates_at.map(Timestamp::unix),
        retired_at: view.lifecycle.retired_at.map(Timestamp::unix),
        stops_signing_at: view.stops_signing_at.map(Timestamp::unix),
        verifies_until: view
            .stops_signing_at
            .map(|at| at.plus_secs(max_ttl.as_secs()).unix()),
    }
}

fn views(state: &AppState) -> Vec<KeyInfo> {
    let max_ttl = state.tokens.ttl_policy().max_ttl().as_duration();
    KeyView::all(&state.tokens.keys(), SystemClock.now(), max_ttl)
        .into_iter()
        .map(|view| info(view, max_ttl))
        .collect()
}

/// The key `id` as this instance now knows it.
fn view_of(state: &AppState, id: KeyId) -> Result<KeyInfo, ApiError> {
    views(state)
        .into_iter()
        .find(|k| k.id == id.0)
        .ok_or_else(ApiError::unavailable)
}

/// List the signing keys with their status and times.
#[utoipa::path(get, path = "/admin/keys", tag = "admin",
    responses(
        (status = 200, description = "Every key, by id", body = KeyList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state).await?;
    Ok(HttpResponse::Ok().json(KeyList {
        source: state.keys.name(),
        keys: views(&state),
    }))
}

/// Add a signing key: published as `next` at once (every instance within 10 s), signing from
/// its activation time; the key signing until then becomes `retired` and verifies its tokens
/// until they expire.
#[utoipa::path(post, path = "/admin/keys", tag = "admin",
    request_body(content = Option<NewKey>, description = "Optional"),
    responses(
        (status = 201, description = "The new key", body = KeyInfo),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 409, description = "`keys_from_file` or `key_scheduled`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is larger than 16 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),

        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let manager = manager(&state)?;
    let new: NewKey = crate::json_body::optional_object(&req, &body)?;
    let now = SystemClock.now();
    let activates_at = match new.activates_at {
        Some(at) if at > LAST_ACTIVATION => {
            return Err(ApiError::invalid_request(
                "activates_at must be at most 253402300799 (the end of year 9999)",
            ))
        }
        Some(at) => Timestamp::from_unix(at),
        None => now.plus_secs(state.key_announce.as_secs()),
    };
    let id = manager.add(activates_at).await?;
    tracing::info!(key_id = %id, activates_at = activates_at.unix(), by = %admin.client_id, "signing key added");
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "key.added",
            format!("key:{id}"),
            "ok",
        )
        .await;
    signing_keys::reload(&state).await?;
    Ok(HttpResponse::Created().json(view_of(&state, id)?))
}

/// Retire a signing key: a `next` key never signs; a key that signed stays published until
/// the last token it signed expires. The key signing now cannot be retired (add a new one).
#[utoipa::path(post, path = "/admin/keys/{key_id}/retire", tag = "admin",
    params(("key_id" = u32, Path, description = "The key id")),
    responses(
        (status = 200, description = "The retired key", body = KeyInfo),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`key_not_found`", body = ErrorBody),
        (status = 409, description = "`keys_from_file` or `key_signing`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn retire(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let manager = manager(&state)?;
    let id = id
        .parse::<u32>()
        .map(KeyId)
        .map_err(|_| ApiError::invalid_request("the key id is a whole number"))?;
    manager.retire(id).await?;
    tracing::info!(key_id = %id, by = %admin.client_id, "signing key retired");
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "key.retired",
            format!("key:{id}"),
            "ok",
        )
        .await;
    signing_keys::reload(&state).await?;
    Ok(HttpResponse::Ok().json(view_of(&state, id)?))
}
