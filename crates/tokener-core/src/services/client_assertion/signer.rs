//! The client's side of `private_key_jwt` (feature `assertion-signer`): a generated key pair,
//! its public JWK set to register, and assertions signed with it. Tests and tools use it;
//! Tokener itself never holds a client's private key.

use crate::domain::AssertionAlgorithm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// A client's key pair.
pub struct AssertionSigner {
    algorithm: AssertionAlgorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl AssertionSigner {
    /// A fresh key pair of `algorithm`, named `kid`.
    pub fn generate(algorithm: AssertionAlgorithm, kid: &str) -> Self {
        let rng = SystemRandom::new();
        let (pkcs8, jwk) = match algorithm {
            AssertionAlgorithm::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .expect("the system random source works");
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .expect("a key ring just generated");
                // An uncompressed point: 0x04, then x and y of 32 bytes each.
                let point = pair.public_key().as_ref();
                let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
                (pkcs8, jwk)
            }
            AssertionAlgorithm::EdDsa => {
                let pkcs8 =
                    Ed25519KeyPair::generate_pkcs8(&rng).expect("the system random source works");
                let pair =
                    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a key ring just generated");
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
                (pkcs8, jwk)
            }
        };
        let encoding = match algorithm {
            AssertionAlgorithm::Es256 => EncodingKey::from_ec_der(pkcs8.as_ref()),
            AssertionAlgorithm::EdDsa => EncodingKey::from_ed_der(pkcs8.as_ref()),
        };
        Self {
            algorithm,
            kid: kid.to_string(),
            encoding,
            jwk,
        }
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// The JWK set to register the client with.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.public_jwk()]})
    }

    /// `claims` signed, with this key's `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(super::jose_algorithm(self.algorithm));
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("claims encode as JSON")
    }

    /// A well-formed assertion of `client` for `audience`, living `lifetime` seconds from
    /// `now` (Unix seconds), with a random `jti`.
    pub fn assertion(&self, client: &str, audience: &str, now: u64, lifetime: u64) -> String {
        self.sign(&json!({
            "iss": client, "sub": client, "aud": audience,
            "iat": now, "exp": now + lifetime,
            "jti": format!("{:032x}", rand::random::<u128>()),
        }))
    }
}
