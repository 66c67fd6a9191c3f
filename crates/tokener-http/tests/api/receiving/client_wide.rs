//! Client-wide revocation: disabling a client, `POST /admin/clients/{id}/revoke-tokens`, and
//! rotating a secret with `{"revoke_tokens": true}` revoke every token the client had.

use super::{
    admin, all_revocations, create_client, eventually, is_active, issue, issue_as, Issued,
};
use crate::helpers::{assert_error, spawn_admin_app, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

const SHIPPING: &str = "shipping";

async fn shipping_tokens(app: &TestApp, secret: &str, count: usize) -> Vec<Issued> {
    let mut tokens = Vec::new();
    for _ in 0..count {
        tokens.push(issue_as(app, SHIPPING, secret, json!({})).await);
    }
    for token in &tokens {
        assert!(is_active(app, &token.bearer).await, "active before");
    }
    tokens
}

/// Waits until the feed lists a client entry for `shipping`; returns it.
async fn client_entry(app: &TestApp) -> Value {
    eventually(
        Duration::from_secs(5),
        "a client entry in the feed",
        || async {
            all_revocations(app)
                .await
                .into_iter()
                .find(|e| e["kind"] == "client" && e["client_id"] == SHIPPING)
        },
    )
    .await
}

async fn revoke_tokens(app: &TestApp, token: &str) -> Value {
    let response = admin(
        app,
        reqwest::Method::POST,
        &format!("/admin/clients/{SHIPPING}/revoke-tokens"),
        token,
    )
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200, "revoke-tokens");
    response.json().await.expect("JSON body")
}

#[tokio::test]
async fn disabling_a_client_revokes_its_tokens() {
    let (app, token) = spawn_admin_app().await;
    let secret = create_client(&app, &token, SHIPPING, &["shipping:read"]).await;
    let tokens = shipping_tokens(&app, &secret, 2).await;
    let bystander = issue(&app).await;
    let response = admin(
        &app,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{SHIPPING}"),
        &token,
    )
    .json(&json!({"disabled": true}))
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200);
    for t in &tokens {
        assert!(!is_active(&app, &t.bearer).await, "inactive once disabled");
    }
    assert!(
        is_active(&app, &bystander.bearer).await,
        "other clients untouched"
    );
    let entry = client_entry(&app).await;
    assert!(entry["issued_before"].as_u64().is_some(), "{entry}");
    app.stop().await;
}

#[tokio::test]
async fn revoke_tokens_revokes_earlier_tokens_and_not_later_ones() {
    let (app, token) = spawn_admin_app().await;
    let secret = create_client(&app, &token, SHIPPING, &["shipping:read"]).await;
    let earlier = shipping_tokens(&app, &secret, 2).await;
    let bystander = issue(&app).await;
    let made = revoke_tokens(&app, &token).await;
    assert_eq!(made["client_id"], SHIPPING);
    for t in &earlier {
        assert!(!is_active(&app, &t.bearer).await, "earlier token revoked");
    }
    let later = issue_as(&app, SHIPPING, &secret, json!({})).await;
    assert!(
        is_active(&app, &later.bearer).await,
        "a token issued after is active"
    );
    assert!(
        is_active(&app, &bystander.bearer).await,
        "other clients untouched"
    );
    let entry = client_entry(&app).await;
    assert_eq!(entry["issued_before"], made["issued_before"]);
    let unknown = admin(
        &app,
        reqwest::Method::POST,
        "/admin/clients/nobody/revoke-tokens",
        &token,
    )
    .send()
    .await
    .expect("request sent");
    assert_error(unknown, 404, "client_not_found").await;
    app.stop().await;
}

/// A second client-wide revocation right after a first (within the same second) must still
/// cover the tokens issued between the two. (Tokens issued after the first are dated at its
/// `issued_before`, up to 2 s ahead; the test starts early in a second so both revocations
/// fall in the same one, as they do whenever an operator revokes twice in quick succession.)
#[tokio::test]
async fn a_second_revoke_tokens_covers_tokens_issued_after_the_first() {
    let (app, token) = spawn_admin_app().await;
    let secret = create_client(&app, &token, SHIPPING, &["shipping:read"]).await;
    start_of_a_second().await;
    let started = std::time::Instant::now();
    let first = revoke_tokens(&app, &token).await;
    let between = issue_as(&app, SHIPPING, &secret, json!({})).await;
    let second = revoke_tokens(&app, &token).await;
    println!(
        "client-wide: issued_before of the first {}, of the second {} ({:?} apart at most)",
        first["issued_before"],
        second["issued_before"],
        started.elapsed()
    );
    assert!(
        !is_active(&app, &between.bearer).await,
        "the second revocation covers the token issued before it"
    );
    app.stop().await;
}

#[tokio::test]
async fn rotating_a_secret_with_revoke_tokens_revokes_earlier_tokens() {
    let (app, token) = spawn_admin_app().await;
    let secret = create_client(&app, &token, SHIPPING, &["shipping:read"]).await;
    let path = format!("/admin/clients/{SHIPPING}/secret");

    // Without the option, a rotation leaves the tokens alone.
    let kept = shipping_tokens(&app, &secret, 1).await;
    let rotated: Value = admin(&app, reqwest::Method::POST, &path, &token)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON body");
    let secret = rotated["client_secret"]
        .as_str()
        .expect("a secret")
        .to_string();
    assert!(
        is_active(&app, &kept[0].bearer).await,
        "plain rotation keeps tokens"
    );

    let earlier = shipping_tokens(&app, &secret, 1).await;
    let response = admin(&app, reqwest::Method::POST, &path, &token)
        .json(&json!({"revoke_tokens": true}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.expect("JSON body");
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("a secret")
        .to_string();
    for t in kept.iter().chain(&earlier) {
        assert!(
            !is_active(&app, &t.bearer).await,
            "revoked with the rotation"
        );
    }
    let old = app
        .http
        .post(app.url("/token"))
        .basic_auth(SHIPPING, Some(&secret))
        .send()
        .await
        .expect("request sent");
    assert_error(old, 401, "invalid_client").await;
    let fresh = issue_as(&app, SHIPPING, &new_secret, json!({})).await;
    assert!(
        is_active(&app, &fresh.bearer).await,
        "a token of the new secret is active"
    );
    client_entry(&app).await;

    let bad = admin(&app, reqwest::Method::POST, &path, &token)
        .json(&json!({"revoke": true}))
        .send()
        .await
        .expect("request sent");
    assert_error(bad, 400, "invalid_request").await;
    app.stop().await;
}

/// Waits until the wall clock is at most 100 ms into a second.
async fn start_of_a_second() {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_millis();
    if millis > 100 {
        tokio::time::sleep(Duration::from_millis(u64::from(1000 - millis) + 5)).await;
    }
}
