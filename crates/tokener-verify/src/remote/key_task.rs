//! The background task keeping the keys current: a revalidation on a timer, and the fetches
//! requests ask for when a token names a key id not held.

use super::keys::{Fetched, KeyFetcher};
use super::shared::Shared;
use super::stats::Counters;
use std::sync::Arc;
use tokener_core::Verifier;
use tokio::time::MissedTickBehavior;

pub(crate) async fn run(shared: Arc<Shared>, mut fetcher: KeyFetcher) {
    let mut timer = tokio::time::interval(shared.settings.key_refresh);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate; discovery has just fetched the keys.
    timer.tick().await;
    loop {
        let asked = tokio::select! {
            _ = timer.tick() => false,
            () = shared.refetch.asked() => true,
        };
        let ticket = shared.refetch.begin();
        fetch_once(&shared, &mut fetcher, asked).await;
        shared.refetch.finish(ticket);
    }
}

async fn fetch_once(shared: &Shared, fetcher: &mut KeyFetcher, asked: bool) {
    Counters::bump(&shared.counters.key_fetches);
    if asked {
        Counters::bump(&shared.counters.unknown_key_refetches);
    }
    match fetcher
        .fetch(&shared.http, shared.settings.http_timeout)
        .await
    {
        Ok(Fetched::Keys(keys)) => {
            tracing::debug!(url = fetcher.url(), "Tokener keys refreshed");
            shared.keys.store(Arc::new(Verifier::new(keys)));
        }
        Ok(Fetched::Unchanged) => {}
        // The keys held keep verifying; the next tick tries again.
        Err(e) => tracing::warn!(url = fetcher.url(), error = %e, "Tokener keys not refreshed"),
    }
}
