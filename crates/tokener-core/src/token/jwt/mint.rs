//! Minting a JWT access token.
//!
//! The JWS is assembled here rather than by `jsonwebtoken::encode`, which parses the PKCS#8
//! key and opens the system random source on every call: about as much work again as the
//! signature. The form is fixed (one header per key, claims from validated newtypes) and
//! `jsonwebtoken` reads every token back in the tests.

use super::claims::JwtClaims;
use super::{ACCESS_TOKEN_TYPE, JWT_ALGORITHM};
use crate::domain::TokenId;
use crate::token::keys::SigningKey;
use crate::token::{MintError, MintInput, Minted};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// Signs a JWT for `input` with the ES256 key of `key`, issued by `issuer`.
pub fn mint_jwt(key: &SigningKey, input: MintInput, issuer: &str) -> Result<Minted, MintError> {
    let input = input.in_whole_seconds();
    let token_id = random_token_id();
    let claims = JwtClaims {
        iss: issuer.to_string(),
        sub: input.client_id.as_str().to_string(),
        client_id: input.client_id.as_str().to_string(),
        aud: input
            .audiences
            .iter()
            .map(|a| a.as_str().to_string())
            .collect(),
        exp: input.expires_at.unix(),
        iat: input.issued_at.unix(),
        jti: token_id.as_str().to_string(),
        scope: input
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let header = serde_json::json!({
        "alg": JWT_ALGORITHM,
        "typ": ACCESS_TOKEN_TYPE,
        "kid": key.id().0.to_string(),
    });
    let mut bearer = format!("{}.{}", base64_json(&header), base64_json(&claims));
    let signature = key
        .jwt()
        .sign(bearer.as_bytes())
        .ok_or_else(|| MintError::new("the ES256 signature failed"))?;
    bearer.push('.');
    bearer.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(Minted::new(bearer, token_id, input, key.id()))
}

/// A fresh token id: 64 random bytes, the length of a Biscuit's revocation id.
fn random_token_id() -> TokenId {
    let mut bytes = [0u8; TokenId::HEX_LEN / 2];
    rand::thread_rng().fill_bytes(&mut bytes);
    TokenId::from_revocation_id(&bytes).expect("hex of the right length is a token id")
}

/// A JWS part: JSON, base64url without padding.
fn base64_json(value: &impl serde::Serialize) -> String {
    // Strings and numbers only: serializing cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}
