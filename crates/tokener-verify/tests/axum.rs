//! The axum layer and extractor: RFC 6750 answers, claims for the handler.
#![cfg(feature = "axum")]

mod support;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use std::time::Duration;
use support::{expired_token, signing_key, token, FakeTokener};
use tokener_verify::{axum::TokenerAuth, RemoteVerifier, VerifiedClaims};
use tower::ServiceExt;

async fn whoami(claims: VerifiedClaims) -> String {
    claims.client_id.to_string()
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

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
        response.status(),
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
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");

    let (good, _) = token(&key, &["orders:read"], &["orders"]);
    let ok = call(&verifier, Some(&format!("Bearer {good}"))).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "billing"));

    let missing = call(&verifier, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.challenge.as_deref(),
        Some("Bearer realm=\"tokener\"")
    );

    let expired = expired_token(&key);
    for bad in ["Bearer garbage".to_owned(), format!("Bearer {expired}")] {
        let answer = call(&verifier, Some(&bad)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer.challenge.as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
        assert!(answer.body.contains("\"error\":\"invalid_token\""));
        assert!(!answer.body.contains(&expired));
    }

    let (lacking, _) = token(&key, &["orders:write"], &["orders"]);
    let answer = call(&verifier, Some(&format!("Bearer {lacking}"))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge.as_deref(),
        Some("Bearer error=\"insufficient_scope\", scope=\"orders:read\"")
    );
}

#[tokio::test]
async fn a_stale_verifier_answers_503_with_retry_after() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::builder(&fake.url)
        .max_staleness(Duration::from_millis(300))
        .discover()
        .await
        .expect("discover");
    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (good, _) = token(&key, &["orders:read"], &["orders"]);
    let answer = call(&verifier, Some(&format!("Bearer {good}"))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));
    assert!(answer.body.contains("temporarily_unavailable"));
}
