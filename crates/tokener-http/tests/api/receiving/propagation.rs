//! Two instances on one MongoDB database: a revocation made on A reaches a `RemoteVerifier`
//! attached to B (A writes the store, B polls it into its state and pushes it on its stream).
//! The delays are printed (`--nocapture`): they are the propagation figures; the only bound
//! asserted is a generous correctness deadline.

use super::{
    admin, admin_token, create_client, issue, issue_as, revoke, until_rejected, SharedStore,
};
use crate::helpers::{spawn_app_with_vars, TestApp};
use serde_json::json;
use std::time::{Duration, Instant};
use tokener_verify::{RemoteVerifier, VerifyOptions};

/// Past this the revocation is taken as lost, not slow.
const CORRECTNESS_BOUND: Duration = Duration::from_secs(3);

async fn two_instances(store: &SharedStore) -> (TestApp, TestApp, RemoteVerifier) {
    let a = spawn_app_with_vars(store.vars()).await;
    let b = spawn_app_with_vars(store.vars()).await;
    let verifier = RemoteVerifier::discover(&b.address)
        .await
        .expect("a verifier attached to B");
    (a, b, verifier)
}

async fn accepted(verifier: &RemoteVerifier, bearer: &str) {
    verifier
        .verify(bearer, &VerifyOptions::default())
        .await
        .expect("B's verifier accepts the token before the revocation");
}

#[tokio::test]
async fn a_revocation_on_a_reaches_a_verifier_attached_to_b() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let (a, b, verifier) = two_instances(&store).await;

    let token = issue(&a).await;
    accepted(&verifier, &token.bearer).await;
    let started = Instant::now();
    revoke(&a, &token.bearer).await;
    let delay = until_rejected(&verifier, &token.bearer, started, CORRECTNESS_BOUND).await;
    println!(
        "propagation: token revoked on A, rejected by B's verifier after {:.0} ms (within 1 s: {})",
        delay.as_secs_f64() * 1000.0,
        delay <= Duration::from_secs(1)
    );

    let admin_bearer = admin_token(&a).await;
    let secret = create_client(&a, &admin_bearer, "shipping", &["shipping:read"]).await;
    let shipping = issue_as(&a, "shipping", &secret, json!({})).await;
    accepted(&verifier, &shipping.bearer).await;
    let started = Instant::now();
    let response = admin(
        &a,
        reqwest::Method::POST,
        "/admin/clients/shipping/revoke-tokens",
        &admin_bearer,
    )
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200);
    let delay = until_rejected(&verifier, &shipping.bearer, started, CORRECTNESS_BOUND).await;
    println!(
        "propagation: client-wide revocation on A, rejected by B's verifier after {:.0} ms (within 1 s: {})",
        delay.as_secs_f64() * 1000.0,
        delay <= Duration::from_secs(1)
    );

    verifier.shutdown();
    a.stop().await;
    b.stop().await;
    store.cleanup().await;
}

#[tokio::test]
async fn propagation_benchmark_over_100_revocations() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let (a, b, verifier) = two_instances(&store).await;
    let mut tokens = Vec::new();
    for _ in 0..100 {
        let token = issue(&a).await;
        accepted(&verifier, &token.bearer).await;
        tokens.push(token);
    }
    let mut delays = Vec::new();
    for token in &tokens {
        let started = Instant::now();
        revoke(&a, &token.bearer).await;
        delays.push(until_rejected(&verifier, &token.bearer, started, CORRECTNESS_BOUND).await);
    }
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = (ms(delays[49]) + ms(delays[50])) / 2.0;
    println!(
        "propagation benchmark (100 revocations on A, verifier on B): median {median:.0} ms, \
         p90 {:.0} ms, min {:.0} ms, max {:.0} ms",
        ms(delays[89]),
        ms(delays[0]),
        ms(delays[99]),
    );
    assert_eq!(
        verifier.revocations().len(),
        100,
        "each revocation held once"
    );

    verifier.shutdown();
    a.stop().await;
    b.stop().await;
    store.cleanup().await;
}
