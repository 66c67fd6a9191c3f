//! Verifying a JWT access token: the header first (`alg`, `typ`, `kid`), then the signature
//! with the key the `kid` names, then the claims into [`TokenClaims`]. Expiry, revocation and
//! the verifier's options are judged by the caller, as for a Biscuit.

use super::claims::JwtClaims;
use super::ACCESS_TOKEN_TYPE;
use crate::domain::{Audience, ClientId, KeyId, Scope, Timestamp, TokenClaims, TokenId};
use crate::token::{PublicKeySet, VerifyError};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Whether a bearer string is in the JWS compact form (a Biscuit's base64url has no dot).
pub fn is_jwt(bearer: &str) -> bool {
    bearer.contains('.')
}

/// Checks the signature of a JWT against the key its `kid` names, and reads its claims.
pub fn verify_jwt(keys: &PublicKeySet, bearer: &str) -> Result<TokenClaims, VerifyError> {
    let header = jsonwebtoken::decode_header(bearer).map_err(|_| VerifyError::Malformed)?;
    // Only ES256: `alg: none`, HMAC with a public key as secret and every other confusion are
    // refused before any key is looked at.
    if header.alg != Algorithm::ES256 || !access_token_type(header.typ.as_deref()) {
        return Err(VerifyError::Malformed);
    }
    let key_id = header
        .kid
        .as_deref()
        .and_then(|kid| kid.parse().ok())
        .map(KeyId)
        .ok_or(VerifyError::Malformed)?;
    let key = keys.jwt(key_id).ok_or(VerifyError::UnknownKey)?;
    let data = jsonwebtoken::decode::<JwtClaims>(bearer, key.decoding(), validation()).map_err(
        |e| match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => VerifyError::BadSignature,
            _ => VerifyError::Malformed,
        },
    )?;
    read_claims(data.claims, key_id)
}

/// `at+jwt`, or its media type spelled out (RFC 9068 §2.1), in any case (RFC 7515 §4.1.9).
fn access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t == ACCESS_TOKEN_TYPE || t.strip_prefix("application/") == Some(ACCESS_TOKEN_TYPE)
    })
}

/// Signature and algorithm only: time and audience are the caller's judgement, against its
/// own clock and options, the same as for a Biscuit.
fn validation() -> &'static Validation {
    static VALIDATION: OnceLock<Validation> = OnceLock::new();
    VALIDATION.get_or_init(|| {
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        v
    })
}

fn read_claims(claims: JwtClaims, key_id: KeyId) -> Result<TokenClaims, VerifyError> {
    let bad = |_| VerifyError::Malformed;
    let client_id = ClientId::parse(claims.client_id).map_err(bad)?;
    if claims.sub != client_id.as_str() {
        return Err(VerifyError::Malformed);
    }
    Ok(TokenClaims {
        token_id: TokenId::parse(claims.jti).map_err(bad)?,
        client_id,
        audiences: claims
            .aud
            .into_iter()
            .map(Audience::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(bad)?,
        scopes: claims
            .scope
            .split_whitespace()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(bad)?,
        issued_at: Timestamp::from_unix(claims.iat),
        expires_at: Timestamp::from_unix(claims.exp),
        key_id,
    })
}
