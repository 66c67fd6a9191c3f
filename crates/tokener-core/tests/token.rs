//! Minting and verification round trips, and every way a token must be refused.

use biscuit_auth::builder::{
    check, date, pred, var, Binary, BlockBuilder, CheckKind, Expression, Op,
};
use biscuit_auth::{Biscuit, KeyPair};
use std::collections::BTreeSet;
use tokener_core::token::{mint, parse_public_key, KeyRing, MintInput, SigningKey};
use tokener_core::{
    Audience, KeyId, PublicKeySet, Scope, Timestamp, Verifier, VerifyError, VerifyOptions,
};

const NOW: u64 = 1_800_000_000;

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

#[test]
fn round_trip_returns_the_minted_claims() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let verifier = Verifier::new(ring.public_keys());
    let claims = verifier
        .verify(&minted.bearer, at(NOW + 10), &VerifyOptions::default())
        .unwrap();
    assert_eq!(claims, minted.claims);
    assert_eq!(claims.key_id, KeyId(1));
    assert_eq!(claims.token_id.as_str().len(), 128);
}

#[test]
fn expired_token_is_rejected() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(60)).unwrap();
    let verifier = Verifier::new(ring.public_keys());
    assert!(verifier
        .verify(&minted.bearer, at(NOW + 60), &VerifyOptions::default())
        .is_ok());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW + 61), &VerifyOptions::default()),
        Err(VerifyError::Expired)
    );
}

#[test]
fn tampered_token_is_rejected() {
    use base64::Engine;
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let engine = base64::engine::general_purpose::URL_SAFE;
    let mut bytes = engine.decode(&minted.bearer).unwrap();
    // Flip one bit in the middle of the serialized token (inside the signed block).
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = engine.encode(bytes);
    let verifier = Verifier::new(ring.public_keys());
    let err = verifier
        .verify(&tampered, at(NOW), &VerifyOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::BadSignature | VerifyError::Malformed),
        "{err:?}"
    );
}

#[test]
fn token_from_another_key_with_the_same_id_is_rejected() {
    let ring = KeyRing::generate();
    let forger = KeyRing::generate(); // also key id 1
    let forged = mint(forger.active(), input(3600)).unwrap();
    let verifier = Verifier::new(ring.public_keys());
    assert_eq!(
        verifier.verify(&forged.bearer, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn token_naming_an_unknown_key_id_is_rejected() {
    let ring = KeyRing::generate();
    let other = KeyRing::single(SigningKey::generate(KeyId(99)));
    let minted = mint(other.active(), input(3600)).unwrap();
    let verifier = Verifier::new(ring.public_keys());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn garbage_is_malformed() {
    let verifier = Verifier::new(KeyRing::generate().public_keys());
    for bad in ["", "not a token", "AAAA", &"A".repeat(20_000)] {
        assert_eq!(
            verifier.verify(bad, at(NOW), &VerifyOptions::default()),
            Err(VerifyError::Malformed),
            "{:.20}",
            bad
        );
    }
}

#[test]
fn audience_and_scope_requirements() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let verifier = Verifier::new(ring.public_keys());
    let ok = VerifyOptions::default()
        .audience("orders".parse().unwrap())
        .scope("orders:read".parse().unwrap());
    assert!(verifier.verify(&minted.bearer, at(NOW), &ok).is_ok());
    let wrong_aud = VerifyOptions::default().audience("payments".parse().unwrap());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &wrong_aud),
        Err(VerifyError::WrongAudience)
    );
    let missing = VerifyOptions::default().scope("orders:admin".parse().unwrap());
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &missing),
        Err(VerifyError::MissingScope)
    );
}

#[test]
fn revoked_ids_are_rejected() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let verifier = Verifier::new(ring.public_keys()).with_revoked([minted.claims.token_id.clone()]);
    assert_eq!(
        verifier.verify(&minted.bearer, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::Revoked)
    );
}

/// Appends a block a holder could add with any Biscuit library: valid until `until`.
fn attenuate(bearer: &str, ring: &KeyRing, until: u64) -> String {
    let root = *ring.public_keys().get(KeyId(1)).unwrap();
    let token = Biscuit::from_base64(bearer, root).unwrap();
    let mut limit = check(&[pred("time", &[var("t")])], CheckKind::One);
    limit.queries[0].expressions.push(Expression {
        ops: vec![
            Op::Value(var("t")),
            Op::Value(date(&at(until).to_system_time())),
            Op::Binary(Binary::LessOrEqual),
        ],
    });
    let block = BlockBuilder::new().check(limit).unwrap();
    token.append(block).unwrap().to_base64().unwrap()
}

#[test]
fn attenuated_token_keeps_its_id_and_its_checks_are_enforced() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let narrowed = attenuate(&minted.bearer, &ring, NOW + 100);
    let verifier = Verifier::new(ring.public_keys());
    let claims = verifier
        .verify(&narrowed, at(NOW + 50), &VerifyOptions::default())
        .unwrap();
    assert_eq!(
        claims.token_id, minted.claims.token_id,
        "derived tokens share the token id"
    );
    assert_eq!(
        verifier.verify(&narrowed, at(NOW + 101), &VerifyOptions::default()),
        Err(VerifyError::CheckFailed)
    );
    let revoked = Verifier::new(ring.public_keys()).with_revoked([minted.claims.token_id]);
    assert_eq!(
        revoked.verify(&narrowed, at(NOW + 50), &VerifyOptions::default()),
        Err(VerifyError::Revoked),
        "revoking the original revokes what was derived from it"
    );
}

#[test]
fn attenuation_block_cannot_inject_claims() {
    let ring = KeyRing::generate();
    let minted = mint(ring.active(), input(3600)).unwrap();
    let root = *ring.public_keys().get(KeyId(1)).unwrap();
    let token = Biscuit::from_base64(&minted.bearer, root).unwrap();
    let block = BlockBuilder::new()
        .code(r#"scope("orders:admin"); audience("payments"); client("root");"#)
        .unwrap();
    let bearer = token.append(block).unwrap().to_base64().unwrap();
    let claims = Verifier::new(ring.public_keys())
        .verify(&bearer, at(NOW), &VerifyOptions::default())
        .unwrap();
    assert_eq!(claims.client_id.as_str(), "billing");
    assert!(!claims.scopes.contains(&"orders:admin".parse().unwrap()));
    assert!(!claims.audiences.contains(&"payments".parse().unwrap()));
}

#[test]
fn key_ring_file_round_trips_and_rotation_keeps_old_tokens_valid() {
    let old = KeyRing::generate();
    let old_token = mint(old.active(), input(3600)).unwrap();
    // A file with the old key retired and a new active key 2.
    let new_key = SigningKey::generate(KeyId(2));
    let old_json: serde_json::Value = serde_json::from_str(&old.to_json()).unwrap();
    let new_json: serde_json::Value =
        serde_json::from_str(&KeyRing::single(new_key).to_json()).unwrap();
    let mut old_entry = old_json["keys"][0].clone();
    old_entry["active"] = false.into();
    let file = serde_json::json!({ "keys": [old_entry, new_json["keys"][0].clone()] });
    let ring = KeyRing::from_json(&file.to_string()).unwrap();
    assert_eq!(ring.active().id(), KeyId(2));
    let new_token = mint(ring.active(), input(3600)).unwrap();
    assert_eq!(new_token.claims.key_id, KeyId(2));
    let verifier = Verifier::new(ring.public_keys());
    assert!(verifier
        .verify(&old_token.bearer, at(NOW), &VerifyOptions::default())
        .is_ok());
    assert!(verifier
        .verify(&new_token.bearer, at(NOW), &VerifyOptions::default())
        .is_ok());
}

#[test]
fn key_file_errors_are_specific() {
    use tokener_core::token::KeyError;
    assert!(matches!(
        KeyRing::from_json("nope"),
        Err(KeyError::Syntax(_))
    ));
    assert_eq!(
        KeyRing::from_json(r#"{"keys":[]}"#).unwrap_err(),
        KeyError::ActiveCount { found: 0 }
    );
    assert_eq!(
        KeyRing::from_json(
            r#"{"keys":[{"id":3,"private_key":"ed25519-private/zz","active":true}]}"#
        )
        .unwrap_err(),
        KeyError::BadPrivateKey { id: 3 }
    );
}

#[test]
fn public_keys_parse_from_their_published_form() {
    let ring = KeyRing::generate();
    let public = ring.active().public();
    let text = public.to_string();
    assert!(text.starts_with("ed25519/"), "{text}");
    let parsed = parse_public_key(&text).unwrap();
    let set = PublicKeySet::new([(KeyId(1), parsed)]);
    let minted = mint(ring.active(), input(3600)).unwrap();
    assert!(Verifier::new(set)
        .verify(&minted.bearer, at(NOW), &VerifyOptions::default())
        .is_ok());
    // The bare hex form (`public_key_hex`, which some Biscuit libraries want) parses too.
    let other = KeyPair::new().public();
    assert_eq!(parse_public_key(&other.to_bytes_hex()).unwrap(), other);
    for bad in ["ed25519/zz", "", "secp256r1/00", &other.to_bytes_hex()[2..]] {
        assert!(parse_public_key(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_token_without_root_key_id_verifies_against_the_published_keys() {
    let old = KeyRing::generate();
    let ring = KeyRing::from_json(
        &KeyRing::generate()
            .to_json()
            .replace("\"id\": 1", "\"id\": 7"),
    )
    .unwrap();
    let minted = mint(ring.active(), input(3600)).unwrap();
    // What a library that drops the key id on attenuation sends back.
    let token = Biscuit::from_base64(&minted.bearer, ring.active().public()).unwrap();
    let mut builder = biscuit_auth::builder::BlockBuilder::new();
    builder = builder.check("check if time($t)").unwrap();
    let attenuated = token.append(builder).unwrap();
    let stripped = strip_root_key_id(&attenuated.to_base64().unwrap());
    let keys = PublicKeySet::new([
        (KeyId(3), old.active().public()),
        (KeyId(7), ring.active().public()),
    ]);
    let claims = Verifier::new(keys.clone())
        .verify(&stripped, at(NOW), &VerifyOptions::default())
        .unwrap();
    assert_eq!(claims.key_id, KeyId(7));
    assert_eq!(claims.token_id, minted.claims.token_id);
    // Signed by a key that is not published: still refused.
    let forged_ring = KeyRing::generate();
    let forged = mint(forged_ring.active(), input(3600)).unwrap();
    let forged = strip_root_key_id(&forged.bearer);
    assert_eq!(
        Verifier::new(keys).verify(&forged, at(NOW), &VerifyOptions::default()),
        Err(VerifyError::BadSignature)
    );
}

/// The token re-encoded without its `root_key_id` (protobuf field 1 of the outer message).
fn strip_root_key_id(bearer: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE;
    let bytes = engine.decode(bearer).unwrap();
    // Field 1, varint: tag byte 0x08 then the varint; the token starts with it when present.
    assert_eq!(bytes[0], 0x08, "token starts with root_key_id");
    let mut i = 1;
    while bytes[i] & 0x80 != 0 {
        i += 1;
    }
    engine.encode(&bytes[i + 1..])
}
