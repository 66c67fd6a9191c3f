//! The ES256 key of a ring key: derivation, signing, the public key and its JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use jsonwebtoken::DecodingKey;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// The JOSE algorithm of Tokener's JWTs.
pub const JWT_ALGORITHM: &str = "ES256";

/// Domain separation: the same Ed25519 key derives no other key this way.
const HKDF_SALT: &[u8] = b"tokener/jwt-signing-key/v1";

/// The P-256 key pair a ring key signs JWTs with.
pub struct JwtSigningKey {
    pair: EcdsaKeyPair,
    public: JwtPublicKey,
    rng: SystemRandom,
}

impl JwtSigningKey {
    /// The key derived from `seed` (an Ed25519 private key). A derived scalar outside the
    /// curve's order (odds about 2^-32) is derived again under the next counter.
    pub(crate) fn derive(seed: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), seed);
        let secret = (0u8..=u8::MAX)
            .find_map(|counter| {
                let mut scalar = Zeroizing::new([0u8; 32]);
                hkdf.expand(&[b"ES256 ".as_slice(), &[counter]].concat(), &mut *scalar)
                    .ok()?;
                p256::SecretKey::from_slice(&*scalar).ok()
            })
            .expect("one of 256 derived scalars lies in the curve's order");
        let point = secret.public_key().to_sec1_bytes();
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &secret.to_bytes(),
            &point,
            &rng,
        )
        .expect("a key pair derived on the curve is valid");
        let public = JwtPublicKey::from_point(pair.public_key().as_ref())
            .expect("ring returns an uncompressed point");
        Self { pair, public, rng }
    }

    pub fn public(&self) -> &JwtPublicKey {
        &self.public
    }

    /// The signature of `message`, as JWS wants it: r and s, 32 bytes each.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.pair
            .sign(&self.rng, message)
            .ok()
            .map(|s| s.as_ref().to_vec())
    }
}

/// A P-256 public key that verifies JWTs.
#[derive(Clone)]
pub struct JwtPublicKey {
    /// SEC 1 uncompressed: 0x04, x, y.
    point: [u8; 65],
    decoding: DecodingKey,
}

impl JwtPublicKey {
    fn from_point(point: &[u8]) -> Option<Self> {
        let point: [u8; 65] = point.try_into().ok()?;
        if point[0] != 0x04 {
            return None;
        }
        // Checks the point is on the curve before anything is verified with it.
        p256::PublicKey::from_sec1_bytes(&point).ok()?;
        let decoding = DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .ok()?;
        Some(Self { point, decoding })
    }

    /// From a JWK's `x` and `y` (base64url): what `GET /keys` and `GET /jwks` publish.
    pub fn from_coordinates(x: &str, y: &str) -> Option<Self> {
        let x = URL_SAFE_NO_PAD.decode(x).ok()?;
        let y = URL_SAFE_NO_PAD.decode(y).ok()?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        Self::from_point(&[&[0x04][..], &x, &y].concat())
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The JWK of this key under the key id `kid` (RFC 7517, RFC 7518 §6.2).
    pub fn jwk(&self, kid: u32) -> Jwk {
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(&self.point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&self.point[33..]),
            kid: kid.to_string(),
            use_: "sig".into(),
            alg: JWT_ALGORITHM.into(),
        }
    }
}

impl PartialEq for JwtPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point
    }
}

impl Eq for JwtPublicKey {}

impl fmt::Debug for JwtPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtPublicKey({})", hex::encode(&self.point[1..9]))
    }
}

/// A public JWK of an ES256 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// The key id: the ring key's id, as in the JWT header's `kid`.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `ES256`.
    pub alg: String,
}

impl Jwk {
    /// The key, if this JWK is an ES256 key of the shape above.
    pub fn public_key(&self) -> Option<JwtPublicKey> {
        (self.kty == "EC" && self.crv == "P-256")
            .then(|| JwtPublicKey::from_coordinates(&self.x, &self.y))
            .flatten()
    }
}
