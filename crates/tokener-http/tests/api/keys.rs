//! Key rotation as an operator does it: edit the key file, restart.

use crate::helpers::{base_vars, spawn_app_with_vars, TestApp};
use serde_json::json;
use tokener_core::token::SigningKey;
use tokener_core::{KeyId, KeyRing};

/// The key-file entry of a fresh key with this id.
fn entry(id: u32, active: bool) -> serde_json::Value {
    let file: serde_json::Value =
        serde_json::from_str(&KeyRing::single(SigningKey::generate(KeyId(id))).to_json()).unwrap();
    let mut entry = file["keys"][0].clone();
    entry["active"] = active.into();
    entry
}

async fn start_with(keys: &[serde_json::Value], path: &std::path::Path) -> TestApp {
    std::fs::write(path, json!({ "keys": keys }).to_string()).unwrap();
    let mut vars = base_vars();
    vars.insert(
        "TOKENER_SIGNING_KEY_FILE".into(),
        path.display().to_string(),
    );
    spawn_app_with_vars(vars).await
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_the_key_is_removed() {
    let path = std::env::temp_dir().join(format!("tokener-rotation-{}.json", std::process::id()));
    let old = entry(1, true);
    let app = start_with(std::slice::from_ref(&old), &path).await;
    let old_token = app.bearer(json!({})).await;
    app.stop().await;

    // Key 2 becomes active; key 1 is retired but still published.
    let mut retired = old.clone();
    retired["active"] = false.into();
    let new = entry(2, true);
    let app = start_with(&[retired, new.clone()], &path).await;
    let keys = app.get_json("/keys").await;
    let statuses: Vec<(u64, String)> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_u64().unwrap(),
                k["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![(1, "retired".to_string()), (2, "active".to_string())]
    );
    let new_token = app.bearer(json!({})).await;
    let inspected = tokener_core::Verifier::new(app_keys(&keys))
        .parse(
            &new_token,
            tokener_core::Clock::now(&tokener_core::SystemClock),
        )
        .unwrap();
    assert_eq!(
        inspected.claims().key_id,
        KeyId(2),
        "new tokens are signed by the active key"
    );
    assert_eq!(
        app.introspect(&old_token).await["active"],
        true,
        "old tokens still verify"
    );
    app.stop().await;

    // Key 1 removed: what it signed no longer verifies.
    let app = start_with(&[new], &path).await;
    assert_eq!(app.introspect(&old_token).await, json!({"active": false}));
    assert_eq!(app.introspect(&new_token).await["active"], true);
    app.stop().await;
    let _ = std::fs::remove_file(path);
}

fn app_keys(keys: &serde_json::Value) -> tokener_core::PublicKeySet {
    tokener_core::PublicKeySet::new(keys["keys"].as_array().unwrap().iter().map(|k| {
        (
            KeyId(k["id"].as_u64().unwrap() as u32),
            tokener_core::token::parse_public_key(k["public_key"].as_str().unwrap()).unwrap(),
        )
    }))
}
