//! What every framework front (the actix middleware, the axum layer) must answer, written once:
//! each test file says only how to send `GET /orders` through its front.

use super::{expired_token, learns_revoked, signing_key, token, FakeTokener};
use std::time::Duration;
use tokener_verify::{RemoteVerifier, VerifiedClaims};

/// The handler behind every front: who called.
pub async fn whoami(claims: VerifiedClaims) -> String {
    claims.client_id.to_string()
}

/// `/orders` behind the actix middleware, requiring `orders:read` and the audience `orders`.
#[cfg(feature = "actix")]
pub fn actix_orders(verifier: &RemoteVerifier) -> impl actix_web::dev::HttpServiceFactory {
    use tokener_verify::actix::TokenerAuth;
    actix_web::web::resource("/orders")
        .wrap(
            TokenerAuth::new(verifier.clone())
                .scope("orders:read")
                .audience("orders"),
        )
        .to(whoami)
}

/// Status, `WWW-Authenticate`, `Retry-After` and body of `GET /orders`.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

/// `call(verifier, authorization)` sends `GET /orders` (requiring `orders:read` and the
/// audience `orders`) with that `Authorization` header through the front under test.
pub async fn answers_follow_rfc_6750(call: impl AsyncFn(&RemoteVerifier, Option<&str>) -> Answer) {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");

    let (good, _) = token(&key, &["orders:read"], &["orders"]);
    let ok = call(&verifier, Some(&format!("Bearer {good}"))).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "billing"));

    let missing = call(&verifier, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.challenge.as_deref(),
        Some("Bearer realm=\"tokener\"")
    );

    let invalid_challenge = Some("Bearer error=\"invalid_token\"");
    let expired = expired_token(&key);
    let (revoked, revoked_claims) = token(&key, &["orders:read"], &["orders"]);
    fake.state.revoke(&revoked_claims);
    assert!(learns_revoked(&verifier, &revoked_claims, Duration::from_secs(2)).await);
    for bad in [
        "Bearer garbage",
        &format!("Bearer {expired}"),
        &format!("Bearer {revoked}"),
    ] {
        let answer = call(&verifier, Some(bad)).await;
        assert_eq!(answer.status, 401, "{bad:.20}");
        assert_eq!(answer.challenge.as_deref(), invalid_challenge);
        assert!(
            answer.body.contains("\"error\":\"invalid_token\""),
            "{}",
            answer.body
        );
        assert!(!answer.body.contains(&expired) && !answer.body.contains(&revoked));
    }

    for (scopes, audiences) in [
        (&[][..], &["orders"][..]),
        (&["orders:write"][..], &["orders"][..]),
        (&["orders:read"][..], &[][..]),
    ] {
        let (lacking, _) = token(&key, scopes, audiences);
        let answer = call(&verifier, Some(&format!("Bearer {lacking}"))).await;
        assert_eq!(answer.status, 403);
        assert_eq!(
            answer.challenge.as_deref(),
            Some("Bearer error=\"insufficient_scope\", scope=\"orders:read\"")
        );
        assert!(answer.body.contains("insufficient_scope"));
    }
}

/// A verifier past its allowed staleness answers 503 with `retry_after` (in seconds): the
/// revocation poll interval when `revocation_poll_interval` sets one, else the default's.
pub async fn a_stale_verifier_answers_503_with_retry_after(
    call: impl AsyncFn(&RemoteVerifier, Option<&str>) -> Answer,
    revocation_poll_interval: Option<Duration>,
    retry_after: &str,
) {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let mut builder = RemoteVerifier::builder(&fake.url).max_staleness(Duration::from_millis(300));
    if let Some(interval) = revocation_poll_interval {
        builder = builder.revocation_poll_interval(interval);
    }
    let verifier = builder.discover().await.expect("discover");
    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (good, _) = token(&key, &["orders:read"], &["orders"]);
    let answer = call(&verifier, Some(&format!("Bearer {good}"))).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.retry_after.as_deref(), Some(retry_after));
    assert!(answer.body.contains("temporarily_unavailable"));
}
