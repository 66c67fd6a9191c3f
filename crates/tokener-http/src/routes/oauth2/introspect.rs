//! `POST /oauth2/introspect`: RFC 7662 token introspection.

use crate::credentials;
use crate::error::{ApiError, ErrorBody};
use crate::form::Form;
use crate::state::{AppState, TokenEvent};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tokener_core::{VerifyFailure, VerifyOptions};
use utoipa::ToSchema;

/// RFC 7662 §2.2. An inactive token is `{"active": false}` and nothing else.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "billing")]
    pub client_id: Option<String>,
    /// Space-separated scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "orders:read")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["orders"]))]
    pub aud: Option<Vec<String>>,
    /// Expiry, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issue time, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// The token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The client the token was issued to (a client credentials token acts for its client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<&'static str>,
}

/// Token introspection (RFC 7662).
///
/// Any authenticated client may introspect a token. Signature, expiry, revocation and the
/// checks of every block (including attenuation blocks appended by holders) are verified.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "oauth2",
    request_body(content = super::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state (RFC 7662 §2.2)", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_client`", body = ErrorBody),
        (status = 413, description = "Body larger than 32 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 429, description = "Too many failed client authentications from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until the window ends"))),
        (status = 503, description = "Revocation could not be checked (`temporarily_unavailable`)", body = ErrorBody),
    ),
    security(("client_basic" = []), ("client_secret_post" = []), ("private_key_jwt" = []))
)]
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let result = judge(&state, &req, &body).await;
    let outcome = match &result {
        Ok(r) if r.active => "active",
        _ => "inactive",
    };
    state.observe(TokenEvent::Verify, outcome, &result);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(result?))
}

async fn judge(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<IntrospectionResponse, ApiError> {
    let form = Form::parse(req, body, super::TOKEN_FORM_PARAMETERS)?;
    crate::client_auth::authenticate(state, req, credentials::oauth(req, &form)).await?;
    let token = form.require("token")?;
    let response = match state.tokens.verify(token, &VerifyOptions::default()).await {
        Ok(claims) => IntrospectionResponse {
            active: true,
            client_id: Some(claims.client_id.to_string()),
            sub: Some(claims.client_id.to_string()),
            scope: Some(
                claims
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            aud: Some(claims.audiences.into_iter().map(String::from).collect()),
            exp: Some(claims.expires_at.unix()),
            iat: Some(claims.issued_at.unix()),
            jti: Some(claims.token_id.to_string()),
            token_type: Some("Bearer"),
        },
        Err(VerifyFailure::Invalid(_)) => IntrospectionResponse::default(),
        Err(VerifyFailure::Store(e)) => return Err(e.into()),
    };
    Ok(response)
}
