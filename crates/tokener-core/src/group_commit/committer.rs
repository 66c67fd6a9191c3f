//! [`Committer`]: forms the batches and writes them.

use super::{Counters, GroupLimits, Pending};
use crate::domain::TokenRecord;
use crate::ports::{StoreError, TokenStore};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Writes the records handed to its [`super::GroupCommitStore`] in batches. Drive
/// [`Self::run`] on the runtime of your choice.
pub struct Committer<S> {
    inner: S,
    arrivals: mpsc::Receiver<Pending>,
    limits: GroupLimits,
    counters: Arc<Counters>,
}

impl<S: TokenStore> Committer<S> {
    pub(super) fn new(
        inner: S,
        arrivals: mpsc::Receiver<Pending>,
        limits: GroupLimits,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            inner,
            arrivals,
            limits,
            counters,
        }
    }

    /// Writes batches until every handle of the store is dropped, then finishes the batches in
    /// flight and returns.
    pub async fn run(self) {
        let Self {
            inner,
            mut arrivals,
            limits,
            counters,
        } = self;
        let mut in_flight = FuturesUnordered::new();
        let mut open = true;
        while open || !in_flight.is_empty() {
            // A new batch starts only when a write slot is free, so records keep arriving into
            // the channel while the store is busy: that is what makes the next batch large.
            let room = open && in_flight.len() < limits.in_flight;
            tokio::select! {
                arrived = arrivals.recv(), if room => match arrived {
                    Some(first) => {
                        let batch = take_batch(&mut arrivals, first, limits.max_batch);
                        counters.count(batch.len());
                        in_flight.push(write(&inner, batch));
                    }
                    None => open = false,
                },
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            }
        }
    }
}

/// `first` and whatever else is already waiting, up to `max`.
fn take_batch(arrivals: &mut mpsc::Receiver<Pending>, first: Pending, max: usize) -> Vec<Pending> {
    let mut batch = vec![first];
    while batch.len() < max {
        match arrivals.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

/// Writes one batch and tells each of its callers the outcome.
async fn write<S: TokenStore>(inner: &S, batch: Vec<Pending>) {
    let (records, waiting): (Vec<TokenRecord>, Vec<_>) =
        batch.into_iter().map(|p| (p.record, p.done)).unzip();
    let outcome: Result<(), StoreError> = inner.record_many(&records).await;
    if let Err(error) = &outcome {
        tracing::warn!(records = records.len(), %error, "a batch of token records was not written");
    }
    for done in waiting {
        // A caller that gave up (its request was dropped) no longer listens; nothing to do.
        let _ = done.send(outcome.clone());
    }
}
