//! `GET /revocations/stream`: the revocation feed pushed as Server-Sent Events.
//!
//! Each event is one entry (the JSON of a `/revocations` entry) with its cursor as `id:`, so a
//! reader that reconnects with `Last-Event-ID` (or `?since=`) resumes exactly after the last
//! entry it got. Entries come from the revocation state in cursor order, once settled (see
//! `TokenService::revocation_feed`): with the state polled every 200 ms and 300 ms of settling,
//! a revocation made on any instance is pushed within about half a second.

use super::parse_cursor;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::collections::VecDeque;
use std::time::Duration;
use tokener_core::{feed, FeedCursor, RevocationEntry};
use tokio::time::Instant;
use utoipa::IntoParams;

/// A comment line at least this often, so readers (and proxies) can tell a quiet feed from a
/// dead connection.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often the feed looks again without being woken: settled entries become due with time.
const TICK: Duration = Duration::from_millis(100);
/// Entries read from the state at a time.
const BATCH: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Resume after this cursor; the `Last-Event-ID` header wins when both are sent. An empty
    /// value counts as omitted.
    #[param(pattern = r"^([0-9]{1,20}\.(c:[A-Za-z0-9._-]{1,64}|[0-9a-f]{128}))?$")]
    since: Option<String>,
}

/// One event of the stream, as a reader parses it (the schema of `text/event-stream` describes
/// one event): `data` is the JSON of a `/revocations` entry.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RevocationEvent {
    #[schema(pattern = "^revocation$")]
    event: String,
    /// The entry's cursor: resume after it with `Last-Event-ID`.
    id: String,
    /// A `RevocationEntry`, as JSON.
    data: String,
    /// The reconnection delay in milliseconds, when the server sends one.
    #[schema(minimum = 0, nullable = false)]
    retry: Option<u64>,
}

/// The revocation feed as Server-Sent Events: every unexpired revocation, then new ones as
/// they happen. Event `revocation`, `id` = the entry's cursor, `data` = the entry's JSON (as
/// in `GET /revocations`); a `: keep-alive` comment every 5 s.
#[utoipa::path(
    get,
    path = "/revocations/stream",
    tag = "keys",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor", nullable = false,
            pattern = r"^([0-9]{1,20}\.(c:[A-Za-z0-9._-]{1,64}|[0-9a-f]{128}))?$"),
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`: `id: <cursor>`, \
            `event: revocation`, `data: <entry JSON>`", content_type = "text/event-stream",
            body = RevocationEvent),
        (status = 400, description = "Bad cursor (`invalid_request`)", body = ErrorBody),
    )
)]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    let header = match req.headers().get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value.to_string()).filter(|v| !v.is_empty()),
        // Not visible ASCII: it cannot be a cursor of this feed.
        Some(Err(_)) => return Err(ApiError::invalid_request("Last-Event-ID is not a cursor")),
    };
    let resume = header.or_else(|| query.into_inner().since.filter(|s| !s.is_empty()));
    let cursor = resume.as_deref().map(parse_cursor).transpose()?;
    let feed = Feed {
        changes: state.tokens.revocation_state().subscribe(),
        stopping: state.stopping.clone(),
        state,
        cursor,
        pending: VecDeque::new(),
        last_sent: Instant::now(),
        started: false,
    };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next_event().await?;
        Some((Ok::<Bytes, actix_web::Error>(event), feed))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Neither compressed nor buffered on the way out (NGINX honours X-Accel-Buffering).
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}

struct Feed {
    state: web::Data<AppState>,
    changes: tokio::sync::watch::Receiver<u64>,
    stopping: tokio::sync::watch::Receiver<bool>,
    cursor: Option<FeedCursor>,
    pending: VecDeque<RevocationEntry>,
    last_sent: Instant,
    started: bool,
}

impl Feed {
    /// The next bytes to send; `None` ends the stream (the reader reconnects and resumes).
    async fn next_event(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(Bytes::from_static(b"retry: 1000\n\n"));
        }
        loop {
            if *self.stopping.borrow() {
                // Shutting down: the reader reconnects (to another instance) and resumes.
                return None;
            }
            if let Some(entry) = self.pending.pop_front() {
                let cursor = entry.cursor();
                let event = format!(
                    "id: {cursor}\nevent: revocation\ndata: {}\n\n",
                    feed::encode(&entry)
                );
                self.cursor = Some(cursor);
                self.last_sent = Instant::now();
                return Some(Bytes::from(event));
            }
            match self
                .state
                .tokens
                .revocation_feed(self.cursor.as_ref(), BATCH)
                .await
            {
                Ok(entries) if !entries.is_empty() => {
                    self.pending.extend(entries);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    // The state could not be brought up to date: end the stream rather than
                    // let a reader believe it is current; it reconnects and resumes.
                    tracing::warn!(%error, "revocation stream ended: the revocation state is stale");
                    return None;
                }
            }
            if self.last_sent.elapsed() >= HEARTBEAT {
                self.last_sent = Instant::now();
                return Some(Bytes::from_static(b": keep-alive\n\n"));
            }
            // Woken by a new entry or the shutdown, or after a tick (entries settle with time).
            tokio::select! {
                _ = self.changes.changed() => {}
                _ = self.stopping.changed() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }
}
