//! `POST /oauth2/token`: the client credentials grant of RFC 6749 §4.4.

use crate::credentials;
use crate::error::{ApiError, ErrorBody};
use crate::form::Form;
use crate::state::{AppState, TokenEvent};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use std::collections::BTreeSet;
use std::str::FromStr;
use tokener_core::{IssueError, IssueRequest};
use utoipa::ToSchema;

/// RFC 6749 §5.1 successful response.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthTokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[schema(example = 86400)]
    pub expires_in: u64,
    /// Granted scopes, space-separated.
    #[schema(example = "orders:read orders:write")]
    pub scope: String,
}

/// The form parameters of a client credentials request, as documented in the OpenAPI document.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ClientCredentialsForm {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials", pattern = "^client_credentials$")]
    grant_type: String,
    /// Space-separated scopes; default: every scope the client may have.
    #[schema(example = "orders:read", nullable = false)]
    scope: Option<String>,
    /// Space-separated audiences; default: every audience the client may have.
    #[schema(example = "orders", nullable = false)]
    audience: Option<String>,
    #[serde(flatten)]
    client: super::ClientAuthFields,
}

/// Client credentials grant (RFC 6749 §4.4).
///
/// Authenticate with `client_secret_basic` (HTTP Basic), `client_secret_post` (form
/// parameters) or `private_key_jwt` (a signed assertion, RFC 7523). Errors follow RFC 6749
/// §5.2.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "oauth2",
    request_body(content = ClientCredentialsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Token issued and recorded (RFC 6749 §5.1)", body = OAuthTokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `invalid_target` (audience) or `unsupported_grant_type`", body = ErrorBody),
        (status = 401, description = "`invalid_client`", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Basic realm=\"tokener\""))),
        (status = 413, description = "Body larger than 32 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 429, description = "Too many requests by this client, or too many failed client authentications from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until the window ends"))),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
    security(("client_basic" = []), ("client_secret_post" = []), ("private_key_jwt" = []))
)]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let result = grant(&state, &req, &body).await;
    state.observe(TokenEvent::Issue, "issued", &result);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(result?))
}

async fn grant(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<OAuthTokenResponse, ApiError> {
    let form = Form::parse(req, body, &["grant_type", "scope", "audience"])?;
    match form.require("grant_type")? {
        "client_credentials" => {}
        _ => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ))
        }
    }
    let client =
        crate::client_auth::authenticate(state, req, credentials::oauth(req, &form)).await?;
    state.check_rate(&client.id).await?;
    let request = IssueRequest {
        scopes: form
            .get("scope")
            .map(|s| space_separated(s, "invalid_scope"))
            .transpose()?,
        audiences: form
            .get("audience")
            .map(|a| space_separated(a, "invalid_target"))
            .transpose()?,
        ttl: None,
        issuer: crate::routes::oauth2::metadata::issuer(state, req),
    };
    let issued = state
        .tokens
        .issue_for(&client, request)
        .await
        .map_err(oauth_error)?;
    let claims = &issued.record.claims;
    Ok(OAuthTokenResponse {
        expires_in: claims
            .expires_at
            .unix()
            .saturating_sub(claims.issued_at.unix()),
        scope: claims
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        token_type: "Bearer",
        access_token: issued.bearer,
    })
}

/// RFC 6749 §5.2 names a scope the client may not have `invalid_scope`; RFC 8707 §2 names an
/// audience (resource) it may not have `invalid_target`. Both are HTTP 400.
fn oauth_error(e: IssueError) -> ApiError {
    match e {
        IssueError::ScopeNotAllowed(_) => ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_scope",
            e.to_string(),
        ),
        IssueError::AudienceNotAllowed(_) => ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_target",
            e.to_string(),
        ),
        other => other.into(),
    }
}

fn space_separated<T>(text: &str, code: &'static str) -> Result<BTreeSet<T>, ApiError>
where
    T: FromStr + Ord,
    T::Err: std::fmt::Display,
{
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>().map_err(|e| {
                ApiError::new(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    code,
                    e.to_string(),
                )
            })
        })
        .collect()
}
