//! `GET /revocations`: revoked token ids, for verifiers that work offline.

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tokener_core::{RevocationCursor, Timestamp, TokenId};
use utoipa::{IntoParams, ToSchema};

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevocationsQuery {
    /// Resume after this cursor (the `next` of a previous page); omit to start from the first.
    since: Option<String>,
    /// Page size, 1 to 10000 (default 1000).
    limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedToken {
    pub token_id: String,
    /// Seconds since the Unix epoch.
    pub revoked_at: u64,
    /// Seconds since the Unix epoch; after this the token is dead anyway.
    pub expires_at: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationPage {
    pub revocations: Vec<RevokedToken>,
    /// Pass as `since` to get what follows; equals the request's cursor when nothing is new.
    pub next: Option<String>,
}

/// Revoked token ids, oldest first.
#[utoipa::path(
    get,
    path = "/revocations",
    tag = "keys",
    params(RevocationsQuery),
    responses(
        (status = 200, description = "A page of revocations", body = RevocationPage),
        (status = 400, description = "Bad cursor or limit (`invalid_request`)", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    )
)]
pub async fn revocations(
    state: web::Data<AppState>,
    query: web::Query<RevocationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let after = query.since.as_deref().map(parse_cursor).transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    let page = state.tokens.revocations(after, limit).await?;
    let next = page
        .last()
        .map(|r| format_cursor(r.revoked_at, &r.token_id))
        .or_else(|| query.since.clone());
    Ok(HttpResponse::Ok().json(RevocationPage {
        revocations: page
            .into_iter()
            .map(|r| RevokedToken {
                token_id: r.token_id.to_string(),
                revoked_at: r.revoked_at.unix(),
                expires_at: r.expires_at.unix(),
            })
            .collect(),
        next,
    }))
}

/// A cursor reads `<revoked_at>.<token_id>`.
fn format_cursor(at: Timestamp, id: &TokenId) -> String {
    format!("{}.{}", at.unix(), id)
}

fn parse_cursor(text: &str) -> Result<RevocationCursor, ApiError> {
    let bad = || ApiError::invalid_request("since is not a cursor returned by this endpoint");
    let (at, id) = text.split_once('.').ok_or_else(bad)?;
    Ok(RevocationCursor {
        revoked_at: Timestamp::from_unix(at.parse().map_err(|_| bad())?),
        token_id: TokenId::parse(id).map_err(|_| bad())?,
    })
}
