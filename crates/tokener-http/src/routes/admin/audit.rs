//! `GET /admin/audit`: the audit trail, paged in time order.

use super::auth::require_admin;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tokener_core::AuditEvent;
use utoipa::{IntoParams, ToSchema};

/// The most events one page holds.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` of the previous page; absent: from the oldest event kept.
    pub since: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// One audit event. Never a secret or a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    #[schema(example = "1796170508437-0000002a-4f1c0a2e")]
    pub id: String,
    /// Unix milliseconds.
    pub at: u64,
    /// The client id that acted, `-` when none authenticated.
    #[schema(example = "ops")]
    pub actor: String,
    #[schema(example = "client.disabled")]
    pub action: String,
    #[schema(example = "client:billing")]
    pub target: String,
    #[schema(example = "ok")]
    pub outcome: String,
    pub request_id: Option<String>,
    /// For a burst recorded as one event (`auth.refused`): how many.
    pub count: Option<u64>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at.unix_millis(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            request_id: e.request_id,
            count: e.count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Where the next page starts (`?since=`); the same as `since` when nothing is new.
    pub next: Option<String>,
}

/// Page through the audit trail: admin actions, token revocations, refused bursts of failed
/// client authentication.
#[utoipa::path(get, path = "/admin/audit", tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "Events in time order", body = AuditPage),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ),
    security(("admin_bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Result<web::Query<AuditQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&req, &state).await?;
    let query = query.map_err(|e| ApiError::invalid_request(format!("query: {e}")))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    let since = query.since.clone();
    let events = state.audit.list(since.clone(), limit).await?;
    let next = events.last().map(|e| e.id.clone()).or(since);
    Ok(HttpResponse::Ok().json(AuditPage {
        events: events.into_iter().map(Into::into).collect(),
        next,
    }))
}
