//! `GET /healthz` (the process answers) and `GET /readyz` (its dependencies answer).

use crate::error::RETRY_AFTER_SECONDS;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

/// How long a dependency may take to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`, or `unavailable`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Each dependency checked and what it answered (`ok` or the problem).
    #[schema(example = json!({"mongodb": "ok"}))]
    pub checks: BTreeMap<&'static str, String>,
}

/// Liveness: answers as long as the process serves requests. Calls no dependency.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Alive", body = HealthStatus)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        checks: BTreeMap::new(),
    })
}

/// Readiness: every dependency answered within two seconds.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "A dependency is not ready; `checks` names it", body = HealthStatus,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut checks = BTreeMap::new();
    for dependency in &state.dependencies {
        let answer = match tokio::time::timeout(PROBE_TIMEOUT, dependency.ping()).await {
            Ok(Ok(())) => "ok".to_string(),
            Ok(Err(e)) => {
                tracing::warn!(dependency = dependency.name(), error = %e, "not ready");
                "unavailable".to_string()
            }
            Err(_) => "timed out".to_string(),
        };
        checks.insert(dependency.name(), answer);
    }
    let ready = checks.values().all(|v| v == "ok");
    let body = HealthStatus {
        status: if ready { "ok" } else { "unavailable" },
        checks,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()))
            .json(body)
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Metrics in the Prometheus text format", body = String,
        content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if state.metrics_port.is_some() {
        // Served on the metrics listener only, off the public path (the JSON error body is
        // added by the error middleware, as for any unknown route).
        return HttpResponse::NotFound().finish();
    }
    render_metrics(&state)
}

/// `/metrics` on the metrics listener (`TOKENER_METRICS_LISTEN`).
pub async fn metrics_listener(state: web::Data<AppState>) -> HttpResponse {
    render_metrics(&state)
}

fn render_metrics(state: &AppState) -> HttpResponse {
    if let Some(fallbacks) = &state.fallbacks {
        state
            .metrics
            .writebehind_fallbacks
            .set(gauge_value(fallbacks()));
    }
    if let Some(group_commit) = &state.group_commit {
        let stats = group_commit();
        let metrics = &state.metrics;
        metrics.group_commit_batches.set(gauge_value(stats.batches));
        metrics.group_commit_records.set(gauge_value(stats.records));
        metrics.group_commit_waiting.set(gauge_value(stats.waiting));
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(state.metrics.render())
}

fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
