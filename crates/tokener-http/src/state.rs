//! What every handler shares.

use async_trait::async_trait;
use std::sync::Arc;
use tokener_core::{ClientRegistry, ClientService, StoreError, TokenService, TokenStore};

/// The token service over whichever adapters the configuration chose.
pub type Tokens = TokenService<Arc<dyn TokenStore>, Arc<dyn ClientRegistry>>;

/// The per-client limiter of token requests, over whichever counter the configuration chose.
pub type Limiter = tokener_core::RateLimiter<Arc<dyn tokener_core::HitCounter>>;

/// Client administration over the same registry.
pub type Clients = ClientService<Arc<dyn ClientRegistry>>;

/// A dependency `/readyz` checks.
#[async_trait]
pub trait Dependency: Send + Sync {
    fn name(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;
}

/// What a token route did, for the metrics.
#[derive(Debug, Clone, Copy)]
pub enum TokenEvent {
    Issue,
    Verify,
    Revoke,
}

pub struct AppState {
    pub metrics: Arc<crate::metrics::Metrics>,
    pub tokens: Tokens,
    pub clients: Clients,
    pub limiter: Limiter,
    /// Back-off of failed client authentication, over the same counters as the limiter.
    pub backoff: tokener_core::AuthBackoff<Arc<dyn tokener_core::HitCounter>>,
    /// `private_key_jwt` assertion checks, with the replay cache.
    pub assertions: tokener_core::AssertionVerifier<Arc<dyn tokener_core::ReplayCache>>,
    /// Proxies believed about the source address (`X-Forwarded-For`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// In write-behind mode, how many records were written through because Redis refused them
    /// (read when `/metrics` is scraped, so the gauge is never stale).
    pub fallbacks: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
    /// In the durable modes, the group commit's counters (read when `/metrics` is scraped).
    pub group_commit: Option<crate::storage::GroupStatsSource>,
    /// The issuer of the RFC 8414 metadata, if configured.
    pub public_url: Option<String>,
    /// How the service stores tokens, as reported by `GET /`.
    pub storage: &'static str,
    /// Turns true when the service starts shutting down: open revocation streams end then,
    /// rather than hold the graceful shutdown for its whole timeout.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Where the signing keys come from (the admin keys API changes only a key store).
    pub keys: crate::signing_keys::KeySource,
    /// How long a key added through the admin API is `next` before it signs.
    pub key_announce: std::time::Duration,
    /// The port of the metrics listener, when `/metrics` is served there instead.
    pub metrics_port: Option<u16>,
    /// Where admin actions, revocations and refused authentication bursts are recorded.
    pub audit: Arc<dyn tokener_core::AuditLog>,
}

/// An audit event of the request `req`, now, with its request id.
pub fn audit_event(
    req: &actix_web::HttpRequest,
    actor: &str,
    action: &str,
    target: String,
    outcome: &str,
) -> tokener_core::AuditEvent {
    tokener_core::AuditEvent::new(
        tokener_core::Clock::now(&tokener_core::SystemClock),
        actor,
        action,
        target,
        outcome,
    )
    .request_id(crate::request_log::request_id_of(req))
}

impl AppState {
    /// Records an audit event of the request `req` (see [`Self::record`]).
    pub async fn audit(
        &self,
        req: &actix_web::HttpRequest,
        actor: &str,
        action: &str,
        target: String,
        outcome: &str,
    ) {
        self.record(audit_event(req, actor, action, target, outcome))
            .await;
    }

    /// Records `event`. A failure to record does not undo the action (it is done); it is
    /// logged at error level and counted, for the operator.
    pub async fn record(&self, event: tokener_core::AuditEvent) {
        if let Err(error) = self.audit.append(&event).await {
            tracing::error!(%error, action = %event.action, "cannot record an audit event");
            self.metrics
                .store_errors
                .with_label_values(&["audit"])
                .inc();
        }
    }
}

impl AppState {
    /// Counts the outcome of a token route: `ok` names success (`issued`, `active`...), an
    /// error counts under its code; failed client authentication and store failures are also
    /// counted on their own.
    pub fn observe<T>(
        &self,
        event: TokenEvent,
        ok: &str,
        result: &Result<T, crate::error::ApiError>,
    ) {
        let outcome = match result {
            Ok(_) => ok,
            Err(e) => e.code(),
        };
        let counter = match event {
            TokenEvent::Issue => &self.metrics.tokens_issued,
            TokenEvent::Verify => &self.metrics.tokens_verified,
            TokenEvent::Revoke => &self.metrics.tokens_revoked,
        };
        counter.with_label_values(&[outcome]).inc();
        match outcome {
            "invalid_client" => self.metrics.client_auth_failures.inc(),
            "temporarily_unavailable" => self
                .metrics
                .store_errors
                .with_label_values(&[self.storage])
                .inc(),
            _ => {}
        }
    }
}

impl AppState {
    /// 429 with `Retry-After` when `client` is over its rate limit.
    pub async fn check_rate(
        &self,
        client: &tokener_core::ClientId,
    ) -> Result<(), crate::error::ApiError> {
        use tokener_core::RateDecision;
        let (decision, error) = self.limiter.check(client).await;
        if let Some(e) = error {
            tracing::warn!(error = %e, "rate limiter unavailable; request allowed");
            self.metrics
                .store_errors
                .with_label_values(&["rate-limiter"])
                .inc();
        }
        match decision {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited {
                retry_after_seconds,
            } => {
                self.metrics.rate_limited.inc();
                Err(crate::error::ApiError::new(
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many token requests for this client; retry later",
                )
                .with_header(
                    actix_web::http::header::RETRY_AFTER,
                    retry_after_seconds.max(1).to_string(),
                ))
            }
        }
    }
}
