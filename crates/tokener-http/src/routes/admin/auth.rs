//! Admin access: a Tokener token carrying the `tokener:admin` scope, sent as
//! `Authorization: Bearer <token>`. Tokener guards its own admin API with its own tokens, so
//! there is no second credential to manage: give a client the admin scope (the bootstrap
//! client, typically) and it can get an admin token from `POST /token`.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::header::{self, Header};
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use actix_web_httpauth::headers::authorization::{Authorization, Bearer};
use tokener_core::{Scope, TokenClaims, VerifyError, VerifyFailure, VerifyOptions};

/// The scope an admin token must carry.
pub const ADMIN_SCOPE: &str = "tokener:admin";

/// The claims of the caller's admin token; 401 without a valid token, 403 without the scope.
///
/// The token alone is not enough: on every call the client it was issued to must still exist,
/// be enabled and hold the admin scope, so taking the scope away or disabling the client ends
/// its admin access at once, not when its tokens expire.
pub async fn require_admin(req: &HttpRequest, state: &AppState) -> Result<TokenClaims, ApiError> {
    let auth = Authorization::<Bearer>::parse(req)
        .map_err(|_| invalid_token("a bearer token is required"))?;
    let scope = Scope::parse(ADMIN_SCOPE).map_err(|_| invalid_token("admin scope"))?;
    let options = VerifyOptions::default().scope(scope.clone());
    let claims = match state.tokens.verify(auth.as_ref().token(), &options).await {
        Ok(claims) => claims,
        Err(VerifyFailure::Invalid(VerifyError::MissingScope)) => return Err(insufficient_scope()),
        Err(VerifyFailure::Invalid(e)) => return Err(invalid_token(&e.to_string())),
        Err(VerifyFailure::Store(e)) => return Err(e.into()),
    };
    match state.clients.get(&claims.client_id).await {
        Ok(client) if client.disabled => Err(invalid_token("the token's client is disabled")),
        Ok(client) if !client.allowed_scopes.contains(&scope) => Err(insufficient_scope()),
        Ok(_) => Ok(claims),
        Err(tokener_core::ClientError::NotFound(_)) => {
            Err(invalid_token("the token's client no longer exists"))
        }
        Err(e) => Err(e.into()),
    }
}

fn insufficient_scope() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        format!("the token lacks the {ADMIN_SCOPE} scope"),
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        bearer_challenge("insufficient_scope"),
    )
}

fn bearer_challenge(error: &str) -> String {
    format!("Bearer realm=\"tokener\", error=\"{error}\", scope=\"{ADMIN_SCOPE}\"")
}

/// RFC 6750 §3.1 `invalid_token`.
fn invalid_token(description: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        .with_header(header::WWW_AUTHENTICATE, bearer_challenge("invalid_token"))
}
