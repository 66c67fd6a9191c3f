//! `POST /token`: issue a token to a client authenticated by HTTP Basic.

use crate::credentials;
use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, TokenEvent};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::str::FromStr;
use tokener_core::{IssueRequest, IssuedToken, Ttl};
use utoipa::ToSchema;

/// The largest request body accepted by `POST /token`.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// A scope, as the schema documents the items of scope lists.
#[derive(ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9._:/-]{1,128}$", example = "orders:read")]
pub struct ScopeText(#[allow(dead_code)] String);

/// An audience, as the schema documents the items of audience lists.
#[derive(ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9._:/-]{1,128}$", example = "orders")]
pub struct AudienceText(#[allow(dead_code)] String);

/// Optional narrowing of what the client is granted. Every field may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Services the token is meant for; default: every audience the client may have.
    #[schema(value_type = Option<Vec<AudienceText>>, example = json!(["orders"]))]
    pub audience: Option<Vec<String>>,
    /// Scopes to grant; default: every scope the client may have.
    #[schema(value_type = Option<Vec<ScopeText>>, example = json!(["orders:read"]))]
    pub scope: Option<Vec<String>>,
    /// Lifetime in seconds; default 86400 (24 h), at most the configured maximum
    /// (`TOKENER_MAX_TTL_SECONDS`, itself at most one year: 31622400).
    #[schema(example = 3600, minimum = 1, maximum = 31622400)]
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The Biscuit token, base64url. Send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 86400)]
    pub expires_in: u64,
    /// When the token expires, RFC 3339 UTC.
    #[schema(example = "2026-11-26T12:00:00Z")]
    pub expires_at: String,
    /// The token id (hex of the authority block's revocation id).
    pub token_id: String,
    /// Granted scopes.
    #[schema(example = json!(["orders:read"]))]
    pub scope: Vec<String>,
    /// Audiences the token is meant for.
    #[schema(example = json!(["orders"]))]
    pub audience: Vec<String>,
}

impl From<IssuedToken> for TokenResponse {
    fn from(issued: IssuedToken) -> Self {
        let claims = issued.record.claims;
        Self {
            access_token: issued.bearer,
            token_type: "Bearer",
            expires_in: claims
                .expires_at
                .unix()
                .saturating_sub(claims.issued_at.unix()),
            expires_at: claims.expires_at.to_rfc3339(),
            token_id: claims.token_id.to_string(),
            scope: claims.scopes.into_iter().map(String::from).collect(),
            audience: claims.audiences.into_iter().map(String::from).collect(),
        }
    }
}

/// Issue a token.
///
/// Authenticates the client with HTTP Basic (client id and secret), grants the requested
/// scopes and audiences if the client may have them, and records the token before answering:
/// a 200 means the token is recorded.
#[utoipa::path(
    post,
    path = "/token",
    tag = "tokens",
    request_body(content = Option<TokenRequest>, content_type = "application/json",
        description = "Optional; an empty body asks for the defaults"),
    responses(
        (status = 200, description = "Token issued and recorded", body = TokenResponse),
        (status = 400, description = "Malformed body, bad value or TTL above the maximum (`invalid_request`, `invalid_ttl`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong client credentials (`invalid_client`)", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "Basic realm=\"tokener\""))),
        (status = 403, description = "A scope or audience the client may not have (`scope_not_allowed`, `audience_not_allowed`)", body = ErrorBody),
        (status = 413, description = "Body larger than 4 KiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "Too many requests by this client (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until the window ends"))),
        (status = 503, description = "The token store is unavailable (`temporarily_unavailable`)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
    security(("client_basic" = []))
)]
pub async fn issue(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let result = issue_token(&state, &req, &body).await;
    state.observe(TokenEvent::Issue, "issued", &result);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(result?))
}

async fn issue_token(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<TokenResponse, ApiError> {
    let client = crate::client_auth::authenticate(
        state,
        req,
        credentials::basic(req).map(|(id, secret)| credentials::Credentials::Secret(id, secret)),
    )
    .await?;
    state.check_rate(&client.id).await?;
    let request = IssueRequest {
        issuer: crate::routes::oauth2::metadata::issuer(state, req),
        ..parse_body(req, body)?
    };
    let issued = state.tokens.issue_for(&client, request).await?;
    Ok(TokenResponse::from(issued))
}

fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<IssueRequest, ApiError> {
    // An empty body, or `null`, asks for nothing in particular.
    let raw: TokenRequest = crate::json_body::optional_object(req, body)?;
    Ok(IssueRequest {
        audiences: raw.audience.map(|v| parse_all("audience", v)).transpose()?,
        scopes: raw.scope.map(|v| parse_all("scope", v)).transpose()?,
        ttl: raw
            .ttl_seconds
            .map(Ttl::from_secs)
            .transpose()
            .map_err(|e| {
                ApiError::new(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "invalid_ttl",
                    format!("ttl_seconds: {e}"),
                )
            })?,
        issuer: String::new(),
    })
}

/// Parses every value of a list field, naming the first bad one.
pub fn parse_all<T>(field: &str, values: Vec<String>) -> Result<BTreeSet<T>, ApiError>
where
    T: FromStr + Ord,
    T::Err: std::fmt::Display,
{
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.parse::<T>()
                .map_err(|e| ApiError::invalid_request(format!("{field}[{i}]: {e}")))
        })
        .collect()
}
