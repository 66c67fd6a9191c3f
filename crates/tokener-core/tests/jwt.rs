//! JWT access tokens (RFC 9068): what is minted, that it verifies, rotates with the ring, and
//! every way a JWT must be refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tokener_core::token::{mint, mint_jwt, KeyRing, MintInput, SigningKey};
use tokener_core::{
    Audience, KeyId, PublicKeySet, Scope, Timestamp, Verifier, VerifyError, VerifyOptions,
};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://tokener.internal";

fn input(ttl: u64) -> MintInput {
    MintInput {
        client_id: "billing".parse().unwrap(),
        audiences: BTreeSet::from(["orders".parse::<Audience>().unwrap()]),
        scopes: BTreeSet::from([
            "orders:read".parse::<Scope>().unwrap(),
            "orders:write".parse().unwrap(),
        ]),
        issued_at: Timestamp::from_unix(NOW),
        expires_at: Timestamp::from_unix(NOW + ttl),
    }
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix(secs)
}

fn part(bearer: &str, index: usize) -> Value {
    let text = bearer.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn verify(ring: &KeyRing, bearer: &str) -> Result<tokener_core::TokenClaims, VerifyError> {
    Verifier::new(ring.public_keys()).verify(bearer, at(NOW + 10), &VerifyOptions::default())
}

#[test]
fn a_jwt_carries_the_rfc_9068_header_and_claims_and_verifies_to_the_minted_claims() {
    let ring = KeyRing::generate();
    let minted = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    assert_eq!(
        part(&minted.bearer, 0),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "1"})
    );
    assert_eq!(
        part(&minted.bearer, 1),
        json!({
            "iss": ISSUER, "sub": "billing", "client_id": "billing", "aud": ["orders"],
            "exp": NOW + 3600, "iat": NOW, "jti": minted.claims.token_id.as_str(),
            "scope": "orders:read orders:write",
        })
    );
    assert_eq!(verify(&ring, &minted.bearer), Ok(minted.claims.clone()));
    // The same verdicts as a Biscuit's: expiry, audience and scope are judged on the claims.
    let verifier = Verifier::new(ring.public_keys());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW + 3601), &VerifyOptions::default()),
        Err(VerifyError::Expired)
    );
    let payments = VerifyOptions::default().audience("payments".parse().unwrap());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &payments),
        Err(VerifyError::WrongAudience)
    );
    let admin = VerifyOptions::default().scope("orders:admin".parse().unwrap());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &admin),
        Err(VerifyError::MissingScope)
    );
    let revoked = verifier
        .clone()
        .with_revoked([minted.claims.token_id.clone()]);
    assert_eq!(
        revoked.verify(&minted.bearer, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::Revoked)
    );
}

#[test]
fn a_token_without_audience_or_scope_leaves_those_claims_out() {
    let ring = KeyRing::generate();
    let mut bare = input(60);
    bare.audiences.clear();
    bare.scopes.clear();
    let minted = mint_jwt(ring.active(), bare, ISSUER).unwrap();
    let claims = part(&minted.bearer, 1);
    assert!(claims.get("aud").is_none() && claims.get("scope").is_none());
    assert_eq!(verify(&ring, &minted.bearer), Ok(minted.claims));
}

#[test]
fn every_jwt_gets_its_own_token_id() {
    let ring = KeyRing::generate();
    let a = mint_jwt(ring.active(), input(60), ISSUER).unwrap();
    let b = mint_jwt(ring.active(), input(60), ISSUER).unwrap();
    assert_ne!(a.claims.token_id, b.claims.token_id);
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    let ring = KeyRing::generate();
    let minted = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    assert!(verify(&ring, &minted.bearer).is_ok());
    let mut claims = part(&minted.bearer, 1);
    claims["scope"] = "orders:read orders:write orders:admin".into();
    let parts: Vec<&str> = minted.bearer.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);
    assert_eq!(verify(&ring, &forged), Err(VerifyError::BadSignature));
}

#[test]
fn alg_none_hmac_and_a_wrong_typ_are_refused_before_any_key_is_used() {
    let ring = KeyRing::generate();
    let minted = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    assert!(verify(&ring, &minted.bearer).is_ok());
    let parts: Vec<&str> = minted.bearer.split('.').collect();
    let with_header =
        |header: Value, signature: &str| format!("{}.{}.{}", encode(&header), parts[1], signature);
    let none = with_header(json!({"alg": "none", "typ": "at+jwt", "kid": "1"}), "");
    assert_eq!(verify(&ring, &none), Err(VerifyError::Malformed));
    let hmac = with_header(
        json!({"alg": "HS256", "typ": "at+jwt", "kid": "1"}),
        parts[2],
    );
    assert_eq!(verify(&ring, &hmac), Err(VerifyError::Malformed));
    // An ID token or any other JWT signed by the same key is not an access token.
    let id_token = with_header(json!({"alg": "ES256", "typ": "JWT", "kid": "1"}), parts[2]);
    assert_eq!(verify(&ring, &id_token), Err(VerifyError::Malformed));
    let untyped = with_header(json!({"alg": "ES256", "kid": "1"}), parts[2]);
    assert_eq!(verify(&ring, &untyped), Err(VerifyError::Malformed));
    let no_kid = with_header(json!({"alg": "ES256", "typ": "at+jwt"}), parts[2]);
    assert_eq!(verify(&ring, &no_kid), Err(VerifyError::Malformed));
}

#[test]
fn the_media_type_spelling_of_typ_is_accepted() {
    // RFC 9068 §2.1 allows `application/at+jwt`; the signature covers the header, so this
    // needs a token signed with that header: the verifier refuses the swap as a bad signature,
    // which shows the typ check let it through to the signature.
    let ring = KeyRing::generate();
    let minted = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    let parts: Vec<&str> = minted.bearer.split('.').collect();
    let header = json!({"alg": "ES256", "typ": "application/AT+JWT", "kid": "1"});
    let swapped = format!("{}.{}.{}", encode(&header), parts[1], parts[2]);
    assert_eq!(verify(&ring, &swapped), Err(VerifyError::BadSignature));
}

#[test]
fn a_key_the_verifier_does_not_know_is_unknown_and_another_ring_is_a_bad_signature() {
    let ring = KeyRing::generate();
    let other = KeyRing::single(SigningKey::generate(KeyId(7)));
    let minted = mint_jwt(other.active(), input(3600), ISSUER).unwrap();
    assert_eq!(verify(&ring, &minted.bearer), Err(VerifyError::UnknownKey));
    let impostor = KeyRing::generate();
    let forged = mint_jwt(impostor.active(), input(3600), ISSUER).unwrap();
    assert_eq!(
        verify(&ring, &forged.bearer),
        Err(VerifyError::BadSignature)
    );
    // A set with Biscuit keys only (a verifier that never learnt the JWKs) cannot check JWTs.
    let biscuit_only = PublicKeySet::new(ring.public_keys().iter().map(|(id, k)| (id, *k)));
    let minted = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    assert_eq!(
        Verifier::new(biscuit_only).verify(&minted.bearer, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn the_jwt_key_follows_the_ring_key_through_the_key_file_and_rotation() {
    let old = KeyRing::generate();
    let old_token = mint_jwt(old.active(), input(3600), ISSUER).unwrap();
    // Reloaded from its key file, the ring derives the same JWT key: tokens survive restarts.
    let reloaded = KeyRing::from_json(&old.to_json()).unwrap();
    assert_eq!(reloaded.public_keys(), old.public_keys());
    assert!(verify(&reloaded, &old_token.bearer).is_ok());
    // Key 1 retired, key 2 active: new JWTs name kid 2, old ones still verify.
    let mut file: Value = serde_json::from_str(&old.to_json()).unwrap();
    file["keys"][0]["active"] = false.into();
    let new: Value =
        serde_json::from_str(&KeyRing::single(SigningKey::generate(KeyId(2))).to_json()).unwrap();
    file["keys"]
        .as_array_mut()
        .unwrap()
        .push(new["keys"][0].clone());
    let rotated = KeyRing::from_json(&file.to_string()).unwrap();
    let new_token = mint_jwt(rotated.active(), input(3600), ISSUER).unwrap();
    assert_eq!(part(&new_token.bearer, 0)["kid"], "2");
    assert!(verify(&rotated, &old_token.bearer).is_ok());
    assert!(verify(&rotated, &new_token.bearer).is_ok());
    // Two keys, two different JWT keys.
    let keys = rotated.public_keys();
    assert_ne!(keys.jwt(KeyId(1)), keys.jwt(KeyId(2)));
}

#[test]
fn a_published_jwk_round_trips_into_a_verifying_key() {
    let ring = KeyRing::generate();
    let keys = ring.public_keys();
    let (id, key) = keys.jwt_keys().next().unwrap();
    let jwk = key.jwk(id.0);
    assert_eq!((jwk.kty.as_str(), jwk.crv.as_str()), ("EC", "P-256"));
    assert_eq!(
        (jwk.alg.as_str(), jwk.use_.as_str(), jwk.kid.as_str()),
        ("ES256", "sig", "1")
    );
    assert_eq!(jwk.public_key().as_ref(), Some(key));
    // A point off the curve is no key.
    let mut off = jwk.clone();
    off.y = off.x.clone();
    assert_eq!(off.public_key(), None);
}

#[test]
fn biscuits_and_jwts_of_one_ring_verify_side_by_side() {
    let ring = KeyRing::generate();
    let biscuit = mint(ring.active(), input(3600)).unwrap();
    let jwt = mint_jwt(ring.active(), input(3600), ISSUER).unwrap();
    assert!(!biscuit.bearer.contains('.'));
    assert_eq!(verify(&ring, &biscuit.bearer), Ok(biscuit.claims));
    assert_eq!(verify(&ring, &jwt.bearer), Ok(jwt.claims));
}

#[test]
fn garbage_with_dots_is_malformed() {
    let ring = KeyRing::generate();
    for bearer in ["a.b.c", "..", "eyJhbGciOiJFUzI1NiJ9..", "x.y"] {
        assert_eq!(
            verify(&ring, bearer),
            Err(VerifyError::Malformed),
            "{bearer}"
        );
    }
}
