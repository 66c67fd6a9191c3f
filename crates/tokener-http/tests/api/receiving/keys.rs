//! `GET /keys` for verifiers: bare hex beside the prefixed key, an `ETag` honoured by
//! `If-None-Match`, and keys scheduled with `activates_at` (published as `next` until they
//! sign).

use super::issue;
use crate::helpers::{base_vars, spawn_app, spawn_app_with_vars, TestApp, CLIENT_ID};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};
use tokener_core::token::{mint, parse_public_key, MintInput, SigningKey};
use tokener_core::{KeyId, KeyRing, PublicKeySet, Timestamp, Verifier};
use tokener_verify::{RemoteVerifier, VerifyOptions};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The key-file entry of a fresh key with this id.
fn entry(id: u32, active: bool, activates_at: Option<u64>) -> Value {
    let file: Value =
        serde_json::from_str(&KeyRing::single(SigningKey::generate(KeyId(id))).to_json())
            .expect("key file JSON");
    let mut entry = file["keys"][0].clone();
    entry["active"] = active.into();
    if let Some(at) = activates_at {
        entry["activates_at"] = at.into();
    }
    entry
}

/// Starts the app on a key file holding `keys`; returns it with the file's path.
async fn start_with(keys: &[Value]) -> (TestApp, PathBuf, String) {
    let text = json!({ "keys": keys }).to_string();
    let path = std::env::temp_dir().join(format!(
        "{}-receiving-keys.json",
        tokener_mongo::testing::unique_database()
    ));
    std::fs::write(&path, &text).expect("key file written");
    let mut vars = base_vars();
    vars.insert(
        "TOKENER_SIGNING_KEY_FILE".into(),
        path.display().to_string(),
    );
    (spawn_app_with_vars(vars).await, path, text)
}

async fn get_keys(app: &TestApp) -> Value {
    app.get_json("/keys").await
}

/// `(id, status, activates_at)` of each published key.
fn statuses(keys: &Value) -> Vec<(u64, String, Option<u64>)> {
    keys["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .map(|k| {
            (
                k["id"].as_u64().expect("an id"),
                k["status"].as_str().expect("a status").to_string(),
                k["activates_at"].as_u64(),
            )
        })
        .collect()
}

/// A verifier of the published keys, read from their bare hex.
fn verifier_of(keys: &Value) -> Verifier {
    Verifier::new(PublicKeySet::new(
        keys["keys"]
            .as_array()
            .expect("a key list")
            .iter()
            .map(|k| {
                let id = KeyId(k["id"].as_u64().expect("an id") as u32);
                let hex = k["public_key_hex"].as_str().expect("public_key_hex");
                (id, parse_public_key(hex).expect("bare hex parses"))
            }),
    ))
}

fn signed_by(keys: &Value, bearer: &str) -> KeyId {
    verifier_of(keys)
        .parse(bearer, Timestamp::from_system_time(SystemTime::now()))
        .expect("the token verifies with the published keys")
        .claims()
        .key_id
}

#[tokio::test]
async fn keys_carry_bare_hex_and_an_etag_honoured_by_if_none_match() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/keys"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong ETag: {etag}"
    );
    let cache = response.headers()["cache-control"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert!(cache.contains("max-age=60"), "{cache}");
    let keys: Value = response.json().await.expect("JSON body");
    for key in keys["keys"].as_array().expect("a key list") {
        let hex = key["public_key_hex"].as_str().expect("public_key_hex");
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(key["public_key"], format!("ed25519/{hex}"));
        assert_eq!(
            parse_public_key(hex).expect("hex").to_string(),
            parse_public_key(key["public_key"].as_str().expect("key"))
                .expect("prefixed")
                .to_string()
        );
    }
    let token = issue(&app).await;
    assert_eq!(signed_by(&keys, &token.bearer), KeyId(1));

    let unchanged = app
        .http
        .get(app.url("/keys"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request sent");
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], etag.as_str());
    assert!(unchanged.bytes().await.expect("body").is_empty());
    let other = app
        .http
        .get(app.url("/keys"))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .expect("request sent");
    assert_eq!(other.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_key_scheduled_for_later_is_published_as_next_and_does_not_sign_yet() {
    let at = unix_now() + 3600;
    let (app, path, file) = start_with(&[entry(1, true, None), entry(2, false, Some(at))]).await;
    let keys = get_keys(&app).await;
    assert_eq!(
        statuses(&keys),
        vec![(1, "active".into(), None), (2, "next".into(), Some(at))]
    );
    let token = issue(&app).await;
    assert_eq!(
        signed_by(&keys, &token.bearer),
        KeyId(1),
        "the active key still signs"
    );
    assert_eq!(app.introspect(&token.bearer).await["active"], true);

    // Verifiers accept the next key already: a token it signs verifies on a remote verifier.
    let ring = KeyRing::from_json(&file).expect("the key file reads");
    let next_key = ring.signing_key(Timestamp::from_unix(at + 1));
    assert_eq!(next_key.id(), KeyId(2));
    let now = Timestamp::from_system_time(SystemTime::now());
    let minted = mint(
        next_key,
        MintInput {
            client_id: tokener_core::ClientId::parse(CLIENT_ID).expect("client id"),
            audiences: Default::default(),
            scopes: Default::default(),
            issued_at: now,
            expires_at: now.plus_secs(60),
        },
    )
    .expect("minted");
    let verifier = RemoteVerifier::discover(&app.address)
        .await
        .expect("a verifier attached");
    let claims = verifier
        .verify(&minted.bearer, &VerifyOptions::default())
        .await
        .expect("a token of the next key is accepted");
    assert_eq!(claims.key_id, KeyId(2));
    verifier.shutdown();
    app.stop().await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_key_whose_time_has_come_signs_new_tokens() {
    let at = unix_now() - 10;
    let (app, path, _) = start_with(&[entry(1, true, None), entry(2, false, Some(at))]).await;
    let keys = get_keys(&app).await;
    assert_eq!(
        statuses(&keys),
        vec![(1, "retired".into(), None), (2, "active".into(), None)]
    );
    let token = issue(&app).await;
    assert_eq!(
        signed_by(&keys, &token.bearer),
        KeyId(2),
        "the scheduled key signs"
    );
    assert_eq!(app.introspect(&token.bearer).await["active"], true);
    app.stop().await;
    let _ = std::fs::remove_file(path);
}
