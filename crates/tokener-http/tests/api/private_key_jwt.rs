//! `private_key_jwt`: clients registered with public keys authenticate with signed assertions
//! at every OAuth2 endpoint, each assertion once, also across instances sharing Redis.

use crate::helpers::{admin, assert_error, spawn_admin_app, spawn_app_with};
use crate::helpers::{TestApp, CLIENT_ID, CLIENT_SECRET};
use reqwest::Method;
use serde_json::{json, Value};
use tokener_core::services::client_assertion::signer::AssertionSigner;
use tokener_core::{AssertionAlgorithm, Clock, SystemClock, JWT_BEARER_ASSERTION};

fn now() -> u64 {
    SystemClock.now().unix()
}

/// A form POST to an OAuth2 endpoint authenticated by `assertion` alone.
async fn with_assertion(
    app: &TestApp,
    path: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", assertion),
    ];
    fields.extend_from_slice(form);
    app.http
        .post(app.url(path))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn register(app: &TestApp, admin_token: &str, id: &str, jwks: Value) -> Value {
    let response = admin(app, Method::POST, "/admin/clients", admin_token)
        .json(
            &json!({"client_id": id, "scopes": ["orders:read"], "audiences": ["orders"],
            "jwks": jwks}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn access_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_client_with_keys_authenticates_at_every_endpoint_with_each_assertion_once() {
    let (app, admin_token) = spawn_admin_app().await;
    let eddsa = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "2026-12");
    let created = register(&app, &admin_token, "keyed", eddsa.jwks()).await;
    assert_eq!(created.get("client_secret"), None, "no secret: {created}");
    assert_eq!(
        created["client"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(created["client"]["jwks"]["keys"][0]["alg"], "EdDSA");

    let token_endpoint = app.url("/oauth2/token");
    let assertion = eddsa.assertion("keyed", &token_endpoint, now(), 60);
    let grant = [("grant_type", "client_credentials")];
    let token = access_token(with_assertion(&app, "/oauth2/token", &assertion, &grant).await).await;
    // The same assertion again: refused, and said why (its signature was good).
    let replay = with_assertion(&app, "/oauth2/token", &assertion, &grant).await;
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    // Introspection with an assertion for the issuer; client_id beside it is allowed.
    let issuer_assertion = eddsa.assertion("keyed", &app.address, now(), 60);
    let introspected = with_assertion(
        &app,
        "/oauth2/introspect",
        &issuer_assertion,
        &[("token", token.as_str()), ("client_id", "keyed")],
    )
    .await;
    assert_eq!(introspected.status(), 200);
    let introspected: Value = introspected.json().await.unwrap();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["client_id"], "keyed");
    // Revocation with an assertion for the revocation endpoint itself.
    let revoke_assertion = eddsa.assertion("keyed", &app.url("/oauth2/revoke"), now(), 60);
    let revoked = with_assertion(
        &app,
        "/oauth2/revoke",
        &revoke_assertion,
        &[("token", token.as_str())],
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.introspect(&token).await, json!({"active": false}));

    // The keys are replaced by ES256 ones: the old key stops working, the new one works.
    let es256 = AssertionSigner::generate(AssertionAlgorithm::Es256, "2027-01");
    let patched = admin(&app, Method::PATCH, "/admin/clients/keyed", &admin_token)
        .json(&json!({"jwks": es256.jwks()}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let old = eddsa.assertion("keyed", &token_endpoint, now(), 60);
    assert_error(
        with_assertion(&app, "/oauth2/token", &old, &grant).await,
        401,
        "invalid_client",
    )
    .await;
    let new = es256.assertion("keyed", &token_endpoint, now(), 60);
    access_token(with_assertion(&app, "/oauth2/token", &new, &grant).await).await;

    // A rotated secret switches the client back to secrets: assertions stop working.
    let rotated: Value = admin(
        &app,
        Method::POST,
        "/admin/clients/keyed/secret",
        &admin_token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        rotated["client"]["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let secret = rotated["client_secret"].as_str().unwrap();
    let after = es256.assertion("keyed", &token_endpoint, now(), 60);
    assert_error(
        with_assertion(&app, "/oauth2/token", &after, &grant).await,
        401,
        "invalid_client",
    )
    .await;
    let by_secret = app
        .http
        .post(&token_endpoint)
        .basic_auth("keyed", Some(secret))
        .form(&grant)
        .send()
        .await
        .unwrap();
    access_token(by_secret).await;
    app.stop().await;
}

#[tokio::test]
async fn assertions_outside_the_rules_are_refused() {
    let (app, admin_token) = spawn_admin_app().await;
    let signer = AssertionSigner::generate(AssertionAlgorithm::Es256, "k1");
    register(&app, &admin_token, "keyed", signer.jwks()).await;
    let token_endpoint = app.url("/oauth2/token");
    let grant = ("grant_type", "client_credentials");
    let refused = |response: reqwest::Response, reason: &'static str| async move {
        assert_eq!(response.status(), 401, "{reason}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{reason}");
        assert!(
            body["error_description"].as_str().unwrap().contains(reason),
            "{reason}: {body}"
        );
    };
    // Two methods at once: an assertion with Basic credentials, or with a secret.
    let assertion = signer.assertion("keyed", &token_endpoint, now(), 60);
    let both = app
        .http
        .post(&token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            grant,
            ("client_assertion_type", JWT_BEARER_ASSERTION),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    refused(both, "one client authentication method").await;
    let with_secret = with_assertion(
        &app,
        "/oauth2/token",
        &assertion,
        &[grant, ("client_secret", "x")],
    )
    .await;
    refused(with_secret, "one client authentication method").await;
    // Another client id beside the assertion, another assertion type, another audience,
    // a lifetime past five minutes, a client that has a secret rather than keys.
    let mismatch = with_assertion(
        &app,
        "/oauth2/token",
        &assertion,
        &[grant, ("client_id", CLIENT_ID)],
    )
    .await;
    refused(mismatch, "does not match").await;
    let saml = app
        .http
        .post(&token_endpoint)
        .form(&[
            grant,
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    refused(saml, "client_assertion_type").await;
    let elsewhere = signer.assertion("keyed", "https://other.example/oauth2/token", now(), 60);
    refused(
        with_assertion(&app, "/oauth2/token", &elsewhere, &[grant]).await,
        "aud must name",
    )
    .await;
    let long = signer.assertion("keyed", &token_endpoint, now(), 3600);
    refused(
        with_assertion(&app, "/oauth2/token", &long, &[grant]).await,
        "300 seconds",
    )
    .await;
    let not_keyed = signer.assertion(CLIENT_ID, &token_endpoint, now(), 60);
    refused(
        with_assertion(&app, "/oauth2/token", &not_keyed, &[grant]).await,
        "client authentication failed",
    )
    .await;
    // None of those spent the first assertion's jti: it still works.
    access_token(with_assertion(&app, "/oauth2/token", &assertion, &[grant]).await).await;

    // Keys that are not public signature keys are refused at registration.
    let mut private = signer.public_jwk();
    private["d"] = json!("c2VjcmV0");
    for (jwks, reason) in [
        (json!({"keys": [private]}), "private key"),
        (json!({"keys": []}), "between 1 and 10"),
        (
            json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
            "unknown field",
        ),
    ] {
        let response = admin(&app, Method::POST, "/admin/clients", &admin_token)
            .json(&json!({"client_id": "bad-keys", "jwks": jwks}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{reason}");
        let body = response.text().await.unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
        assert!(!body.contains("c2VjcmV0"), "the private key is not echoed");
    }

    // The metadata lists the method and its algorithms.
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    for endpoint in ["token", "introspection", "revocation"] {
        let methods = &metadata[format!("{endpoint}_endpoint_auth_methods_supported")];
        assert!(
            methods
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{metadata}"
        );
        assert_eq!(
            metadata[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            json!(["ES256", "EdDSA"])
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_assertion_used_on_one_instance_is_refused_by_another_sharing_redis() {
    use tokener_mongo::testing::{service_var, unique_database, MONGODB_URI};
    use tokener_redis::testing::REDIS_URL;
    let (Some(mongo), Some(redis)) = (service_var(MONGODB_URI), service_var(REDIS_URL)) else {
        return;
    };
    let database = unique_database();
    let prefix = format!("replay{}", std::process::id());
    let instance = |name: &'static str| {
        [
            ("TOKENER_MONGODB_URI", mongo.as_str()),
            ("TOKENER_MONGODB_DATABASE", database.as_str()),
            ("TOKENER_REDIS_URL", redis.as_str()),
            ("TOKENER_REDIS_PREFIX", prefix.as_str()),
            ("TOKENER_INSTANCE_NAME", name),
            ("TOKENER_PUBLIC_URL", "https://tokens.test"),
            (
                "TOKENER_KEY_ENCRYPTION_SECRET",
                "the replay test's secret: 32+ characters",
            ),
            (
                "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
                "orders:read tokener:admin",
            ),
        ]
    };
    let a = spawn_app_with(&instance("a")).await;
    let b = spawn_app_with(&instance("b")).await;
    let admin_token = a
        .bearer(json!({"scope": ["tokener:admin"], "ttl_seconds": 300}))
        .await;
    let signer = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "k1");
    register(&a, &admin_token, "keyed", signer.jwks()).await;
    let grant = [("grant_type", "client_credentials")];
    // The configured public URL is the audience: the address the request reached is not.
    let by_host = signer.assertion("keyed", &a.url("/oauth2/token"), now(), 60);
    assert_error(
        with_assertion(&a, "/oauth2/token", &by_host, &grant).await,
        401,
        "invalid_client",
    )
    .await;
    let assertion = signer.assertion("keyed", "https://tokens.test/oauth2/token", now(), 60);
    // B knows the client as soon as A registered it (MongoDB), and accepts the assertion once.
    access_token(with_assertion(&b, "/oauth2/token", &assertion, &grant).await).await;
    let replay = with_assertion(&a, "/oauth2/token", &assertion, &grant).await;
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    a.stop().await;
    b.stop().await;
    tokener_mongo::testing::raw_client(&mongo)
        .await
        .database(&database)
        .drop()
        .await
        .unwrap();
}
