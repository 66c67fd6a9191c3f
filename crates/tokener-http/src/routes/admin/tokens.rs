//! `POST /admin/tokens/{token_id}/revoke`: an administrator revokes any token by id.

use super::auth::require_admin;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tokener_core::{RevokeOutcome, TokenId};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationResult {
    pub token_id: String,
    /// `revoked`, or `already_revoked`.
    #[schema(example = "revoked")]
    pub outcome: &'static str,
}

/// Revoke a token by id (and every token derived from it).
#[utoipa::path(post, path = "/admin/tokens/{token_id}/revoke", tag = "admin",
    params(("token_id" = String, Path, description = "The token id (128 hex digits)", pattern = r"^[0-9a-f]{128}$")),
    responses(
        (status = 200, description = "Revoked", body = RevocationResult),
        (status = 400, description = "`invalid_request`: not a token id", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, description = "`token_not_found`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = require_admin(&req, &state).await?;
    let id = TokenId::parse(id.as_str())
        .map_err(|e| ApiError::invalid_request(format!("token id: {e}")))?;
    let outcome = match state.tokens.revoke_id(&id).await? {
        RevokeOutcome::Revoked => "revoked",
        RevokeOutcome::AlreadyRevoked => "already_revoked",
        RevokeOutcome::Unknown => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "token_not_found",
                "no token with this id is recorded",
            ))
        }
    };
    tracing::info!(token_id = %id, by = %admin.client_id, outcome, "token revoked by an administrator");
    let target = format!("token:{id}");
    state
        .audit(
            &req,
            admin.client_id.as_str(),
            "token.revoked",
            target,
            outcome,
        )
        .await;
    Ok(HttpResponse::Ok().json(RevocationResult {
        token_id: id.to_string(),
        outcome,
    }))
}
