//! Polling `GET /revocations?since=`: the initial load and the fallback while the stream is
//! down. Pages are followed until the feed says nothing is new.

use super::error::FetchError;
use super::shared::{now, Shared};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokener_core::{feed, RevocationEntry};

/// The most entries one page may hold (the server's upper bound).
const PAGE_LIMIT: &str = "10000";

#[derive(Deserialize)]
struct Page {
    revocations: Vec<Box<RawValue>>,
    next: Option<String>,
}

/// Reads every entry after `cursor`, applies them, advances `cursor` and, once caught up,
/// marks the state synced as of the moment the first page was asked for.
pub(crate) async fn catch_up(
    shared: &Shared,
    cursor: &mut Option<String>,
) -> Result<usize, FetchError> {
    let asked_at = now();
    let mut added = 0;
    loop {
        let page = fetch_page(shared, cursor.as_deref()).await?;
        let entries = decode_all(&page.revocations);
        let empty = page.revocations.is_empty();
        added += shared.revocations.apply(entries, now());
        let advanced = match page.next {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => {
                *cursor = Some(next);
                true
            }
            _ => false,
        };
        if empty || !advanced {
            break;
        }
    }
    shared.revocations.mark_synced(asked_at);
    Ok(added)
}

async fn fetch_page(shared: &Shared, since: Option<&str>) -> Result<Page, FetchError> {
    let mut request = shared
        .http
        .get(&shared.endpoints.revocations)
        .timeout(shared.settings.http_timeout)
        .query(&[("limit", PAGE_LIMIT)]);
    if let Some(since) = since {
        request = request.query(&[("since", since)]);
    }
    let response = request.send().await?.error_for_status()?;
    Ok(response.json::<Page>().await?)
}

/// Entries this version cannot read are skipped with a warning rather than failing the page:
/// failing would stop every later revocation from arriving.
fn decode_all(raw: &[Box<RawValue>]) -> Vec<RevocationEntry> {
    raw.iter()
        .filter_map(|entry| decode_one(entry.get()))
        .collect()
}

pub(crate) fn decode_one(json: &str) -> Option<RevocationEntry> {
    match feed::decode(json) {
        Ok((entry, _cursor)) => Some(entry),
        Err(e) => {
            tracing::warn!(error = %e, "skipping a revocation entry this verifier cannot read");
            None
        }
    }
}
