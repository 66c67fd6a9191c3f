//! `GET /revocations` and `GET /revocations/stream`: the revocation feed, for verifiers that
//! work offline. Both read the instance's revocation state, which follows the store within a
//! second, so a revocation made on any instance reaches every reader.

pub mod stream;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tokener_core::feed::WireEntry;
use tokener_core::FeedCursor;
use utoipa::{IntoParams, ToSchema};

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevocationsQuery {
    /// Resume after this cursor (the `next` of a previous page, or an entry's `cursor`); omit
    /// (or leave empty) to start from the first.
    #[param(pattern = r"^([0-9]{1,20}\.(c:[A-Za-z0-9._-]{1,64}|[0-9a-f]{128}))?$")]
    since: Option<String>,
    /// Page size, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
}

/// One revocation: a token (`kind: token`), or every token of a client issued before
/// `issued_before` (`kind: client`). Times are Unix seconds.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // documents the shape `tokener_core::feed` writes
pub struct RevocationEntry {
    /// `token` or `client`.
    #[schema(example = "token")]
    pub kind: String,
    /// With `kind: token`.
    pub token_id: Option<String>,
    /// With `kind: client`.
    pub client_id: Option<String>,
    /// With `kind: client`: tokens issued before this are revoked.
    pub issued_before: Option<u64>,
    pub revoked_at: u64,
    /// After this every token the entry covers has expired, and it may be forgotten.
    pub expires_at: u64,
    /// This entry's place in the feed (`since` and the stream's event id).
    pub cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationPage {
    #[schema(value_type = Vec<RevocationEntry>)]
    pub revocations: Vec<WireEntry>,
    /// Pass as `since` to get what follows; equals the request's cursor when nothing is new.
    pub next: Option<String>,
}

/// Every unexpired revocation, oldest first: token ids and client-wide entries.
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
    // An empty value counts as omitted.
    let since = query.since.clone().filter(|s| !s.is_empty());
    let after = since.as_deref().map(parse_cursor).transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    let page = state.tokens.revocation_feed(after.as_ref(), limit).await?;
    let next = page
        .last()
        .map(|entry| entry.cursor().to_string())
        .or(since);
    Ok(HttpResponse::Ok().json(RevocationPage {
        revocations: page.iter().map(WireEntry::from).collect(),
        next,
    }))
}

pub(crate) fn parse_cursor(text: &str) -> Result<FeedCursor, ApiError> {
    text.parse().map_err(|_| {
        ApiError::invalid_request(
            "the cursor (since or Last-Event-ID) is not one this feed returned",
        )
    })
}
