//! RFC 6749 §4.4 client credentials, RFC 7662 introspection, RFC 7009 revocation, RFC 8414
//! metadata.

use crate::helpers::{
    assert_error, spawn_app, spawn_app_with_two_clients, CLIENT_ID, CLIENT_SECRET, OTHER_ID,
};
use serde_json::json;

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn client_credentials_with_basic_auth() {
    let app = spawn_app().await;
    let response = app
        .oauth("/oauth2/token", &[GRANT, ("scope", "orders:read")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["scope"], "orders:read");
    let introspected = app.introspect(body["access_token"].as_str().unwrap()).await;
    assert_eq!(introspected["active"], true);
}

#[tokio::test]
async fn client_credentials_with_post_auth_and_default_scopes() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/oauth2/token"))
        .form(&[
            GRANT,
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("audience", "orders"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "orders:read orders:write");
}

#[tokio::test]
async fn basic_credentials_are_form_url_decoded() {
    let app = spawn_app().await;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; encoding leaves these
    // plain characters as they are except that a client may escape any of them.
    let escaped: String = CLIENT_SECRET.replace('-', "%2D");
    let response = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(CLIENT_ID, Some(escaped))
        .form(&[GRANT])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = spawn_app().await;
    assert_error(
        app.oauth("/oauth2/token", &[("grant_type", "password")])
            .await,
        400,
        "unsupported_grant_type",
    )
    .await;
    assert_error(
        app.oauth("/oauth2/token", &[("scope", "orders:read")])
            .await,
        400,
        "invalid_request",
    )
    .await;
    assert_error(
        app.oauth("/oauth2/token", &[GRANT, ("scope", "orders:admin")])
            .await,
        400,
        "invalid_scope",
    )
    .await;
    assert_error(
        app.oauth("/oauth2/token", &[GRANT, ("scope", "bad\"scope")])
            .await,
        400,
        "invalid_scope",
    )
    .await;
    assert_error(
        app.oauth("/oauth2/token", &[GRANT, ("audience", "payments")])
            .await,
        400,
        "invalid_target",
    )
    .await;
    assert_error(
        app.oauth("/oauth2/token", &[GRANT, GRANT]).await,
        400,
        "invalid_request",
    )
    .await;
    let both = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            GRANT,
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    // Two methods at once (RFC 6749 §2.3 forbids it): a failed client authentication.
    assert_error(both, 401, "invalid_client").await;
    let json_body = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_error(json_body, 400, "invalid_request").await;
    for wrong in [
        app.http
            .post(app.url("/oauth2/token"))
            .basic_auth(CLIENT_ID, Some("nope"))
            .form(&[GRANT]),
        app.http.post(app.url("/oauth2/token")).form(&[
            GRANT,
            ("client_id", CLIENT_ID),
            ("client_secret", "nope"),
        ]),
        app.http.post(app.url("/oauth2/token")).form(&[GRANT]),
    ] {
        let response = wrong.send().await.unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        assert_error(response, 401, "invalid_client").await;
    }
}

#[tokio::test]
async fn introspection_reports_claims_of_an_active_token() {
    let app = spawn_app().await;
    let issued: serde_json::Value = app
        .token(Some(json!({"scope": ["orders:read"], "ttl_seconds": 600})))
        .await
        .json()
        .await
        .unwrap();
    let body = app
        .introspect(issued["access_token"].as_str().unwrap())
        .await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["sub"], CLIENT_ID);
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(body["aud"], json!(["orders"]));
    assert_eq!(body["jti"], issued["token_id"]);
    assert_eq!(body["token_type"], "Bearer");
    let (exp, iat) = (body["exp"].as_u64().unwrap(), body["iat"].as_u64().unwrap());
    assert_eq!(exp - iat, 600);
}

#[tokio::test]
async fn introspection_says_inactive_and_nothing_else_for_bad_tokens() {
    let app = spawn_app().await;
    // Signed by a key this server does not have, with the same key id.
    let foreign = {
        let ring = tokener_core::KeyRing::generate();
        let now = tokener_core::SystemClock;
        let now = tokener_core::Clock::now(&now);
        tokener_core::token::mint(
            ring.active(),
            tokener_core::token::MintInput {
                client_id: CLIENT_ID.parse().unwrap(),
                audiences: Default::default(),
                scopes: Default::default(),
                issued_at: now,
                expires_at: now.plus_secs(60),
            },
        )
        .unwrap()
        .bearer
    };
    let real = app.bearer(json!({})).await;
    let tampered = format!("{}A", &real[..real.len() - 1]);
    for token in ["garbage", "", foreign.as_str(), tampered.as_str()] {
        if token.is_empty() {
            assert_error(
                app.oauth("/oauth2/introspect", &[("token", token)]).await,
                400,
                "invalid_request",
            )
            .await;
            continue;
        }
        let body = app.introspect(token).await;
        assert_eq!(body, json!({"active": false}), "{token:.20}");
    }
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    let app = spawn_app().await;
    let token = app.bearer(json!({"ttl_seconds": 1})).await;
    assert_eq!(app.introspect(&token).await["active"], true);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let app = spawn_app().await;
    let token = app.bearer(json!({})).await;
    let response = app
        .http
        .post(app.url("/oauth2/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn revocation_by_the_owner_deactivates_the_token_and_is_listed() {
    let app = spawn_app().await;
    let token = app.bearer(json!({})).await;
    let keep = app.bearer(json!({})).await;
    let response = app
        .oauth(
            "/oauth2/revoke",
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
    assert_eq!(app.introspect(&keep).await["active"], true);
    // Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
    assert_eq!(
        app.oauth("/oauth2/revoke", &[("token", &token)])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.oauth("/oauth2/revoke", &[("token", "garbage")])
            .await
            .status(),
        200
    );
    let page = app.revocations_listed(1).await;
    let listed = page["revocations"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let id = app.introspect(&keep).await; // keep is active: its id is not listed
    assert_ne!(listed[0]["token_id"], id["jti"]);
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token() {
    let (app, other_secret) = spawn_app_with_two_clients().await;
    let token = app.bearer(json!({})).await;
    let response = app
        .http
        .post(app.url("/oauth2/revoke"))
        .basic_auth(OTHER_ID, Some(&other_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "unauthorized_client").await;
    assert_eq!(app.introspect(&token).await["active"], true);
}

#[tokio::test]
async fn revocations_page_with_a_cursor() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let token = app.bearer(json!({})).await;
        ids.push(app.introspect(&token).await["jti"].clone());
        app.oauth("/oauth2/revoke", &[("token", &token)]).await;
    }
    app.revocations_listed(3).await;
    let first: serde_json::Value = app.get_json("/revocations?limit=2").await;
    assert_eq!(first["revocations"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let rest: serde_json::Value = app.get_json(&format!("/revocations?since={next}")).await;
    let mut seen: Vec<serde_json::Value> = first["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["revocations"].as_array().unwrap())
        .map(|r| r["token_id"].clone())
        .collect();
    seen.sort_by_key(|v| v.to_string());
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(seen, ids);
    let bad = app
        .http
        .get(app.url("/revocations?since=nope"))
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "invalid_request").await;
    let bad = app
        .http
        .get(app.url("/revocations?limit=0"))
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "invalid_request").await;
}

#[tokio::test]
async fn metadata_names_the_endpoints() {
    let app = spawn_app().await;
    let body: serde_json::Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(body["issuer"], app.address);
    assert_eq!(
        body["token_endpoint"],
        format!("{}/oauth2/token", app.address)
    );
    assert_eq!(
        body["introspection_endpoint"],
        format!("{}/oauth2/introspect", app.address)
    );
    assert_eq!(
        body["revocation_endpoint"],
        format!("{}/oauth2/revoke", app.address)
    );
    assert_eq!(body["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        body["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
}

#[tokio::test]
async fn metadata_ignores_forwarded_headers_and_honours_the_public_url() {
    let app = spawn_app().await;
    let body: serde_json::Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.example;proto=https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["issuer"], app.address);
    let app =
        crate::helpers::spawn_app_with(&[("TOKENER_PUBLIC_URL", "https://tokener.example/")]).await;
    let body: serde_json::Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(body["issuer"], "https://tokener.example");
    assert_eq!(
        body["token_endpoint"],
        "https://tokener.example/oauth2/token"
    );
}

#[tokio::test]
async fn published_key_verifies_tokens_offline() {
    let app = spawn_app().await;
    let keys: serde_json::Value = app.get_json("/keys").await;
    let key = &keys["keys"][0];
    assert_eq!(key["status"], "active");
    assert_eq!(key["algorithm"], "ed25519");
    let public =
        tokener_core::token::parse_public_key(key["public_key"].as_str().unwrap()).unwrap();
    let verifier = tokener_core::Verifier::new(tokener_core::PublicKeySet::new([(
        tokener_core::KeyId(key["id"].as_u64().unwrap() as u32),
        public,
    )]));
    let token = app.bearer(json!({})).await;
    let now = tokener_core::Clock::now(&tokener_core::SystemClock);
    let options = tokener_core::VerifyOptions::default().audience("orders".parse().unwrap());
    let claims = verifier.verify(&token, now, &options).unwrap();
    assert_eq!(claims.client_id.as_str(), CLIENT_ID);
}

/// A holder narrows its token with a block of its own; introspection runs that block's checks.
#[tokio::test]
async fn attenuated_tokens_are_judged_with_their_own_checks() {
    let app = spawn_app().await;
    let keys: serde_json::Value = app.get_json("/keys").await;
    let root =
        tokener_core::token::parse_public_key(keys["keys"][0]["public_key"].as_str().unwrap())
            .unwrap();
    let token = app.bearer(json!({})).await;
    let original = biscuit_auth::Biscuit::from_base64(&token, root).unwrap();
    let attenuate = |until: &str| {
        let block = biscuit_auth::builder::BlockBuilder::new()
            .code(format!("check if time($t), $t <= {until};"))
            .unwrap();
        original.append(block).unwrap().to_base64().unwrap()
    };
    let still_valid = attenuate("2999-01-01T00:00:00Z");
    let already_over = attenuate("2001-01-01T00:00:00Z");
    let body = app.introspect(&still_valid).await;
    assert_eq!(body["active"], true);
    assert_eq!(
        body["jti"],
        app.introspect(&token).await["jti"],
        "same token id as the original"
    );
    assert_eq!(
        app.introspect(&already_over).await,
        json!({"active": false})
    );
    // Revoking the original revokes what was derived from it.
    app.oauth("/oauth2/revoke", &[("token", &token)]).await;
    assert_eq!(app.introspect(&still_valid).await, json!({"active": false}));
}

/// RFC 6749 §3.1 and §3.2: unknown parameters are ignored (also when repeated), a parameter
/// without a value counts as omitted, a known parameter sent twice is refused.
#[tokio::test]
async fn form_parameters_follow_rfc_6749_section_3() {
    let app = spawn_app().await;
    let ok = app
        .oauth(
            "/oauth2/token",
            &[
                GRANT,
                ("resource_hint", "a"),
                ("resource_hint", "b"),
                ("scope", ""),
                ("audience", ""),
            ],
        )
        .await;
    assert_eq!(
        ok.status(),
        200,
        "unknown repeated and empty parameters are fine"
    );
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        body["scope"], "orders:read orders:write",
        "an empty scope is no scope"
    );
    let introspected = app
        .oauth(
            "/oauth2/introspect",
            &[
                ("token", body["access_token"].as_str().unwrap()),
                ("extra", "1"),
                ("extra", "2"),
            ],
        )
        .await;
    assert_eq!(introspected.status(), 200);
    let twice = app
        .oauth(
            "/oauth2/token",
            &[GRANT, ("scope", "orders:read"), ("scope", "orders:write")],
        )
        .await;
    assert_error(twice, 400, "invalid_request").await;
    let missing = app.oauth("/oauth2/token", &[("grant_type", "")]).await;
    assert_error(missing, 400, "invalid_request").await;
}
