//! The background task keeping the revocation state current: the stream while it lasts,
//! polling while it is down, and reconnection with backoff.

use super::feed_poll::catch_up;
use super::feed_stream::follow;
use super::shared::{now, Shared};
use super::stats::Counters;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// A stream that lasted this long was healthy: the next loss starts the backoff over.
const HEALTHY_STREAM: Duration = Duration::from_secs(30);

pub(crate) async fn run(shared: Arc<Shared>, mut cursor: Option<String>) {
    let mut backoff = FIRST_BACKOFF;
    let mut outage_logged = false;
    loop {
        let started = Instant::now();
        let (connected, error) = follow(&shared, &mut cursor).await;
        if connected && started.elapsed() >= HEALTHY_STREAM {
            backoff = FIRST_BACKOFF;
        }
        if connected {
            outage_logged = false;
        }
        if outage_logged {
            tracing::debug!(%error, "revocation stream still down");
        } else {
            tracing::warn!(%error, "revocation stream lost; polling until it is back");
            outage_logged = true;
        }
        Counters::bump(&shared.counters.stream_reconnects);
        poll_until(&shared, &mut cursor, Instant::now() + backoff).await;
        backoff = (backoff * 2).min(shared.settings.stream_backoff_max);
    }
}

/// Polls every poll interval (first at once) until `retry_at`, when the stream is tried again.
async fn poll_until(shared: &Shared, cursor: &mut Option<String>, retry_at: Instant) {
    loop {
        if let Err(error) = catch_up(shared, cursor).await {
            tracing::debug!(%error, "revocation poll failed");
        }
        let _ = shared.freshness.judge(&shared.revocations, now());
        let next_poll = Instant::now() + shared.settings.revocation_poll;
        if next_poll >= retry_at {
            tokio::time::sleep_until(retry_at).await;
            return;
        }
        tokio::time::sleep_until(next_poll).await;
    }
}
