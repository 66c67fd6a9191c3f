//! Client secrets: generated with 256 bits of entropy, stored only as SHA-256, compared in
//! constant time.
//!
//! A plain SHA-256 (no salt, no stretching) is enough for server-generated secrets: with 256
//! bits of entropy there is nothing to brute-force. User-supplied (bootstrap) secrets are held
//! to at least 32 characters for the same reason.

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A client secret in clear. Never logged: `Debug` is redacted and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("client secret must be at least {min} characters")]
    TooShort { min: usize },
    #[error("client secret must be at most {max} characters")]
    TooLong { max: usize },
    #[error("client secret may only hold A-Z a-z 0-9 - . _ ~")]
    BadCharacter,
}

impl ClientSecret {
    /// The shortest secret a user may supply.
    pub const MIN_LEN: usize = 32;
    pub const MAX_LEN: usize = 256;

    /// A fresh secret: 32 random bytes from the OS, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A secret chosen by a user (the bootstrap client): long enough, and made of URL-unreserved
    /// characters only, so it reads the same whether or not a client form-encodes it in HTTP
    /// Basic (RFC 6749 §2.3.1 says to; many clients do not).
    pub fn parse(value: impl Into<String>) -> Result<Self, SecretError> {
        let value = value.into();
        if value.len() < Self::MIN_LEN {
            return Err(SecretError::TooShort { min: Self::MIN_LEN });
        }
        if value.len() > Self::MAX_LEN {
            return Err(SecretError::TooLong { max: Self::MAX_LEN });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(SecretError::BadCharacter);
        }
        Ok(Self(value))
    }

    /// A secret presented by a caller, to be checked against a stored hash. Not length-checked:
    /// a wrong secret is simply one that does not match.
    pub fn presented(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear text, for handing back to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// The SHA-256 of a client secret: what is stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `secret` hashes to this value; constant time in the compared bytes.
    pub fn matches(&self, secret: &ClientSecret) -> bool {
        secret.hash().0.ct_eq(&self.0).into()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

impl TryFrom<String> for SecretHash {
    type Error = hex::FromHexError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes)?;
        Ok(Self(bytes))
    }
}

impl From<SecretHash> for String {
    fn from(value: SecretHash) -> String {
        value.to_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_43_chars() {
        let a = ClientSecret::generate();
        let b = ClientSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }

    #[test]
    fn user_secrets_must_be_long_and_printable() {
        assert_eq!(
            ClientSecret::parse("short"),
            Err(SecretError::TooShort { min: 32 })
        );
        assert!(ClientSecret::parse("x".repeat(32)).is_ok());
        assert_eq!(
            ClientSecret::parse(format!("{} ", "x".repeat(32))),
            Err(SecretError::BadCharacter)
        );
        assert!(ClientSecret::parse("x".repeat(257)).is_err());
    }

    #[test]
    fn hash_matches_only_its_secret() {
        let s = ClientSecret::generate();
        let h = s.hash();
        assert!(h.matches(&s));
        assert!(!h.matches(&ClientSecret::presented("nope")));
        let round: SecretHash = SecretHash::try_from(String::from(h.clone())).unwrap();
        assert_eq!(round, h);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = ClientSecret::parse("y".repeat(40)).unwrap();
        assert!(!format!("{s:?}").contains("yyyy"));
        assert!(!format!("{:?}", s.hash()).contains(&s.hash().to_hex()));
    }
}
