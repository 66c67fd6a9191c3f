//! Prometheus metrics, kept in one registry and served at `GET /metrics` (text format 0.0.4).
//!
//! `/metrics` is served on the main listener without authentication, as Prometheus scrapers
//! expect; it shows counts and latencies, never a token, a client secret or a token id. Keep it
//! off the public load balancer (the EC2 deployment routes only the API paths to instances).

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Requests by route pattern, method and status.
    pub requests: IntCounterVec,
    /// Request latency by route pattern and method.
    pub latency: HistogramVec,
    /// Issuance attempts by outcome (`issued`, `invalid_client`, `forbidden`, `invalid_request`,
    /// `unavailable`, `error`).
    pub tokens_issued: IntCounterVec,
    /// Verifications (introspection and admin authentication) by outcome (`active`, or why not).
    pub tokens_verified: IntCounterVec,
    /// Revocations by outcome (`revoked`, `already_revoked`, `unknown`, `refused`, `unavailable`).
    pub tokens_revoked: IntCounterVec,
    /// Failed client authentications.
    pub client_auth_failures: IntCounter,
    /// Requests refused by the rate limiter.
    pub rate_limited: IntCounter,
    pub auth_backoff_refusals: IntCounter,
    /// Store operations that failed, by store (`mongodb`, `in-memory`, ...).
    pub store_errors: IntCounterVec,
    /// Write-behind: entries not yet written to MongoDB (unread and pending).
    pub writebehind_depth: IntGauge,
    /// Write-behind: entries delivered to a worker and not yet acknowledged.
    pub writebehind_pending: IntGauge,
    /// Write-behind: age of the oldest unacknowledged entry, seconds.
    pub writebehind_lag: Gauge,
    /// Write-behind: entries in the dead-letter stream.
    pub writebehind_dead_letters: IntGauge,
    /// Write-behind: records this instance's worker wrote to MongoDB.
    pub writebehind_written: IntCounter,
    /// Write-behind: entries this instance's worker moved to the dead-letter stream.
    pub writebehind_dead_lettered: IntCounter,
    /// Write-behind: records written through to MongoDB because Redis refused them.
    pub writebehind_fallbacks: IntGauge,
    /// Group commit: batches of token records handed to the store.
    pub group_commit_batches: IntGauge,
    /// Group commit: records in those batches (divided by the batches: the mean batch size).
    pub group_commit_records: IntGauge,
    /// Group commit: records waiting for a batch now.
    pub group_commit_waiting: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("tokener".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0,
                ],
            ),
            &["route", "method"],
        )?;
        let tokens_issued = IntCounterVec::new(
            Opts::new("tokens_issued_total", "Token issuance attempts by outcome"),
            &["outcome"],
        )?;
        let tokens_verified = IntCounterVec::new(
            Opts::new("tokens_verified_total", "Token verifications by outcome"),
            &["outcome"],
        )?;
        let tokens_revoked = IntCounterVec::new(
            Opts::new("tokens_revoked_total", "Token revocations by outcome"),
            &["outcome"],
        )?;
        let client_auth_failures = IntCounter::new(
            "client_auth_failures_total",
            "Client authentications that failed",
        )?;
        let rate_limited =
            IntCounter::new("rate_limited_total", "Requests refused by the rate limiter")?;
        let auth_backoff_refusals = IntCounter::new(
            "auth_backoff_refusals_total",
            "Client authentications refused unchecked: too many failures from their source",
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new("store_errors_total", "Failed store operations by store"),
            &["store"],
        )?;
        let writebehind_depth = IntGauge::new(
            "writebehind_queue_depth",
            "Records waiting in the write-behind queue (unread and pending)",
        )?;
        let writebehind_pending = IntGauge::new(
            "writebehind_queue_pending",
            "Write-behind entries delivered and not yet acknowledged",
        )?;
        let writebehind_lag = Gauge::new(
            "writebehind_lag_seconds",
            "Age of the oldest unacknowledged write-behind entry",
        )?;
        let writebehind_dead_letters = IntGauge::new(
            "writebehind_dead_letters",
            "Entries in the write-behind dead-letter stream",
        )?;
        let writebehind_written = IntCounter::new(
            "writebehind_written_total",
            "Records this instance's worker wrote to MongoDB",
        )?;
        let writebehind_dead_lettered = IntCounter::new(
            "writebehind_dead_lettered_total",
            "Entries this instance's worker moved to the dead-letter stream",
        )?;
        let writebehind_fallbacks = IntGauge::new(
            "writebehind_fallbacks_total",
            "Records written through to MongoDB because the queue was unavailable",
        )?;
        let group_commit_batches = IntGauge::new(
            "group_commit_batches_total",
            "Batches of token records written to the store by group commit",
        )?;
        let group_commit_records = IntGauge::new(
            "group_commit_records_total",
            "Token records in the batches written by group commit",
        )?;
        let group_commit_waiting = IntGauge::new(
            "group_commit_waiting",
            "Token records waiting for the next group-commit batch",
        )?;
        for gauge in [
            &group_commit_batches,
            &group_commit_records,
            &group_commit_waiting,
            &writebehind_depth,
            &writebehind_pending,
            &writebehind_dead_letters,
            &writebehind_fallbacks,
        ] {
            registry.register(Box::new(gauge.clone()))?;
        }
        registry.register(Box::new(writebehind_lag.clone()))?;
        registry.register(Box::new(writebehind_written.clone()))?;
        registry.register(Box::new(writebehind_dead_lettered.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        registry.register(Box::new(tokens_verified.clone()))?;
        registry.register(Box::new(tokens_revoked.clone()))?;
        registry.register(Box::new(client_auth_failures.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(auth_backoff_refusals.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            tokens_issued,
            tokens_verified,
            tokens_revoked,
            client_auth_failures,
            rate_limited,
            auth_backoff_refusals,
            store_errors,
            writebehind_depth,
            writebehind_pending,
            writebehind_lag,
            writebehind_dead_letters,
            writebehind_written,
            writebehind_dead_lettered,
            writebehind_fallbacks,
            group_commit_batches,
            group_commit_records,
            group_commit_waiting,
        })
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(error = %e, "could not encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
