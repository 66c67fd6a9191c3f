//! The admin API: guarded by Tokener's own tokens with the `tokener:admin` scope.

use crate::helpers::{admin, assert_error, spawn_admin_app, CLIENT_ID};
use serde_json::json;

#[tokio::test]
async fn admin_routes_refuse_everyone_else() {
    let (app, admin_token) = spawn_admin_app().await;
    let plain = app.bearer(json!({"scope": ["orders:read"]})).await;
    let routes = [
        (reqwest::Method::GET, "/admin/clients"),
        (reqwest::Method::POST, "/admin/clients"),
        (reqwest::Method::GET, "/admin/clients/billing"),
        (reqwest::Method::PATCH, "/admin/clients/billing"),
        (reqwest::Method::POST, "/admin/clients/billing/secret"),
        (
            reqwest::Method::POST,
            &format!("/admin/tokens/{}/revoke", "ab".repeat(64)),
        ),
    ];
    for (method, path) in routes.iter() {
        let none = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert!(none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer "));
        assert_error(none, 401, "invalid_token").await;
        let garbage = admin(&app, method.clone(), path, "garbage")
            .send()
            .await
            .unwrap();
        assert_error(garbage, 401, "invalid_token").await;
        let basic = app
            .http
            .request(method.clone(), app.url(path))
            .basic_auth(CLIENT_ID, Some("x"))
            .send()
            .await
            .unwrap();
        assert_error(basic, 401, "invalid_token").await;
        let unprivileged = admin(&app, method.clone(), path, &plain)
            .send()
            .await
            .unwrap();
        assert_error(unprivileged, 403, "insufficient_scope").await;
    }
    // A revoked admin token is no admin token.
    app.oauth("/oauth2/revoke", &[("token", &admin_token)])
        .await;
    let revoked = admin(&app, reqwest::Method::GET, "/admin/clients", &admin_token)
        .send()
        .await
        .unwrap();
    assert_error(revoked, 401, "invalid_token").await;
}

#[tokio::test]
async fn client_lifecycle() {
    let (app, token) = spawn_admin_app().await;
    let created = admin(&app, reqwest::Method::POST, "/admin/clients", &token)
        .json(&json!({"client_id": "shipping", "scopes": ["shipping:read"], "audiences": ["orders"], "max_ttl_seconds": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created: serde_json::Value = created.json().await.unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43);
    assert_eq!(created["client"]["max_ttl_seconds"], 600);
    assert!(created["client"].get("secret_hash").is_none());

    let get_token = |secret: String| {
        let http = app.http.clone();
        let url = app.url("/token");
        async move {
            http.post(url)
                .basic_auth("shipping", Some(secret))
                .send()
                .await
                .unwrap()
        }
    };
    let issued: serde_json::Value = get_token(secret.clone()).await.json().await.unwrap();
    assert_eq!(
        issued["expires_in"], 600,
        "the client's own TTL bound applies"
    );

    let duplicate = admin(&app, reqwest::Method::POST, "/admin/clients", &token)
        .json(&json!({"client_id": "shipping"}))
        .send()
        .await
        .unwrap();
    assert_error(duplicate, 409, "client_exists").await;
    let bad = admin(&app, reqwest::Method::POST, "/admin/clients", &token)
        .json(&json!({"client_id": "no spaces"}))
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "invalid_request").await;
    let bad = admin(&app, reqwest::Method::POST, "/admin/clients", &token)
        .json(&json!({"client_id": "x", "scopes": ["a b"]}))
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "invalid_request").await;
    let wrong_type = admin(&app, reqwest::Method::POST, "/admin/clients", &token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(wrong_type, 415, "unsupported_media_type").await;

    let list: serde_json::Value = admin(&app, reqwest::Method::GET, "/admin/clients", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![CLIENT_ID, "shipping"]);
    let one: serde_json::Value = admin(
        &app,
        reqwest::Method::GET,
        "/admin/clients/shipping",
        &token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(one["scopes"], json!(["shipping:read"]));
    assert_error(
        admin(&app, reqwest::Method::GET, "/admin/clients/nobody", &token)
            .send()
            .await
            .unwrap(),
        404,
        "client_not_found",
    )
    .await;

    // Narrow, lift the TTL bound, then disable.
    let patched: serde_json::Value = admin(
        &app,
        reqwest::Method::PATCH,
        "/admin/clients/shipping",
        &token,
    )
    .json(&json!({"scopes": ["shipping:read", "shipping:write"], "max_ttl_seconds": null}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        patched["scopes"],
        json!(["shipping:read", "shipping:write"])
    );
    assert_eq!(patched["max_ttl_seconds"], json!(null));
    assert_eq!(patched["audiences"], json!(["orders"]), "untouched");
    let disabled = admin(
        &app,
        reqwest::Method::PATCH,
        "/admin/clients/shipping",
        &token,
    )
    .json(&json!({"disabled": true}))
    .send()
    .await
    .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_error(get_token(secret.clone()).await, 401, "invalid_client").await;
    admin(
        &app,
        reqwest::Method::PATCH,
        "/admin/clients/shipping",
        &token,
    )
    .json(&json!({"disabled": false}))
    .send()
    .await
    .unwrap();
    assert_eq!(get_token(secret.clone()).await.status(), 200);
    let bad_patch = admin(
        &app,
        reqwest::Method::PATCH,
        "/admin/clients/shipping",
        &token,
    )
    .json(&json!({"secret": "x"}))
    .send()
    .await
    .unwrap();
    assert_error(bad_patch, 400, "invalid_request").await;

    // Rotate: the old secret stops working at once.
    let rotated: serde_json::Value = admin(
        &app,
        reqwest::Method::POST,
        "/admin/clients/shipping/secret",
        &token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_error(get_token(secret).await, 401, "invalid_client").await;
    assert_eq!(get_token(new_secret).await.status(), 200);
}

#[tokio::test]
async fn admin_revokes_any_token_by_id() {
    let (app, token) = spawn_admin_app().await;
    let victim = app.bearer(json!({"scope": ["orders:read"]})).await;
    let id = app.introspect(&victim).await["jti"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/admin/tokens/{id}/revoke");
    let body: serde_json::Value = admin(&app, reqwest::Method::POST, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["outcome"], "revoked");
    assert_eq!(app.introspect(&victim).await, json!({"active": false}));
    let again: serde_json::Value = admin(&app, reqwest::Method::POST, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["outcome"], "already_revoked");
    let unknown = format!("/admin/tokens/{}/revoke", "cd".repeat(64));
    assert_error(
        admin(&app, reqwest::Method::POST, &unknown, &token)
            .send()
            .await
            .unwrap(),
        404,
        "token_not_found",
    )
    .await;
    assert_error(
        admin(
            &app,
            reqwest::Method::POST,
            "/admin/tokens/xyz/revoke",
            &token,
        )
        .send()
        .await
        .unwrap(),
        400,
        "invalid_request",
    )
    .await;
}
