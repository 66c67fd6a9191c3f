//! The audit trail: every admin action and revocation, and refused bursts of failed
//! authentication, with actor, target, outcome and request id; never a secret or a token.

use crate::helpers::{admin, assert_error, spawn_app_with, CLIENT_ID, CLIENT_SECRET};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn admin_actions_revocations_and_refused_bursts_are_recorded_without_secrets() {
    let app = spawn_app_with(&[
        (
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
            "orders:read tokener:admin",
        ),
        ("TOKENER_AUTH_FAILURES_PER_MINUTE", "3"),
    ])
    .await;
    let token = app
        .bearer(json!({"scope": ["tokener:admin"], "ttl_seconds": 300}))
        .await;
    let call = |method: Method, path: &str| admin(&app, method, path, &token);

    let created: serde_json::Value = call(Method::POST, "/admin/clients")
        .header("x-request-id", "audit-create-1")
        .json(&json!({"client_id": "shipping", "scopes": ["orders:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shipping_secret = created["client_secret"].as_str().unwrap().to_string();
    let rotated: serde_json::Value = call(Method::POST, "/admin/clients/shipping/secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated_secret = rotated["client_secret"].as_str().unwrap().to_string();
    call(Method::PATCH, "/admin/clients/shipping")
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    call(Method::POST, "/admin/clients/shipping/revoke-tokens")
        .send()
        .await
        .unwrap();
    let issued: serde_json::Value = app
        .token(Some(json!({"scope": ["orders:read"]})))
        .await
        .json()
        .await
        .unwrap();
    let bearer = issued["access_token"].as_str().unwrap().to_string();
    let token_id = issued["token_id"].as_str().unwrap().to_string();
    let revoked = app.oauth("/oauth2/revoke", &[("token", &bearer)]).await;
    assert_eq!(revoked.status(), 200);
    let other: serde_json::Value = app.token(None).await.json().await.unwrap();
    let other_id = other["token_id"].as_str().unwrap().to_string();
    call(Method::POST, &format!("/admin/tokens/{other_id}/revoke"))
        .send()
        .await
        .unwrap();
    call(Method::POST, "/admin/keys").send().await.unwrap();
    call(Method::POST, "/admin/keys/2/retire")
        .send()
        .await
        .unwrap();
    // A burst of wrong secrets: one event when it reaches the limit, not one per attempt.
    for _ in 0..5 {
        app.http
            .post(app.url("/token"))
            .basic_auth(CLIENT_ID, Some("a-wrong-secret-of-at-least-32-characters"))
            .send()
            .await
            .unwrap();
    }

    let page = call(Method::GET, "/admin/audit").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = page["events"].as_array().unwrap();
    let actions: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    let revoked_target = format!("token:{token_id}");
    let admin_revoked_target = format!("token:{other_id}");
    assert_eq!(
        actions,
        vec![
            ("client.created", "billing", "client:shipping"),
            ("client.secret_rotated", "billing", "client:shipping"),
            ("client.disabled", "billing", "client:shipping"),
            ("client.tokens_revoked", "billing", "client:shipping"),
            ("token.revoked", CLIENT_ID, revoked_target.as_str()),
            ("token.revoked", "billing", admin_revoked_target.as_str()),
            ("key.added", "billing", "key:2"),
            ("key.retired", "billing", "key:2"),
            ("auth.refused", "-", "client:billing source:127.0.0.1"),
        ]
    );
    assert_eq!(events[0]["request_id"], "audit-create-1");
    assert_eq!(events[0]["outcome"], "ok");
    assert_eq!(events[8]["count"], 3);
    assert!(events.iter().all(|e| e["at"].as_u64().is_some()));
    // The page names clients and token ids; never a secret or a token.
    for secret in [
        &shipping_secret,
        &rotated_secret,
        &bearer,
        &token,
        &CLIENT_SECRET.to_string(),
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret or token in the audit trail"
        );
    }

    // Paging resumes after `next`.
    let first: serde_json::Value = call(Method::GET, "/admin/audit?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let rest: serde_json::Value = call(
        Method::GET,
        &format!("/admin/audit?since={next}&limit=1000"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(rest["events"].as_array().unwrap().len(), events.len() - 2);
    assert_eq!(rest["events"][0]["action"], "client.disabled");
    for bad in [
        "/admin/audit?limit=0",
        "/admin/audit?limit=1001",
        "/admin/audit?limit=many",
    ] {
        assert_error(
            call(Method::GET, bad).send().await.unwrap(),
            400,
            "invalid_request",
        )
        .await;
    }
    let anonymous = app.http.get(app.url("/admin/audit")).send().await.unwrap();
    assert_error(anonymous, 401, "invalid_token").await;
    app.stop().await;
}
