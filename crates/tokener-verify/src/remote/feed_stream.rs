//! Following `GET /revocations/stream` (server-sent events), resuming from the last cursor.

use super::error::FetchError;
use super::feed_poll::decode_one;
use super::shared::{now, Shared};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header::ACCEPT;

/// Follows the stream until it fails or ends (the error says how), applying each entry and
/// advancing `cursor`. Returns whether the stream was connected at all.
pub(crate) async fn follow(shared: &Shared, cursor: &mut Option<String>) -> (bool, FetchError) {
    let mut request = shared
        .http
        .get(&shared.endpoints.revocations_stream)
        .header(ACCEPT, "text/event-stream");
    if let Some(cursor) = cursor.as_deref() {
        request = request.header("Last-Event-ID", cursor);
    }
    let response = match tokio::time::timeout(shared.settings.http_timeout, request.send()).await {
        Err(_) => return (false, FetchError("connecting timed out".into())),
        Ok(Err(e)) => return (false, e.into()),
        Ok(Ok(response)) => match response.error_for_status() {
            Ok(response) => response,
            Err(e) => return (false, e.into()),
        },
    };
    tracing::debug!(url = %shared.endpoints.revocations_stream, "revocation stream connected");
    // Any bytes, heartbeat comments included (the parser does not surface those), mean the
    // server is talking to us with nothing older unsent; an event in the same chunk is
    // applied right after.
    let state = shared.revocations.clone();
    let mut events = response
        .bytes_stream()
        .inspect(move |chunk| {
            if chunk.is_ok() {
                state.mark_synced(now());
            }
        })
        .eventsource();
    loop {
        let next = tokio::time::timeout(shared.settings.stream_idle, events.next()).await;
        let event = match next {
            Err(_) => {
                return (
                    true,
                    FetchError("no heartbeat within the idle limit".into()),
                )
            }
            Ok(None) => return (true, FetchError("the server closed the stream".into())),
            Ok(Some(Err(e))) => return (true, FetchError(e.to_string())),
            Ok(Some(Ok(event))) => event,
        };
        if event.event == "revocation" {
            if let Some(entry) = decode_one(&event.data) {
                shared.revocations.apply([entry], now());
            }
        }
        if !event.id.is_empty() {
            *cursor = Some(event.id);
        }
        // Evaluated here too so a return to freshness is logged without waiting for a request.
        let _ = shared.freshness.judge(&shared.revocations, now());
    }
}
