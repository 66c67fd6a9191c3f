//! JWT access tokens (RFC 9068) over HTTP: the format a client is switched to, what the token
//! endpoints return, `GET /jwks`, and introspection, revocation and client-wide revocation of
//! JWTs.

use crate::helpers::{
    admin, assert_error, spawn_admin_app, spawn_app, spawn_app_with, TestApp, CLIENT_ID,
};
use crate::receiving::issue_as;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tokener_core::token::Jwk;
use tokener_core::{Clock, KeyId, PublicKeySet, SystemClock, Verifier, VerifyOptions};

const JWT: (&str, &str) = ("TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT", "jwt");

fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).expect("a JWS part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

/// Verifies `token` with the keys `GET /jwks` publishes, nothing else.
async fn verify_with_jwks(app: &TestApp, token: &str) -> tokener_core::TokenClaims {
    let set = app.get_json("/jwks").await;
    let keys = set["keys"].as_array().unwrap().iter().map(|k| {
        let jwk: Jwk = serde_json::from_value(k.clone()).unwrap();
        (KeyId(jwk.kid.parse().unwrap()), jwk.public_key().unwrap())
    });
    Verifier::new(PublicKeySet::default().with_jwt_keys(keys))
        .verify(token, SystemClock.now(), &VerifyOptions::default())
        .expect("the token verifies with the JWK set")
}

/// `POST /admin/clients` with `body`: the answer, the client and its secret.
async fn register(app: &TestApp, admin_token: &str, body: Value) -> Value {
    let response = admin(app, Method::POST, "/admin/clients", admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "client registered");
    response.json().await.unwrap()
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn a_jwt_client_gets_rfc_9068_tokens_from_both_endpoints_in_the_same_response_shape() {
    let biscuit_app = spawn_app().await;
    let biscuit: Value = biscuit_app.token(None).await.json().await.unwrap();
    let app = spawn_app_with(&[JWT]).await;
    let response: Value = app.token(None).await.json().await.unwrap();
    assert_eq!(keys_of(&response), keys_of(&biscuit));
    let oauth: Value = app
        .oauth("/oauth2/token", &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(oauth["token_type"], "Bearer");
    let issuer = app
        .get_json("/.well-known/oauth-authorization-server")
        .await["issuer"]
        .clone();
    for token in [&response["access_token"], &oauth["access_token"]] {
        let token = token.as_str().unwrap();
        assert_eq!(
            part(token, 0),
            json!({"alg": "ES256", "typ": "at+jwt", "kid": "1"})
        );
        let claims = part(token, 1);
        assert_eq!(claims["iss"], issuer);
        assert_eq!(
            (&claims["sub"], &claims["client_id"]),
            (&json!(CLIENT_ID), &json!(CLIENT_ID))
        );
        assert_eq!(claims["aud"], json!(["orders"]));
        assert_eq!(claims["scope"], "orders:read orders:write");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            response["expires_in"].as_u64().unwrap()
        );
        let verified = verify_with_jwks(&app, token).await;
        assert_eq!(claims["jti"], verified.token_id.as_str());
        assert_eq!(app.introspect(token).await["jti"], claims["jti"]);
    }
}

#[tokio::test]
async fn introspection_of_a_jwt_active_then_revoked_and_listed_in_the_feed() {
    let app = spawn_app_with(&[JWT]).await;
    let token = app.bearer(json!({})).await;
    let keep = app.bearer(json!({})).await;
    let jti = part(&token, 1)["jti"].clone();
    let active = app.introspect(&token).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["jti"], jti);
    assert_eq!(active["client_id"], CLIENT_ID);
    assert_eq!(active["aud"], json!(["orders"]));
    let response = app.oauth("/oauth2/revoke", &[("token", &token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
    assert_eq!(app.introspect(&keep).await["active"], true);
    let page = app.revocations_listed(1).await;
    assert_eq!(page["revocations"][0]["token_id"], jti);
}

#[tokio::test]
async fn an_expired_jwt_is_inactive() {
    let app = spawn_app_with(&[JWT]).await;
    let token = app.bearer(json!({"ttl_seconds": 1})).await;
    assert!(token.contains('.'));
    assert_eq!(app.introspect(&token).await["active"], true);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
}

#[tokio::test]
async fn the_admin_api_sets_and_switches_a_clients_format_and_client_wide_revocation_covers_jwts() {
    let (app, admin_token) = spawn_admin_app().await;
    let created = register(
        &app,
        &admin_token,
        json!({"client_id": "shipping", "scopes": ["shipping:read"], "token_format": "jwt"}),
    )
    .await;
    assert_eq!(created["client"]["token_format"], "jwt");
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let issue = || async { issue_as(&app, "shipping", &secret, json!({})).await.bearer };
    let jwt = issue().await;
    assert_eq!(part(&jwt, 0)["typ"], "at+jwt");
    assert_eq!(part(&jwt, 1)["scope"], "shipping:read");
    // Back to Biscuit: new tokens are Biscuits, the JWT issued before stays valid.
    let patched: Value = admin(&app, Method::PATCH, "/admin/clients/shipping", &admin_token)
        .json(&json!({"token_format": "biscuit"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["token_format"], "biscuit");
    let biscuit = issue().await;
    assert!(!biscuit.contains('.'));
    assert_eq!(app.introspect(&jwt).await["active"], true);
    assert_eq!(app.introspect(&biscuit).await["active"], true);
    // A client-wide revocation covers both formats.
    let response = admin(
        &app,
        Method::POST,
        "/admin/clients/shipping/revoke-tokens",
        &admin_token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.introspect(&jwt).await, json!({"active": false}));
    assert_eq!(app.introspect(&biscuit).await, json!({"active": false}));
    // An unknown format is a clear 400.
    let response = admin(&app, Method::PATCH, "/admin/clients/shipping", &admin_token)
        .json(&json!({"token_format": "paseto"}))
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn the_jwk_set_is_cacheable_advertised_and_the_same_as_in_keys() {
    let app = spawn_app_with(&[("TOKENER_KEY_ANNOUNCE_SECONDS", "40")]).await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(metadata["jwks_uri"], app.url("/jwks"));
    let response = app.http.get(app.url("/jwks")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Half the announce period, so a verifier meets a new key while it is still `next`.
    assert_eq!(response.headers()["cache-control"], "public, max-age=20");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let set: Value = response.json().await.unwrap();
    let keys = app.get_json("/keys").await;
    assert_eq!(set["keys"], json!([keys["keys"][0]["jwk"].clone()]));
    assert_eq!(set["keys"][0]["kid"], keys["keys"][0]["id"].to_string());
    let again = app
        .http
        .get(app.url("/jwks"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let default = spawn_app().await;
    let response = default.http.get(default.url("/jwks")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
}

#[tokio::test]
async fn a_jwt_issued_right_after_a_client_wide_revocation_is_not_dated_in_the_future() {
    let (app, admin_token) = spawn_admin_app().await;
    let created = register(
        &app,
        &admin_token,
        json!({"client_id": "shipping", "token_format": "jwt"}),
    )
    .await;
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let issue = || async { issue_as(&app, "shipping", &secret, json!({})).await.bearer };
    let before = issue().await;
    let cut: Value = admin(
        &app,
        Method::POST,
        "/admin/clients/shipping/revoke-tokens",
        &admin_token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let issued_before = cut["issued_before"].as_u64().unwrap();
    let after = issue().await;
    let now = SystemClock.now().unix();
    // The cut-off reaches past now; a Biscuit would be dated at it, a JWT waits for it.
    let iat = part(&after, 1)["iat"].as_u64().unwrap();
    assert!(
        iat <= now,
        "iat {iat} is after the time of the answer {now}"
    );
    assert!(
        iat >= issued_before,
        "iat {iat} is before the cut-off {issued_before}"
    );
    assert_eq!(app.introspect(&before).await, json!({"active": false}));
    assert_eq!(app.introspect(&after).await["active"], true);
}
