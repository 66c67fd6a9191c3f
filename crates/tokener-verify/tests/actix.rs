//! The actix-web middleware and extractor: RFC 6750 answers, claims for the handler.
#![cfg(feature = "actix")]

mod support;

use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use std::time::Duration;
use support::{expired_token, signing_key, token, FakeTokener};
use tokener_verify::{actix::TokenerAuth, RemoteVerifier, VerifiedClaims};

async fn whoami(claims: VerifiedClaims) -> String {
    claims.client_id.to_string()
}

/// Status, `WWW-Authenticate`, `Retry-After` and body of `GET /orders` with `authorization`.
async fn call(verifier: &RemoteVerifier, authorization: Option<&str>) -> Answer {
    let app = test::init_service(
        App::new().service(
            web::resource("/orders")
                .wrap(
                    TokenerAuth::new(verifier.clone())
                        .scope("orders:read")
                        .audience("orders"),
                )
                .to(whoami),
        ),
    )
    .await;
    let mut request = test::TestRequest::get().uri("/orders");
    if let Some(value) = authorization {
        request = request.insert_header((AUTHORIZATION, value));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Answer {
        status: response.status(),
        challenge: header(WWW_AUTHENTICATE),
        retry_after: header(RETRY_AFTER),
        body: String::from_utf8_lossy(&test::read_body(response).await).into_owned(),
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

#[actix_web::test]
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

    let invalid_challenge = Some("Bearer error=\"invalid_token\"");
    let expired = expired_token(&key);
    let (revoked, revoked_claims) = token(&key, &["orders:read"], &["orders"]);
    fake.state.revoke(&revoked_claims);
    assert!(
        support::eventually(Duration::from_secs(2), || verifier
            .revocations()
            .is_revoked(&revoked_claims))
        .await
    );
    for bad in [
        "Bearer garbage",
        &format!("Bearer {expired}"),
        &format!("Bearer {revoked}"),
    ] {
        let answer = call(&verifier, Some(bad)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad:.20}");
        assert_eq!(answer.challenge.as_deref(), invalid_challenge);
        assert!(
            answer.body.contains("\"error\":\"invalid_token\""),
            "{}",
            answer.body
        );
        assert!(!answer.body.contains(&expired) && !answer.body.contains(&revoked));
    }

    for (scopes, audiences) in [(&[][..], &["orders"][..]), (&["orders:read"][..], &[][..])] {
        let (lacking, _) = token(&key, scopes, audiences);
        let answer = call(&verifier, Some(&format!("Bearer {lacking}"))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(
            answer.challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\", scope=\"orders:read\"")
        );
        assert!(answer.body.contains("insufficient_scope"));
    }
}

#[actix_web::test]
async fn a_stale_verifier_answers_503_with_retry_after() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::builder(&fake.url)
        .max_staleness(Duration::from_millis(300))
        .revocation_poll_interval(Duration::from_secs(2))
        .discover()
        .await
        .expect("discover");
    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (good, _) = token(&key, &["orders:read"], &["orders"]);
    let answer = call(&verifier, Some(&format!("Bearer {good}"))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("2"));
    assert!(answer.body.contains("temporarily_unavailable"));
}
