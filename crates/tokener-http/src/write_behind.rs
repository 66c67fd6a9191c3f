//! The write-behind worker of this instance: a tokio task draining the Redis Stream into
//! MongoDB, with backoff while MongoDB is down, and a bounded drain on shutdown.

use crate::metrics::Metrics;
use crate::storage::WriteBehindParts;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::write_behind::{WorkerConfig, WriteBehindWorker};
use tokener_core::{RecordQueue, TokenStore};
use tokio::sync::watch;

/// The first pause after a failed cycle; doubled on each further failure up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often queue depth, lag and dead letters are read for the metrics.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// The queue and store types of the write-behind mode, erased.
pub type Worker = WriteBehindWorker<Arc<dyn RecordQueue>, Arc<dyn TokenStore>>;

/// How many cycles an instance runs at once, each as its own consumer of the group.
///
/// Two: a cycle spends most of its time waiting for MongoDB to insert its batch, and a second
/// one keeps MongoDB busy meanwhile. Measured on the 2-core machine against FerretDB under
/// 7,300-7,500 tokens/s for 30 s: one lane wrote ~4,500 records/s, two ~5,900/s (neither kept
/// up there: FerretDB's CPU per record is the bound). More would queue behind MongoDB's own
/// write lock.
pub const LANES: usize = 2;

/// A running worker: stop it and drain what is left with [`Background::drain`].
pub struct Background {
    worker: Arc<Worker>,
    /// The consumer name of each lane: the instance's name, then `<name>.2`...: stable across
    /// restarts, so each lane finds its own pending entries again.
    consumers: Vec<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub fn start(parts: WriteBehindParts, consumer: String, metrics: Arc<Metrics>) -> Self {
        let worker = Arc::new(WriteBehindWorker::new(
            parts.queue,
            parts.permanent,
            WorkerConfig::default(),
        ));
        let (stop, stopped) = watch::channel(false);
        let consumers: Vec<String> = (1..=LANES)
            .map(|lane| match lane {
                1 => consumer.clone(),
                n => format!("{consumer}.{n}"),
            })
            .collect();
        let tasks = consumers
            .iter()
            .enumerate()
            .map(|(lane, name)| {
                tokio::spawn(run(
                    worker.clone(),
                    name.clone(),
                    metrics.clone(),
                    // The first lane reports the queue's gauges for all of them.
                    lane == 0,
                    stopped.clone(),
                ))
            })
            .collect();
        Self {
            worker,
            consumers,
            stop,
            tasks,
        }
    }

    /// Stops the loop, then writes what is still queued within `within`. Entries left (MongoDB
    /// down, or out of time) stay pending in Redis for another instance or the next start.
    pub async fn drain(self, within: Duration) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let worker = &self.worker;
        let drained = tokio::time::timeout(within, async {
            // Every lane's pending entries, then the rest of the queue (the first lane takes it).
            for consumer in &self.consumers {
                loop {
                    match worker.drain(consumer, 1000).await {
                        Ok(report) if report.is_idle() => break,
                        Ok(report) if report.should_back_off() => {
                            tokio::time::sleep(FIRST_BACKOFF).await
                        }
                        Ok(_) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(())
        })
        .await;
        match drained {
            Ok(Ok(())) => tracing::info!("write-behind queue drained"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "write-behind drain stopped; entries stay queued in Redis")
            }
            Err(_) => tracing::warn!(
                ?within,
                "write-behind drain ran out of time; entries stay queued in Redis"
            ),
        }
    }
}

async fn run(
    worker: Arc<Worker>,
    consumer: String,
    metrics: Arc<Metrics>,
    reports_gauges: bool,
    mut stopped: watch::Receiver<bool>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut last_stats = tokio::time::Instant::now() - STATS_EVERY;
    while !*stopped.borrow() {
        let pause = match worker.run_once(&consumer).await {
            Ok(report) if !report.should_back_off() => {
                backoff = FIRST_BACKOFF;
                if report.written > 0 {
                    metrics.writebehind_written.inc_by(report.written as u64);
                }
                metrics
                    .writebehind_dead_lettered
                    .inc_by(report.dead_lettered as u64);
                None
            }
            Ok(_) => Some(backoff),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "write-behind cycle failed");
                metrics
                    .store_errors
                    .with_label_values(&["write-behind"])
                    .inc();
                Some(backoff)
            }
        };
        if reports_gauges && last_stats.elapsed() >= STATS_EVERY {
            last_stats = tokio::time::Instant::now();
            if let Ok(stats) = worker.stats().await {
                metrics.writebehind_depth.set(stats.depth as i64);
                metrics.writebehind_pending.set(stats.pending as i64);
                metrics
                    .writebehind_dead_letters
                    .set(stats.dead_letters as i64);
                metrics
                    .writebehind_lag
                    .set(stats.lag.map_or(0.0, |l| l.as_secs_f64()));
            }
        }
        if let Some(pause) = pause {
            backoff = (backoff * 2).min(MAX_BACKOFF);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
        }
    }
}
