//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, as OpenID Connect Core §9
//! profiles it): the client signs a short-lived JWT with a key whose public half it
//! registered, and each assertion is accepted once.
//!
//! Checks, in order: the assertion's form and claims (before any key is touched, so a
//! malformed one costs nothing), then its signature against the client's keys, then its `jti`
//! against the replay cache (only a verified assertion is recorded, so nobody can spend
//! another client's assertion ids).

use crate::domain::client_keys::PublicKey;
use crate::domain::{AssertionAlgorithm, Client, ClientId, ClientKeys, Clock};
use crate::ports::{ReplayCache, StoreError};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion's `exp` may be: a replayable credential must not live long.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 300;
/// Clock skew tolerated between the client and Tokener, on `exp`, `nbf` and `iat`.
pub const CLOCK_LEEWAY_SECS: u64 = 30;
/// The longest assertion read; real ones are a few hundred bytes.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// The longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;

/// Why an assertion was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// Wrong before any client or key is consulted; the reason can be told to the caller
    /// without revealing anything about a client.
    #[error("client_assertion {0}")]
    Invalid(&'static str),
    /// Unknown or disabled client, a client without keys, or a signature none of its keys
    /// verifies: one answer, so callers cannot probe which.
    #[error("invalid client credentials")]
    Refused,
    /// The assertion was already used.
    #[error("client_assertion was already used")]
    Replayed,
    /// The replay cache could not be asked: refused, since a replay cannot be ruled out.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An assertion as presented, with the claims read before its signature is checked.
pub struct ClientAssertion {
    text: String,
    algorithm: AssertionAlgorithm,
    kid: Option<String>,
    claims: Claims,
    client: ClientId,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audiences,
    exp: f64,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    jti: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audiences {
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Self::One(aud) => accepted.contains(aud),
            Self::Many(auds) => auds.iter().any(|aud| accepted.contains(aud)),
        }
    }
}

impl ClientAssertion {
    /// Reads an assertion's header and claims, trusting nothing in them yet: the client it
    /// names (`sub`) tells which keys must verify it.
    pub fn parse(text: &str) -> Result<Self, AssertionError> {
        if text.len() > MAX_ASSERTION_LEN {
            return Err(AssertionError::Invalid("is too long"));
        }
        let header = jsonwebtoken::decode_header(text)
            .map_err(|_| AssertionError::Invalid("is not a signed JWT"))?;
        let algorithm = match header.alg {
            Algorithm::ES256 => AssertionAlgorithm::Es256,
            Algorithm::EdDSA => AssertionAlgorithm::EdDsa,
            _ => {
                return Err(AssertionError::Invalid(
                    "must be signed with ES256 or EdDSA",
                ))
            }
        };
        let mut unverified = claims_unchecked(header.alg);
        unverified.insecure_disable_signature_validation();
        let claims: Claims =
            jsonwebtoken::decode(text, &DecodingKey::from_secret(&[]), &unverified)
                .map_err(|_| AssertionError::Invalid("must carry iss, sub, aud, exp and jti"))?
                .claims;
        if claims.iss != claims.sub {
            return Err(AssertionError::Invalid(
                "iss and sub must both be the client id",
            ));
        }
        let client = ClientId::parse(claims.sub.clone())
            .map_err(|_| AssertionError::Invalid("sub is not a client id"))?;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(AssertionError::Invalid("jti must be 1 to 256 characters"));
        }
        Ok(Self {
            text: text.to_string(),
            algorithm,
            kid: header.kid,
            claims,
            client,
        })
    }

    /// The client the assertion claims to come from (not verified yet).
    pub fn client(&self) -> &ClientId {
        &self.client
    }
}

/// Verifies assertions and remembers their ids.
pub struct AssertionVerifier<R> {
    replay: R,
    clock: Arc<dyn Clock>,
    /// Checked against when the client is unknown or has no keys, so that costs what a wrong
    /// signature costs.
    decoy: ClientKeys,
}

impl<R: ReplayCache> AssertionVerifier<R> {
    pub fn new(replay: R, clock: Arc<dyn Clock>) -> Self {
        // One key of each algorithm, the examples of RFC 8037 §A.2 and RFC 7515 §A.3: their
        // private halves are published, but a decoy's answer is never used.
        let decoy = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "EC", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}))
        .expect("the decoy key is valid");
        Self {
            replay,
            clock,
            decoy,
        }
    }

    /// The client, if `assertion` is a fresh assertion for one of `audiences` (the token
    /// endpoint's URL, the issuer, the endpoint called), signed by one of `client`'s keys,
    /// and never seen before. `client` is what the registry holds for
    /// [`ClientAssertion::client`].
    pub async fn authenticate(
        &self,
        client: Option<Client>,
        assertion: &ClientAssertion,
        audiences: &[String],
    ) -> Result<Client, AssertionError> {
        let claims = &assertion.claims;
        let now = self.clock.now().unix() as f64;
        let leeway = CLOCK_LEEWAY_SECS as f64;
        if claims.exp + leeway <= now {
            return Err(AssertionError::Invalid("has expired"));
        }
        if claims.exp > now + (MAX_ASSERTION_LIFETIME_SECS + CLOCK_LEEWAY_SECS) as f64 {
            return Err(AssertionError::Invalid(
                "exp must be at most 300 seconds ahead",
            ));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + leeway)
            || claims.iat.is_some_and(|iat| iat > now + leeway)
        {
            return Err(AssertionError::Invalid("is not valid yet (nbf or iat)"));
        }
        if !claims.aud.contains_any(audiences) {
            return Err(AssertionError::Invalid(
                "aud must name the token endpoint or the issuer",
            ));
        }
        let client = client.filter(|c| !c.disabled && c.jwks.is_some());
        let keys = client
            .as_ref()
            .and_then(|c| c.jwks.as_ref())
            .unwrap_or(&self.decoy);
        let verified = verify_signature(keys, assertion);
        let Some(client) = client.filter(|_| verified) else {
            return Err(AssertionError::Refused);
        };
        let keep = Duration::from_secs_f64((claims.exp + leeway - now).max(1.0));
        let key = format!(
            "{}:{}",
            client.id,
            hex::encode(Sha256::digest(claims.jti.as_bytes()))
        );
        if !self.replay.first_use(&key, keep).await? {
            return Err(AssertionError::Replayed);
        }
        Ok(client)
    }
}

/// The JOSE algorithm of jsonwebtoken for `algorithm`.
fn jose_algorithm(algorithm: AssertionAlgorithm) -> Algorithm {
    match algorithm {
        AssertionAlgorithm::Es256 => Algorithm::ES256,
        AssertionAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

/// jsonwebtoken's checks for `algorithm` with its claim checks off: Tokener checks the claims
/// itself, on its own clock, before any key is touched.
fn claims_unchecked(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation
}

/// Whether one of the keys of the assertion's algorithm (and `kid`, when it names one)
/// verifies its signature.
fn verify_signature(keys: &ClientKeys, assertion: &ClientAssertion) -> bool {
    let validation = claims_unchecked(jose_algorithm(assertion.algorithm));
    keys.candidates(assertion.algorithm, assertion.kid.as_deref())
        .any(|key| {
            let decoding = match &key.public {
                PublicKey::P256 { x, y } => DecodingKey::from_ec_components(x, y),
                PublicKey::Ed25519 { x } => DecodingKey::from_ed_components(x),
            };
            decoding.is_ok_and(|decoding| {
                jsonwebtoken::decode::<serde::de::IgnoredAny>(
                    &assertion.text,
                    &decoding,
                    &validation,
                )
                .is_ok()
            })
        })
}

#[cfg(feature = "assertion-signer")]
pub mod signer;
