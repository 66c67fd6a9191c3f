//! The BSON documents as stored, and their conversion to and from domain types.
//!
//! Documents hold plain strings, integers and dates; the domain types' parsers run on the way
//! back, so a document someone edited into nonsense surfaces as `StoreError::Corrupt` instead of
//! an invalid value travelling on. Field names are the collection schema: change them only with
//! a migration.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tokener_core::{
    Audience, Client, ClientId, ClientKeys, Fingerprint, KeyId, Revocation, Scope, SecretHash,
    StoreError, Timestamp, TokenClaims, TokenFormat, TokenId, TokenRecord, Ttl,
};

/// Collection of [`TokenDocument`]s.
pub(crate) const TOKENS: &str = "tokens";
/// Collection of [`ClientDocument`]s.
pub(crate) const CLIENTS: &str = "clients";

/// Field names used in queries, updates and indexes.
pub(crate) mod fields {
    pub(crate) const ID: &str = "_id";
    pub(crate) const CLIENT_ID: &str = "client_id";
    pub(crate) const EXPIRES_AT: &str = "expires_at";
    pub(crate) const REVOKED_AT: &str = "revoked_at";
}

/// The record of an issued token, keyed by token id. Holds the bearer token's SHA-256
/// fingerprint, never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TokenDocument {
    /// The token id (128 lowercase hex digits).
    #[serde(rename = "_id")]
    pub(crate) id: String,
    pub(crate) client_id: String,
    /// Missing reads as empty, so documents whose writer dropped empty arrays (FerretDB 1.x's
    /// `$setOnInsert` does) still decode.
    #[serde(default)]
    pub(crate) audiences: Vec<String>,
    /// Missing reads as empty, as for `audiences`.
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    pub(crate) issued_at: DateTime,
    pub(crate) expires_at: DateTime,
    /// Absent (or null) while the token is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revoked_at: Option<DateTime>,
    /// A `u32` stored as a 64-bit integer: BSON has no unsigned 32-bit type.
    pub(crate) key_id: i64,
    /// SHA-256 of the bearer token, 64 lowercase hex digits.
    pub(crate) fingerprint: String,
}

/// The projection of a token document that revocation listings need.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevocationDocument {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    pub(crate) revoked_at: DateTime,
    pub(crate) expires_at: DateTime,
}

/// The projection of a token document that revocation checks need.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevokedAtDocument {
    #[serde(default)]
    pub(crate) revoked_at: Option<DateTime>,
}

/// A registered client, keyed by client id. Holds the SHA-256 of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClientDocument {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    /// SHA-256 of the client secret, 64 lowercase hex digits.
    pub(crate) secret_hash: String,
    /// The public JWK set of a `private_key_jwt` client (validated again when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jwks: Option<ClientKeys>,
    #[serde(default)]
    pub(crate) allowed_scopes: Vec<String>,
    #[serde(default)]
    pub(crate) allowed_audiences: Vec<String>,
    /// Absent when the deployment's bound applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_ttl_seconds: Option<i64>,
    /// `biscuit` or `jwt`; absent (documents from before formats existed) is `biscuit`.
    #[serde(default, skip_serializing_if = "TokenFormat::is_default")]
    pub(crate) token_format: TokenFormat,
    pub(crate) disabled: bool,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
}

/// A timestamp as a BSON date (milliseconds since the epoch). Saturates beyond the year
/// 292 million, which no real timestamp reaches.
pub(crate) fn to_date(t: Timestamp) -> DateTime {
    DateTime::from_millis(i64::try_from(t.unix_millis()).unwrap_or(i64::MAX))
}

/// A BSON date as a timestamp, to the millisecond (revocation times keep theirs).
pub(crate) fn from_date(d: DateTime, what: &str, id: &str) -> Result<Timestamp, StoreError> {
    u64::try_from(d.timestamp_millis())
        .map(Timestamp::from_unix_millis)
        .map_err(|_| corrupt(what, id, "is before 1970"))
}

fn corrupt(what: &str, id: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(format!("{what} of {id} {problem}"))
}

fn parse_set<T: Ord, E: std::fmt::Display>(
    values: Vec<String>,
    parse: impl Fn(String) -> Result<T, E>,
    what: &str,
    id: &str,
) -> Result<BTreeSet<T>, StoreError> {
    values
        .into_iter()
        .map(|v| parse(v).map_err(|e| corrupt(what, id, format_args!("is invalid: {e}"))))
        .collect()
}

impl TokenDocument {
    pub(crate) fn from_record(record: &TokenRecord) -> Self {
        let claims = &record.claims;
        Self {
            id: claims.token_id.to_string(),
            client_id: claims.client_id.to_string(),
            audiences: claims.audiences.iter().map(ToString::to_string).collect(),
            scopes: claims.scopes.iter().map(ToString::to_string).collect(),
            issued_at: to_date(claims.issued_at),
            expires_at: to_date(claims.expires_at),
            revoked_at: record.revoked_at.map(to_date),
            key_id: i64::from(claims.key_id.0),
            fingerprint: record.fingerprint.to_hex(),
        }
    }

    pub(crate) fn into_record(self) -> Result<TokenRecord, StoreError> {
        let id = self.id;
        let token_id = TokenId::parse(id.clone())
            .map_err(|e| StoreError::corrupt(format!("stored token id is invalid: {e}")))?;
        let client_id = ClientId::parse(self.client_id)
            .map_err(|e| corrupt("client_id", &id, format_args!("is invalid: {e}")))?;
        let key_id = u32::try_from(self.key_id)
            .map(KeyId)
            .map_err(|_| corrupt("key_id", &id, "is out of range"))?;
        let fingerprint = Fingerprint::try_from(self.fingerprint)
            .map_err(|_| corrupt("fingerprint", &id, "is not 64 hex digits"))?;
        Ok(TokenRecord {
            claims: TokenClaims {
                audiences: parse_set(self.audiences, Audience::parse, "an audience", &id)?,
                scopes: parse_set(self.scopes, Scope::parse, "a scope", &id)?,
                issued_at: from_date(self.issued_at, "issued_at", &id)?,
                expires_at: from_date(self.expires_at, "expires_at", &id)?,
                token_id,
                client_id,
                key_id,
            },
            fingerprint,
            revoked_at: self
                .revoked_at
                .map(|d| from_date(d, "revoked_at", &id))
                .transpose()?,
        })
    }
}

impl RevocationDocument {
    pub(crate) fn into_revocation(self) -> Result<Revocation, StoreError> {
        let id = self.id;
        Ok(Revocation {
            revoked_at: from_date(self.revoked_at, "revoked_at", &id)?,
            expires_at: from_date(self.expires_at, "expires_at", &id)?,
            token_id: TokenId::parse(id)
                .map_err(|e| StoreError::corrupt(format!("stored token id is invalid: {e}")))?,
        })
    }
}

impl ClientDocument {
    pub(crate) fn from_client(client: &Client) -> Self {
        Self {
            id: client.id.to_string(),
            secret_hash: client.secret_hash.to_hex(),
            jwks: client.jwks.clone(),
            allowed_scopes: client
                .allowed_scopes
                .iter()
                .map(ToString::to_string)
                .collect(),
            allowed_audiences: client
                .allowed_audiences
                .iter()
                .map(ToString::to_string)
                .collect(),
            // Ttl is at most a year in seconds, far inside i64.
            max_ttl_seconds: client
                .max_ttl
                .map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
            token_format: client.token_format,
            disabled: client.disabled,
            created_at: to_date(client.created_at),
            updated_at: to_date(client.updated_at),
        }
    }

    pub(crate) fn into_client(self) -> Result<Client, StoreError> {
        let id = self.id;
        let client_id = ClientId::parse(id.clone())
            .map_err(|e| StoreError::corrupt(format!("stored client id is invalid: {e}")))?;
        // The hash's value stays out of the message, like everywhere else.
        let secret_hash = SecretHash::try_from(self.secret_hash)
            .map_err(|_| corrupt("secret_hash", &id, "is not 64 hex digits"))?;
        let max_ttl = self
            .max_ttl_seconds
            .map(|s| {
                u64::try_from(s)
                    .ok()
                    .and_then(|s| Ttl::from_secs(s).ok())
                    .ok_or_else(|| corrupt("max_ttl_seconds", &id, "is out of range"))
            })
            .transpose()?;
        Ok(Client {
            allowed_scopes: parse_set(self.allowed_scopes, Scope::parse, "an allowed scope", &id)?,
            allowed_audiences: parse_set(
                self.allowed_audiences,
                Audience::parse,
                "an allowed audience",
                &id,
            )?,
            max_ttl,
            token_format: self.token_format,
            disabled: self.disabled,
            created_at: from_date(self.created_at, "created_at", &id)?,
            updated_at: from_date(self.updated_at, "updated_at", &id)?,
            id: client_id,
            secret_hash,
            jwks: self.jwks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TokenRecord {
        TokenRecord {
            claims: TokenClaims {
                token_id: TokenId::parse("ab".repeat(64)).unwrap(),
                client_id: ClientId::parse("billing").unwrap(),
                audiences: BTreeSet::from([Audience::parse("orders").unwrap()]),
                scopes: BTreeSet::from([Scope::parse("orders:read").unwrap()]),
                issued_at: Timestamp::from_unix(1_800_000_000),
                expires_at: Timestamp::from_unix(1_800_003_600),
                key_id: KeyId(u32::MAX),
            },
            fingerprint: Fingerprint::of("bearer"),
            revoked_at: Some(Timestamp::from_unix(1_800_000_100)),
        }
    }

    #[test]
    fn token_documents_round_trip() {
        let record = record();
        let doc = TokenDocument::from_record(&record);
        assert_eq!(doc.key_id, i64::from(u32::MAX));
        assert_eq!(doc.expires_at.timestamp_millis(), 1_800_003_600_000);
        assert_eq!(doc.into_record().unwrap(), record);
    }

    #[test]
    fn bad_fields_are_corrupt_without_echoing_values() {
        let mut doc = TokenDocument::from_record(&record());
        doc.fingerprint = "zz-not-hex".into();
        let err = doc.into_record().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("zz-not-hex"));

        let mut doc = TokenDocument::from_record(&record());
        doc.key_id = -1;
        assert!(matches!(doc.into_record(), Err(StoreError::Corrupt { .. })));

        let mut doc = TokenDocument::from_record(&record());
        doc.issued_at = DateTime::from_millis(-5_000);
        assert!(matches!(doc.into_record(), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn dates_keep_their_milliseconds() {
        let t = from_date(DateTime::from_millis(1_999), "x", "y").unwrap();
        assert_eq!(t, Timestamp::from_unix_millis(1_999));
        assert_eq!(to_date(t), DateTime::from_millis(1_999));
    }
}
