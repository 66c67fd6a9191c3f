//! `private_key_jwt`: which assertions authenticate a client, and that each does so once.

use serde_json::json;
use std::sync::Arc;
use tokener_core::contract::sample_client;
use tokener_core::domain::ManualClock;
use tokener_core::ports::MockReplayCache;
use tokener_core::services::client_assertion::signer::AssertionSigner;
use tokener_core::{
    AssertionAlgorithm, AssertionError, AssertionVerifier, Client, ClientAssertion,
    InMemoryReplayCache, StoreError, Timestamp,
};

const NOW: u64 = 1_800_000_000;
const AUDIENCE: &str = "https://tokens.example/oauth2/token";

fn audiences() -> Vec<String> {
    vec![AUDIENCE.to_string(), "https://tokens.example".to_string()]
}

fn verifier() -> AssertionVerifier<InMemoryReplayCache> {
    AssertionVerifier::new(
        InMemoryReplayCache::new(),
        Arc::new(ManualClock::at(Timestamp::from_unix(NOW))),
    )
}

fn client_with(signer: &AssertionSigner) -> Client {
    let mut client = sample_client("billing");
    client.jwks = Some(serde_json::from_value(signer.jwks()).unwrap());
    client
}

async fn check(
    verifier: &AssertionVerifier<InMemoryReplayCache>,
    client: Option<Client>,
    assertion: &str,
) -> Result<Client, AssertionError> {
    let parsed = ClientAssertion::parse(assertion)?;
    verifier.authenticate(client, &parsed, &audiences()).await
}

#[tokio::test]
async fn es256_and_eddsa_assertions_authenticate_once() {
    for algorithm in AssertionAlgorithm::ALL {
        let signer = AssertionSigner::generate(algorithm, "k1");
        let client = client_with(&signer);
        let verifier = verifier();
        let assertion = signer.assertion("billing", AUDIENCE, NOW, 60);
        let parsed = ClientAssertion::parse(&assertion).unwrap();
        assert_eq!(parsed.client().as_str(), "billing");
        let authenticated = check(&verifier, Some(client.clone()), &assertion)
            .await
            .unwrap();
        assert_eq!(authenticated.id, client.id, "{algorithm:?}");
        // The same assertion again is a replay.
        let again = check(&verifier, Some(client.clone()), &assertion).await;
        assert!(
            matches!(again, Err(AssertionError::Replayed)),
            "{algorithm:?}"
        );
        // A fresh one (another jti) is fine, and so is an audience given as a list.
        let listed = signer.sign(&json!({"iss": "billing", "sub": "billing",
            "aud": ["https://elsewhere", "https://tokens.example"], "exp": NOW + 60, "jti": "j2"}));
        check(&verifier, Some(client), &listed).await.unwrap();
    }
}

#[tokio::test]
async fn a_signature_of_another_key_is_refused_and_does_not_spend_the_jti() {
    let signer = AssertionSigner::generate(AssertionAlgorithm::Es256, "k1");
    let impostor = AssertionSigner::generate(AssertionAlgorithm::Es256, "k1");
    let client = client_with(&signer);
    let verifier = verifier();
    let claims = json!({"iss": "billing", "sub": "billing", "aud": AUDIENCE,
        "exp": NOW + 60, "jti": "shared"});
    let forged = check(&verifier, Some(client.clone()), &impostor.sign(&claims)).await;
    assert!(matches!(forged, Err(AssertionError::Refused)));
    // The forgery recorded nothing: the real client's assertion with that jti still works.
    check(&verifier, Some(client), &signer.sign(&claims))
        .await
        .unwrap();
}

#[tokio::test]
async fn clients_that_cannot_use_keys_are_refused_alike() {
    let signer = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "k1");
    let verifier = verifier();
    let mut disabled = client_with(&signer);
    disabled.disabled = true;
    let secret_only = sample_client("billing");
    // Unknown, disabled, and registered with a secret: the same answer.
    for client in [None, Some(disabled), Some(secret_only)] {
        let assertion = signer.assertion("billing", AUDIENCE, NOW, 60);
        let result = check(&verifier, client, &assertion).await;
        assert!(matches!(result, Err(AssertionError::Refused)), "{result:?}");
    }
    // A kid the client does not have: no key to try.
    let other_kid = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "k2");
    let mut client = client_with(&signer);
    let mut jwks = signer.jwks();
    jwks["keys"][0]["kid"] = json!("k1");
    client.jwks = Some(serde_json::from_value(jwks).unwrap());
    let result = check(
        &verifier,
        Some(client),
        &other_kid.assertion("billing", AUDIENCE, NOW, 60),
    )
    .await;
    assert!(matches!(result, Err(AssertionError::Refused)));
}

#[tokio::test]
async fn assertions_outside_the_rules_are_refused_with_a_reason() {
    let signer = AssertionSigner::generate(AssertionAlgorithm::Es256, "k1");
    let client = client_with(&signer);
    let verifier = verifier();
    let base = json!({"iss": "billing", "sub": "billing", "aud": AUDIENCE,
        "exp": NOW + 60, "jti": "j"});
    let with = |key: &str, value: serde_json::Value| {
        let mut claims = base.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value;
        }
        signer.sign(&claims)
    };
    let cases = [
        (with("exp", json!(NOW + 331)), "at most 300 seconds ahead"),
        (with("exp", json!(NOW - 31)), "has expired"),
        (with("nbf", json!(NOW + 31)), "not valid yet"),
        (with("aud", json!("https://elsewhere")), "aud must name"),
        (with("iss", json!("other")), "iss and sub"),
        (with("jti", serde_json::Value::Null), "must carry"),
        (with("jti", json!("")), "jti must be"),
        (with("sub", json!("billing!")), "iss and sub"),
        ("not.a.jwt".to_string(), "is not a signed JWT"),
        // An unsigned JWT (alg none) and an HMAC one, whose "key" would be public.
        (
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiaWxsaW5nIn0.".to_string(),
            "is not a signed JWT",
        ),
        (
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &base,
                &jsonwebtoken::EncodingKey::from_secret(b"k"),
            )
            .unwrap(),
            "ES256 or EdDSA",
        ),
        ("a".repeat(8 * 1024 + 1), "too long"),
    ];
    for (assertion, expected) in cases {
        let error = check(&verifier, Some(client.clone()), &assertion)
            .await
            .unwrap_err();
        assert!(
            matches!(error, AssertionError::Invalid(_)) && error.to_string().contains(expected),
            "{expected}: {error}"
        );
    }
    // Within the leeway: 330 s ahead and 29 s past are still accepted.
    check(
        &verifier,
        Some(client.clone()),
        &with("exp", json!(NOW + 330)),
    )
    .await
    .unwrap();
    let mut late = base.clone();
    late["exp"] = json!(NOW - 29);
    late["jti"] = json!("late");
    check(&verifier, Some(client), &signer.sign(&late))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unavailable_replay_cache_refuses_the_assertion() {
    let signer = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "k1");
    let mut replay = MockReplayCache::new();
    replay
        .expect_first_use()
        .returning(|_, _| Err(StoreError::unavailable("redis down")));
    let verifier =
        AssertionVerifier::new(replay, Arc::new(ManualClock::at(Timestamp::from_unix(NOW))));
    let parsed = ClientAssertion::parse(&signer.assertion("billing", AUDIENCE, NOW, 60)).unwrap();
    let result = verifier
        .authenticate(Some(client_with(&signer)), &parsed, &audiences())
        .await;
    assert!(matches!(result, Err(AssertionError::Store(_))));
}

#[tokio::test]
async fn the_jti_is_kept_for_the_assertion_lifetime_plus_the_leeway() {
    let signer = AssertionSigner::generate(AssertionAlgorithm::EdDsa, "k1");
    let mut replay = MockReplayCache::new();
    replay
        .expect_first_use()
        .withf(|key, keep| key.starts_with("billing:") && keep.as_secs() == 120 + 30)
        .times(1)
        .returning(|_, _| Ok(true));
    let verifier =
        AssertionVerifier::new(replay, Arc::new(ManualClock::at(Timestamp::from_unix(NOW))));
    let parsed = ClientAssertion::parse(&signer.assertion("billing", AUDIENCE, NOW, 120)).unwrap();
    verifier
        .authenticate(Some(client_with(&signer)), &parsed, &audiences())
        .await
        .unwrap();
}
