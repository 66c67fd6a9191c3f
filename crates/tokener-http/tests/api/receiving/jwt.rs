//! JWT access tokens on the receiving side: a `RemoteVerifier` attached to instance B accepts
//! a JWT issued by A (both on one MongoDB database and key file), and refuses it once A
//! revokes it, by token and client-wide.

use super::{admin, admin_token, revoke, until_rejected, SharedStore};
use crate::helpers::spawn_app_with_vars;
use serde_json::json;
use std::time::{Duration, Instant};
use tokener_verify::{RemoteVerifier, VerifyOptions};

const CORRECTNESS_BOUND: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_verifier_on_b_accepts_a_jwt_from_a_and_refuses_it_once_revoked() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let mut vars = store.vars();
    vars.insert("TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT".into(), "jwt".into());
    let a = spawn_app_with_vars(vars.clone()).await;
    let b = spawn_app_with_vars(vars).await;
    let verifier = RemoteVerifier::discover(&b.address)
        .await
        .expect("a verifier attached to B");

    let token = a.bearer(json!({})).await;
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let claims = verifier
        .verify(&token, &VerifyOptions::default())
        .await
        .expect("B's verifier accepts A's JWT");
    assert_eq!(claims.client_id.as_str(), crate::helpers::CLIENT_ID);
    // The record is in MongoDB under the JWT's jti: B introspects it from there.
    assert_eq!(b.introspect(&token).await["active"], true);
    let started = Instant::now();
    revoke(&a, &token).await;
    let delay = until_rejected(&verifier, &token, started, CORRECTNESS_BOUND).await;
    println!("jwt: revoked on A, refused by B's verifier after {delay:?}");

    // Client-wide: every JWT of the client issued before it.
    let admin_bearer = admin_token(&a).await;
    let other = a.bearer(json!({})).await;
    verifier
        .verify(&other, &VerifyOptions::default())
        .await
        .expect("accepted before the client-wide revocation");
    let started = Instant::now();
    let response = admin(
        &a,
        reqwest::Method::POST,
        &format!("/admin/clients/{}/revoke-tokens", crate::helpers::CLIENT_ID),
        &admin_bearer,
    )
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200);
    let delay = until_rejected(&verifier, &other, started, CORRECTNESS_BOUND).await;
    println!("jwt: client-wide revocation on A, refused by B's verifier after {delay:?}");

    verifier.shutdown();
    a.stop().await;
    b.stop().await;
    store.cleanup().await;
}
