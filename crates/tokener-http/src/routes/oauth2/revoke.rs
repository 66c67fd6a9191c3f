//! `POST /oauth2/revoke`: RFC 7009 token revocation.

use crate::credentials;
use crate::error::{ApiError, ErrorBody};
use crate::form::Form;
use crate::state::{AppState, TokenEvent};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tokener_core::{RevokeError, RevokeOutcome};

/// Token revocation (RFC 7009).
///
/// A client revokes a token issued to it; every token derived from it (by attenuation) is
/// revoked with it. A string that is not a valid token is answered 200, as §2.2 asks.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "oauth2",
    request_body(content = super::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_client`", body = ErrorBody),
        (status = 403, description = "The token was issued to another client (`unauthorized_client`)", body = ErrorBody),
        (status = 413, description = "Body larger than 32 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 429, description = "Too many failed client authentications from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until the window ends"))),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("client_basic" = []), ("client_secret_post" = []), ("private_key_jwt" = []))
)]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let result = revoke_token(&state, &req, &body).await;
    let outcome = match &result {
        Ok(RevokeOutcome::Revoked) => "revoked",
        Ok(RevokeOutcome::AlreadyRevoked) => "already_revoked",
        _ => "unknown",
    };
    state.observe(TokenEvent::Revoke, outcome, &result);
    result?;
    Ok(HttpResponse::Ok().finish())
}

async fn revoke_token(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<RevokeOutcome, ApiError> {
    let form = Form::parse(req, body, super::TOKEN_FORM_PARAMETERS)?;
    let client =
        crate::client_auth::authenticate(state, req, credentials::oauth(req, &form)).await?;
    let token = form.require("token")?;
    match state.tokens.revoke(&client.id, token).await {
        Ok(RevokeOutcome::Unknown) => Ok(RevokeOutcome::Unknown),
        Ok(outcome) => {
            let outcome_name = match outcome {
                RevokeOutcome::Revoked => "revoked",
                _ => "already_revoked",
            };
            if let Some(id) = state.tokens.token_id_of(token) {
                let target = format!("token:{id}");
                state
                    .audit(
                        req,
                        client.id.as_str(),
                        "token.revoked",
                        target,
                        outcome_name,
                    )
                    .await;
            }
            Ok(outcome)
        }
        Err(RevokeError::NotOwner) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "the token was not issued to this client",
        )),
        Err(RevokeError::Store(e)) => Err(e.into()),
    }
}
