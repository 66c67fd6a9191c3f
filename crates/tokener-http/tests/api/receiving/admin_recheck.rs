//! The admin API re-checks the calling client on every request: taking its admin scope away
//! or disabling it ends its admin access at once, not when its token expires.

use super::{admin, create_client, is_active, issue_as};
use crate::helpers::{assert_error, spawn_admin_app, TestApp};
use serde_json::json;

/// Registers `id` with the admin scope and returns an admin token of it, checked to work.
async fn second_admin(app: &TestApp, token: &str, id: &str) -> String {
    let secret = create_client(app, token, id, &["tokener:admin", "orders:read"]).await;
    let theirs = issue_as(app, id, &secret, json!({"scope": ["tokener:admin"]}))
        .await
        .bearer;
    let list = admin(app, reqwest::Method::GET, "/admin/clients", &theirs)
        .send()
        .await
        .expect("request sent");
    assert_eq!(list.status(), 200, "{id} is an admin");
    theirs
}

async fn patch(app: &TestApp, token: &str, id: &str, body: serde_json::Value) {
    let response = admin(
        app,
        reqwest::Method::PATCH,
        &format!("/admin/clients/{id}"),
        token,
    )
    .json(&body)
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200, "PATCH {id} {body}");
}

#[tokio::test]
async fn removing_the_admin_scope_ends_admin_access_at_once() {
    let (app, token) = spawn_admin_app().await;
    let theirs = second_admin(&app, &token, "ops").await;
    patch(&app, &token, "ops", json!({"scopes": ["orders:read"]})).await;
    let refused = admin(&app, reqwest::Method::GET, "/admin/clients", &theirs)
        .send()
        .await
        .expect("request sent");
    assert_error(refused, 403, "insufficient_scope").await;
    let refused = admin(&app, reqwest::Method::PATCH, "/admin/clients/ops", &theirs)
        .json(&json!({"scopes": ["tokener:admin"]}))
        .send()
        .await
        .expect("request sent");
    assert_error(refused, 403, "insufficient_scope").await;
    app.stop().await;
}

#[tokio::test]
async fn disabling_an_admin_client_ends_admin_access_at_once() {
    let (app, token) = spawn_admin_app().await;
    let theirs = second_admin(&app, &token, "ops").await;
    patch(&app, &token, "ops", json!({"disabled": true})).await;
    let refused = admin(&app, reqwest::Method::GET, "/admin/clients", &theirs)
        .send()
        .await
        .expect("request sent");
    assert_error(refused, 401, "invalid_token").await;
    assert!(
        !is_active(&app, &theirs).await,
        "the admin token introspects inactive"
    );
    app.stop().await;
}
