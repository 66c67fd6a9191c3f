//! Client authentication on the token routes, behind the back-off of failed attempts: the
//! request's source address, the back-off check before the secret is compared, and the count
//! (and held-back answer) of a failure.

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::state::{audit_event, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;
use tokener_core::services::LimitReached;
use tokener_core::{AssertionError, Client, ClientId, IssueError, RateDecision};

/// The client of the request, if `credentials` (as parsed from it) are right. Refused with 429
/// while its (client id, source) pair or its source has failed too often; a failure is counted
/// and answered after the back-off delay.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    credentials: Result<Credentials, ApiError>,
) -> Result<Client, ApiError> {
    let source = source_address(req, &state.trusted_proxies);
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(error) => {
            if error.code() == "invalid_client" {
                failed(state, req, None, &source).await;
            }
            return Err(error);
        }
    };
    let id = credentials.client_id().clone();
    let (decision, error) = state.backoff.check(&id, &source).await;
    if let Some(error) = error {
        counter_failed(state, &error);
    }
    if let RateDecision::Limited {
        retry_after_seconds,
    } = decision
    {
        state.metrics.auth_backoff_refusals.inc();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed client authentications from this address; retry later",
        )
        .with_header(header::RETRY_AFTER, retry_after_seconds.max(1).to_string()));
    }
    let refusal = match &credentials {
        Credentials::Secret(id, secret) => match state.tokens.authenticate(id, secret).await {
            Ok(client) => return Ok(client),
            Err(IssueError::InvalidClient) => ApiError::invalid_client(),
            Err(error) => return Err(error.into()),
        },
        Credentials::Assertion(assertion) => match by_assertion(state, req, assertion).await {
            Ok(client) => return Ok(client),
            Err(AssertionError::Store(error)) => return Err(error.into()),
            // Said only of what does not depend on the client: its form and claims, or (once
            // the signature verified) its reuse.
            Err(error @ (AssertionError::Invalid(_) | AssertionError::Replayed)) => {
                tracing::info!(client_id = %id, %error, "client assertion refused");
                ApiError::invalid_client_because(error.to_string())
            }
            Err(AssertionError::Refused) => ApiError::invalid_client(),
        },
    };
    failed(state, req, Some(&id), &source).await;
    Err(refusal)
}

/// `private_key_jwt`: the assertion must be meant for this server (its issuer, its token
/// endpoint, or the endpoint called), signed by a key of its client, and new.
async fn by_assertion(
    state: &AppState,
    req: &HttpRequest,
    assertion: &tokener_core::ClientAssertion,
) -> Result<Client, AssertionError> {
    let issuer = crate::routes::oauth2::metadata::issuer(state, req);
    let audiences = [
        format!("{issuer}/oauth2/token"),
        format!("{issuer}{}", req.path()),
        issuer,
    ];
    let client = state.tokens.clients().get(assertion.client()).await?;
    state
        .assertions
        .authenticate(client, assertion, &audiences)
        .await
}

/// Counts a failure and holds the answer back as the back-off says. The failure that brings a
/// pair or a source to its limit is recorded in the audit trail: one event per burst.
async fn failed(state: &AppState, req: &HttpRequest, client: Option<&ClientId>, source: &str) {
    let failure = state.backoff.failed(client, source).await;
    if let Some(error) = &failure.error {
        counter_failed(state, error);
    }
    if let Some(reached) = failure.limit_reached {
        let (target, count) = match (reached, client) {
            (LimitReached::Pair(n), Some(client)) => {
                (format!("client:{client} source:{source}"), n)
            }
            (LimitReached::Pair(n), None) | (LimitReached::Source(n), _) => {
                (format!("source:{source}"), n)
            }
        };
        tracing::warn!(%target, failures = count, "failed client authentications reached the back-off limit");
        let event = audit_event(
            req,
            "-",
            "auth.refused",
            target,
            "refused until the minute ends",
        );
        state.record(event.count(count)).await;
    }
    if !failure.delay.is_zero() {
        tokio::time::sleep(failure.delay).await;
    }
}

fn counter_failed(state: &AppState, error: &tokener_core::StoreError) {
    tracing::warn!(%error, "authentication back-off counter unavailable; request allowed");
    state
        .metrics
        .store_errors
        .with_label_values(&["auth-backoff"])
        .inc();
}

/// Where the request comes from: the peer address, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one (a client cannot choose its own source
/// by sending the header: only what trusted proxies appended is believed).
pub fn source_address(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .unwrap_or(&peer)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(value) = forwarded {
            request = request.insert_header(("x-forwarded-for", value));
        }
        request.to_http_request()
    }

    #[test]
    fn only_trusted_proxies_name_the_source() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // Straight from the client: the header is the client's own word, ignored.
        assert_eq!(
            source_address(&request("203.0.113.9:4000", Some("1.2.3.4")), &trusted),
            "203.0.113.9"
        );
        // Through the load balancer: the last address it appended.
        assert_eq!(
            source_address(
                &request("10.1.2.3:4000", Some("1.2.3.4, 198.51.100.7")),
                &trusted
            ),
            "198.51.100.7"
        );
        // Through two trusted hops.
        assert_eq!(
            source_address(
                &request("10.1.2.3:4000", Some("198.51.100.7, 10.9.9.9")),
                &trusted
            ),
            "198.51.100.7"
        );
        assert_eq!(
            source_address(&request("10.1.2.3:4000", None), &trusted),
            "10.1.2.3"
        );
        assert_eq!(
            source_address(&request("10.1.2.3:4000", Some("1.2.3.4")), &[]),
            "10.1.2.3"
        );
    }
}
