//! The public keys a client authenticates with instead of a secret (`private_key_jwt`,
//! RFC 7523 §2.2): a JWK set (RFC 7517) narrowed to what Tokener verifies, ES256 (P-256) and
//! EdDSA (Ed25519) signature keys.
//!
//! Keys are checked when registered as far as a JSON Schema can describe them (the admin
//! API's contract must refuse nothing its schema allows): the members, their curve, 32-byte
//! coordinates in canonical base64url, no private part. Whether a coordinate pair is a point
//! of the curve is not: such a key is kept and never verifies an assertion (`ring` refuses
//! it when verifying).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// At most this many keys per client: room for a rotation (old, new) and more, while a
/// signature check tries every candidate key.
pub const MAX_CLIENT_KEYS: usize = 10;
/// The longest `kid` accepted, in characters.
pub const MAX_KID_LEN: usize = 128;

/// A signature algorithm of client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    Es256,
    EdDsa,
}

impl AssertionAlgorithm {
    /// Every algorithm accepted, as metadata lists them.
    pub const ALL: [Self; 2] = [Self::Es256, Self::EdDsa];

    /// The JOSE name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// One public signature key of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    pub kid: Option<String>,
    pub public: PublicKey,
}

/// The key material, base64url without padding as in the JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    P256 { x: String, y: String },
    Ed25519 { x: String },
}

impl ClientKey {
    pub fn algorithm(&self) -> AssertionAlgorithm {
        match self.public {
            PublicKey::P256 { .. } => AssertionAlgorithm::Es256,
            PublicKey::Ed25519 { .. } => AssertionAlgorithm::EdDsa,
        }
    }
}

/// A client's registered keys: 1 to [`MAX_CLIENT_KEYS`] valid public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JwkSet", into = "JwkSet")]
pub struct ClientKeys(Vec<ClientKey>);

/// Why a JWK set was refused. The messages name the key by its position, never echo material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientKeysError {
    #[error("jwks must hold between 1 and {MAX_CLIENT_KEYS} keys")]
    Count,
    #[error("jwks key {index}: {problem}")]
    Key { index: usize, problem: &'static str },
}

impl ClientKeys {
    pub fn keys(&self) -> &[ClientKey] {
        &self.0
    }

    /// The keys an assertion with this header may be signed by: those of its algorithm, and
    /// of its `kid` when it names one.
    pub fn candidates<'a>(
        &'a self,
        algorithm: AssertionAlgorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ClientKey> + 'a {
        self.0.iter().filter(move |key| {
            key.algorithm() == algorithm && kid.is_none_or(|kid| key.kid.as_deref() == Some(kid))
        })
    }
}

/// A JWK set as JSON carries it (RFC 7517 §5), with the members Tokener reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// One JWK as JSON carries it. Only the members Tokener uses are accepted (a member it would
/// ignore could be one its sender relies on); `d` is named, to refuse a private key clearly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Read only to refuse it: a private key must never be sent to the server.
    #[serde(default, skip_serializing)]
    pub d: Option<serde::de::IgnoredAny>,
}

impl TryFrom<JwkSet> for ClientKeys {
    type Error = ClientKeysError;

    fn try_from(set: JwkSet) -> Result<Self, Self::Error> {
        if set.keys.is_empty() || set.keys.len() > MAX_CLIENT_KEYS {
            return Err(ClientKeysError::Count);
        }
        let keys = set
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, jwk)| {
                parse_key(jwk).map_err(|problem| ClientKeysError::Key { index, problem })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(keys))
    }
}

impl From<ClientKeys> for JwkSet {
    fn from(keys: ClientKeys) -> Self {
        let keys = keys
            .0
            .into_iter()
            .map(|key| {
                let alg = Some(key.algorithm().name().to_string());
                let (kty, crv, x, y) = match key.public {
                    PublicKey::P256 { x, y } => ("EC", "P-256", x, Some(y)),
                    PublicKey::Ed25519 { x } => ("OKP", "Ed25519", x, None),
                };
                Jwk {
                    kty: kty.into(),
                    crv: Some(crv.into()),
                    x: Some(x),
                    y,
                    kid: key.kid,
                    alg,
                    use_: Some("sig".into()),
                    d: None,
                }
            })
            .collect();
        JwkSet { keys }
    }
}

fn parse_key(jwk: Jwk) -> Result<ClientKey, &'static str> {
    if jwk.d.is_some() {
        return Err("holds a private key (d); register the public key only");
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use must be sig");
    }
    if let Some(kid) = &jwk.kid {
        if kid.is_empty() || kid.chars().count() > MAX_KID_LEN {
            return Err("kid must be 1 to 128 characters");
        }
    }
    let kind = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("EC", Some("P-256")) => AssertionAlgorithm::Es256,
        ("OKP", Some("Ed25519")) => AssertionAlgorithm::EdDsa,
        _ => return Err("must be an EC P-256 or an OKP Ed25519 key"),
    };
    let x = jwk.x.ok_or("x is missing")?;
    let public = match kind {
        AssertionAlgorithm::Es256 => {
            let y = jwk.y.ok_or("y is missing")?;
            coordinate(&x)?;
            coordinate(&y)?;
            PublicKey::P256 { x, y }
        }
        AssertionAlgorithm::EdDsa => {
            if jwk.y.is_some() {
                return Err("an Ed25519 key has no y");
            }
            coordinate(&x)?;
            PublicKey::Ed25519 { x }
        }
    };
    let key = ClientKey {
        kid: jwk.kid,
        public,
    };
    if jwk
        .alg
        .as_deref()
        .is_some_and(|a| a != key.algorithm().name())
    {
        return Err("alg does not match the key (ES256 for P-256, EdDSA for Ed25519)");
    }
    Ok(key)
}

/// A 32-byte value in unpadded, canonical base64url (43 characters, the last one carrying no
/// stray bits): both coordinates of P-256 and an Ed25519 key.
fn coordinate(text: &str) -> Result<[u8; 32], &'static str> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("x and y must be 32 bytes in unpadded base64url")
}

/// The pattern of [`coordinate`], for the API documentation.
pub const COORDINATE_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // RFC 8037 §A.2's Ed25519 public key and RFC 7515 §A.3's P-256 public key.
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn parse(value: serde_json::Value) -> Result<ClientKeys, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_p256_and_ed25519_public_keys_and_writes_them_back_as_jwks() {
        let keys = parse(json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "a"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X}
        ]}))
        .unwrap();
        assert_eq!(keys.keys()[0].algorithm(), AssertionAlgorithm::Es256);
        assert_eq!(keys.keys()[1].algorithm(), AssertionAlgorithm::EdDsa);
        let back = serde_json::to_value(&keys).unwrap();
        assert_eq!(back["keys"][0]["alg"], "ES256");
        assert_eq!(back["keys"][1]["use"], "sig");
        assert_eq!(parse(back).unwrap(), keys);
        assert_eq!(
            keys.candidates(AssertionAlgorithm::Es256, Some("a"))
                .count(),
            1
        );
        assert_eq!(
            keys.candidates(AssertionAlgorithm::Es256, Some("b"))
                .count(),
            0
        );
        assert_eq!(keys.candidates(AssertionAlgorithm::EdDsa, None).count(), 1);
    }

    #[test]
    fn refuses_what_cannot_verify_an_assertion() {
        let refused = [
            (json!({"keys": []}), "between 1 and"),
            (
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED_X, "d": "secret"}]}),
                "private key",
            ),
            (
                json!({"keys": [{"kty": "RSA", "x": ED_X}]}),
                "P-256 or an OKP",
            ),
            (
                json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
                "unknown field",
            ),
            (
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}),
                "32 bytes",
            ),
            (
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED_X, "alg": "ES256"}]}),
                "alg does not match",
            ),
            (
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED_X, "use": "enc"}]}),
                "use must be sig",
            ),
            (
                // The right length, but a last character with stray bits: not canonical.
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
                    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"}]}),
                "32 bytes",
            ),
        ];
        for (value, expected) in refused {
            let error = parse(value.clone()).unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
        let eleven = json!({"keys": vec![json!({"kty": "OKP", "crv": "Ed25519", "x": ED_X}); 11]});
        assert!(parse(eleven).unwrap_err().contains("between 1 and"));
    }

    #[test]
    fn the_documented_pattern_is_what_decodes() {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last_allowed = &COORDINATE_PATTERN[COORDINATE_PATTERN.len() - 19..][1..17];
        for last in alphabet.chars() {
            let text = format!("{}{last}", &ED_X[..42]);
            assert_eq!(
                coordinate(&text).is_ok(),
                last_allowed.contains(last),
                "{text}"
            );
        }
    }
}
