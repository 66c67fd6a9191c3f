//! What a token says (its claims) and what is recorded about it (never the token itself).

use super::{Audience, ClientId, Scope, Timestamp, TokenId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

/// The id of a root signing key, carried in the token so verifiers pick the right public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The facts of a token's authority block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub token_id: TokenId,
    pub client_id: ClientId,
    pub audiences: BTreeSet<Audience>,
    pub scopes: BTreeSet<Scope>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub key_id: KeyId,
}

/// SHA-256 of the serialized bearer token: lets an operator match a token seen in the wild to
/// its record without the record holding anything that could be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(bearer: &str) -> Self {
        Self(Sha256::digest(bearer.as_bytes()).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = hex::FromHexError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes)?;
        Ok(Self(bytes))
    }
}

impl From<Fingerprint> for String {
    fn from(value: Fingerprint) -> String {
        value.to_hex()
    }
}

/// The permanent record of an issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub claims: TokenClaims,
    pub fingerprint: Fingerprint,
    pub revoked_at: Option<Timestamp>,
}

impl TokenRecord {
    pub fn id(&self) -> &TokenId {
        &self.claims.token_id
    }
}

/// A token just minted: the bearer string (handed to the client once, never stored) and its
/// record.
#[derive(Clone)]
pub struct IssuedToken {
    pub bearer: String,
    pub record: TokenRecord,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("bearer", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

/// One revoked token, as listed to offline verifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub token_id: TokenId,
    pub revoked_at: Timestamp,
    /// After this the token is dead anyway, so verifiers may forget the revocation.
    pub expires_at: Timestamp,
}
