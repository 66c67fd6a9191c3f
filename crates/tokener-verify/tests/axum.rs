//! The axum layer and extractor: RFC 6750 answers, claims for the handler.
#![cfg(feature = "axum")]

mod support;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use support::front::{self, whoami, Answer};
use tokener_verify::{axum::TokenerAuth, RemoteVerifier};
use tower::ServiceExt;

/// `GET /orders` with `authorization` through the layer.
async fn call(verifier: &RemoteVerifier, authorization: Option<&str>) -> Answer {
    let app = Router::new().route("/orders", get(whoami)).route_layer(
        TokenerAuth::new(verifier.clone())
            .scope("orders:read")
            .audience("orders"),
    );
    let mut request = Request::get("/orders");
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let request = request.body(Body::empty()).expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, challenge, retry_after) = (
        response.status().as_u16(),
        header(WWW_AUTHENTICATE),
        header(RETRY_AFTER),
    );
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    Answer {
        status,
        challenge,
        retry_after,
        body,
    }
}

#[tokio::test]
async fn answers_follow_rfc_6750() {
    front::answers_follow_rfc_6750(call).await;
}

/// Without a poll interval set, the default's retry hint.
#[tokio::test]
async fn a_stale_verifier_answers_503_with_retry_after() {
    front::a_stale_verifier_answers_503_with_retry_after(call, None, "5").await;
}
