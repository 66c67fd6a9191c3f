//! Key rotation through the admin API across two instances on one store.

use super::{admin_token, SharedStore};
use crate::helpers::{admin, assert_error, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};
use tokener_core::token::parse_public_key;
use tokener_core::{Clock, KeyId, PublicKeySet, SystemClock, Verifier};

/// Tokens live at most this long here, so the old key's are gone within the test.
const MAX_TTL: u64 = 3;

/// `(id, status)` of each key `GET /keys` publishes.
async fn published(app: &TestApp) -> Vec<(u64, String)> {
    app.get_json("/keys").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_u64().unwrap(),
                k["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// Whether `token` is signed by key `id`, as published on `app`.
async fn signed_by(app: &TestApp, token: &str, id: u32) -> bool {
    let keys = app.get_json("/keys").await;
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .expect("the key is published");
    let public = parse_public_key(key["public_key"].as_str().unwrap()).unwrap();
    Verifier::new(PublicKeySet::new([(KeyId(id), public)]))
        .parse(token, SystemClock.now())
        .is_ok()
}

async fn until(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) -> Instant {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Instant::now()
}

#[tokio::test]
async fn a_key_added_on_one_instance_is_announced_then_signs_on_both() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let ttl = MAX_TTL.to_string();
    let extra = [
        ("TOKENER_MAX_TTL_SECONDS", ttl.as_str()),
        ("TOKENER_DEFAULT_TTL_SECONDS", ttl.as_str()),
    ];
    let (a, b) = tokio::join!(store.spawn(&extra), store.spawn(&extra));

    // Announced 8 s ahead: more than the 5 s reload of the other instance.
    let activates_at = SystemClock.now().unix() + 8;
    let activation = Instant::now() + Duration::from_secs(8);
    let response = admin(
        &a,
        Method::POST,
        "/admin/keys",
        &admin_token(&a, MAX_TTL).await,
    )
    .json(&json!({ "activates_at": activates_at }))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let added: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (added["id"].as_u64(), added["status"].as_str()),
        (Some(2), Some("next"))
    );
    assert_eq!(added["activates_at"], activates_at);
    assert!(added.get("private_key").is_none() && added.get("sealed_private_key").is_none());
    assert!(published(&a).await.contains(&(2, "next".into())));
    let seen = until(
        "B publishes key 2 as next",
        Duration::from_secs(7),
        async || published(&b).await.contains(&(2, "next".into())),
    )
    .await;
    assert!(seen < activation, "B announced the key before it signs");
    // Before the activation both still sign with key 1.
    for app in [&a, &b] {
        assert!(signed_by(app, &app.bearer(json!({})).await, 1).await);
    }
    // A second scheduled key is refused while one waits.
    let again = admin(
        &a,
        Method::POST,
        "/admin/keys",
        &admin_token(&a, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap();
    assert_error(again, 409, "key_scheduled").await;

    // Just before the activation: a token of the old key, which must outlive the switch.
    tokio::time::sleep(
        activation.saturating_duration_since(Instant::now() + Duration::from_millis(1500)),
    )
    .await;
    let old = a.bearer(json!({})).await;
    assert!(signed_by(&a, &old, 1).await);
    tokio::time::sleep(
        activation.saturating_duration_since(Instant::now()) + Duration::from_millis(200),
    )
    .await;
    for app in [&a, &b] {
        assert!(
            signed_by(app, &app.bearer(json!({})).await, 2).await,
            "key 2 signs"
        );
        assert_eq!(
            published(app).await,
            vec![(1, "retired".into()), (2, "active".into())]
        );
        assert_eq!(
            app.introspect(&old).await["active"],
            true,
            "the old key's token is valid"
        );
    }
    // The signing key cannot be retired; key 1 can (it already stopped signing).
    let refused = admin(
        &b,
        Method::POST,
        "/admin/keys/2/retire",
        &admin_token(&b, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap();
    assert_error(refused, 409, "key_signing").await;
    let unknown = admin(
        &b,
        Method::POST,
        "/admin/keys/9/retire",
        &admin_token(&b, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap();
    assert_error(unknown, 404, "key_not_found").await;
    let bad = admin(
        &b,
        Method::POST,
        "/admin/keys/one/retire",
        &admin_token(&b, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap();
    assert_error(bad, 400, "invalid_request").await;

    // Once the longest-lived token of key 1 has expired, key 1 leaves /keys on both.
    for app in [&a, &b] {
        until(
            "key 1 leaves /keys",
            Duration::from_secs(MAX_TTL + 3),
            async || published(app).await == vec![(2, "active".into())],
        )
        .await;
    }
    let listed = admin(
        &a,
        Method::GET,
        "/admin/keys",
        &admin_token(&a, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(listed["source"], "mongodb");
    assert_eq!(listed["keys"][0]["status"], "withdrawn", "{listed}");
    assert_eq!(listed["keys"][0]["stops_signing_at"], activates_at);
    assert_eq!(listed["keys"][0]["verifies_until"], activates_at + MAX_TTL);
    assert_eq!(
        store.key_documents().await.len(),
        2,
        "a withdrawn key stays on record"
    );
    // The key change made on A is in the audit trail both instances share.
    let audit: serde_json::Value = admin(
        &b,
        Method::GET,
        "/admin/audit",
        &admin_token(&b, MAX_TTL).await,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let added = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "key.added")
        .expect("key.added recorded");
    assert_eq!(
        (added["actor"].as_str(), added["target"].as_str()),
        (Some("billing"), Some("key:2"))
    );
    a.stop().await;
    b.stop().await;
    store.drop().await;
}

#[tokio::test]
async fn a_key_file_stays_the_source_of_truth() {
    let keys = crate::helpers::key_file(&tokener_mongo::testing::unique_database());
    let path = keys.display().to_string();
    let app = spawn_app_with(&[
        (
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
            "orders:read tokener:admin",
        ),
        ("TOKENER_SIGNING_KEY_FILE", &path),
    ])
    .await;
    let token = admin_token(&app, 600).await;
    let listed: serde_json::Value = admin(&app, Method::GET, "/admin/keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["source"], "file");
    assert_eq!(listed["keys"][0]["status"], "active");
    for path in ["/admin/keys", "/admin/keys/1/retire"] {
        let refused = admin(&app, Method::POST, path, &token)
            .send()
            .await
            .unwrap();
        let body = assert_error(refused, 409, "keys_from_file").await;
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("TOKENER_SIGNING_KEY_FILE"));
    }
    let unauthenticated = app.http.get(app.url("/admin/keys")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    app.stop().await;
    let _ = std::fs::remove_file(keys);
}

#[tokio::test]
async fn the_embedded_mode_rotates_in_memory_with_the_announce_period() {
    let app = spawn_app_with(&[
        (
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
            "orders:read tokener:admin",
        ),
        ("TOKENER_KEY_ANNOUNCE_SECONDS", "120"),
    ])
    .await;
    let token = admin_token(&app, 600).await;
    let before = SystemClock.now().unix();
    let added: serde_json::Value = admin(&app, Method::POST, "/admin/keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = added["activates_at"].as_u64().unwrap();
    assert!(
        (before + 120..=before + 121).contains(&at),
        "after the announce period: {added}"
    );
    // One key waits already: another is refused, whenever it would activate.
    let past = admin(&app, Method::POST, "/admin/keys", &token)
        .json(&json!({"activates_at": before - 10}))
        .send()
        .await
        .unwrap();
    assert_error(past, 409, "key_scheduled").await;
    // A next key retired before it signs is withdrawn at once.
    let retired: serde_json::Value = admin(&app, Method::POST, "/admin/keys/2/retire", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retired["status"], "withdrawn");
    assert_eq!(published(&app).await, vec![(1, "active".into())]);
    let listed: serde_json::Value = admin(&app, Method::GET, "/admin/keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["source"], "memory");
    app.stop().await;
}
