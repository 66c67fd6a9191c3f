//! One span and one log line per request, carrying a request id, plus the request metrics.
//!
//! The id is the caller's `X-Request-Id` when it is a reasonable token (so a trace can cross
//! services), otherwise a fresh UUID; it is returned in the response's `X-Request-Id`. The log
//! line names the route pattern, method, status and latency: never a header, a query string or
//! a body, so no token or secret can reach the log through it.

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id the request carries, if it is short and plain, else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The request id, kept in the request's extensions for handlers (the audit trail).
#[derive(Debug, Clone)]
struct RequestId(String);

/// The id of the request `req` (as returned in `X-Request-Id`).
pub fn request_id_of(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// The latency in whole microseconds (truncated), saturating far beyond any real request.
fn latency_us(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().as_str().to_string();
    // The pattern (`/admin/clients/{client_id}`), not the path: bounded label values, and no
    // client id in the metrics.
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let metrics = req.app_data::<web::Data<AppState>>().cloned();
    actix_web::HttpMessage::extensions_mut(&req).insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut response = next.call(req).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        // Whole microseconds, an integer: a float of milliseconds prints binary noise
        // (`0.059098000000000005`) and sub-microsecond digits nobody reads.
        tracing::info!(status, latency_us = latency_us(elapsed), "request served");
    });
    if let Some(state) = metrics {
        state
            .metrics
            .requests
            .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
            .inc();
        state
            .metrics
            .latency
            .with_label_values(&[route.as_str(), method.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::latency_us;
    use std::time::Duration;

    #[test]
    fn latency_is_logged_in_whole_microseconds() {
        assert_eq!(latency_us(Duration::from_nanos(59_098)), 59);
        assert_eq!(latency_us(Duration::from_nanos(999)), 0);
        assert_eq!(latency_us(Duration::from_millis(1500)), 1_500_000);
    }
}
