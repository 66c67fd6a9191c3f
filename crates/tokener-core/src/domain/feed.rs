//! The JSON form of a revocation feed entry: what `GET /revocations` lists and
//! `GET /revocations/stream` pushes, and what `tokener-verify` reads back. One codec, so the
//! server and its verifiers cannot disagree.
//!
//! ```json
//! {"kind":"token","token_id":"9f…","revoked_at":1800000000,"expires_at":1800003600,"cursor":"1800000000123.9f…"}
//! {"kind":"client","client_id":"billing","issued_before":1800000001,"revoked_at":1800000000,"expires_at":1800086401,"cursor":"1800000000456.c:billing"}
//! ```
//! Times are Unix seconds; `cursor` (milliseconds and key) orders the feed.

use super::{
    ClientId, ClientRevocation, FeedCursor, Revocation, RevocationEntry, Timestamp, TokenId,
};
use serde::{Deserialize, Serialize};

/// An entry as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireEntry {
    Token {
        token_id: String,
        revoked_at: u64,
        expires_at: u64,
        cursor: String,
    },
    Client {
        client_id: String,
        issued_before: u64,
        revoked_at: u64,
        expires_at: u64,
        cursor: String,
    },
}

/// A feed entry that does not read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a revocation feed entry: {0}")]
pub struct FeedError(String);

impl From<&RevocationEntry> for WireEntry {
    fn from(entry: &RevocationEntry) -> Self {
        let cursor = entry.cursor().to_string();
        match entry {
            RevocationEntry::Token(r) => Self::Token {
                token_id: r.token_id.as_str().to_string(),
                revoked_at: r.revoked_at.unix(),
                expires_at: r.expires_at.unix(),
                cursor,
            },
            RevocationEntry::Client(r) => Self::Client {
                client_id: r.client_id.as_str().to_string(),
                issued_before: r.issued_before.unix(),
                revoked_at: r.revoked_at.unix(),
                expires_at: r.expires_at.unix(),
                cursor,
            },
        }
    }
}

impl WireEntry {
    /// The entry and its cursor. The cursor's milliseconds become the entry's revocation time,
    /// so the entry orders as it did on the server.
    pub fn parse(self) -> Result<(RevocationEntry, FeedCursor), FeedError> {
        let bad = |what: &str| FeedError(what.to_string());
        let cursor = |text: &str| -> Result<FeedCursor, FeedError> {
            text.parse().map_err(|_| bad("cursor"))
        };
        let (entry, cursor) = match self {
            Self::Token {
                token_id,
                expires_at,
                cursor: text,
                ..
            } => {
                let cursor = cursor(&text)?;
                let entry = RevocationEntry::Token(Revocation {
                    token_id: TokenId::parse(token_id).map_err(|_| bad("token_id"))?,
                    revoked_at: cursor.revoked_at(),
                    expires_at: Timestamp::from_unix(expires_at),
                });
                (entry, cursor)
            }
            Self::Client {
                client_id,
                issued_before,
                expires_at,
                cursor: text,
                ..
            } => {
                let cursor = cursor(&text)?;
                let entry = RevocationEntry::Client(ClientRevocation {
                    client_id: ClientId::parse(client_id).map_err(|_| bad("client_id"))?,
                    issued_before: Timestamp::from_unix(issued_before),
                    revoked_at: cursor.revoked_at(),
                    expires_at: Timestamp::from_unix(expires_at),
                });
                (entry, cursor)
            }
        };
        if entry.cursor() != cursor {
            return Err(bad("cursor does not match the entry"));
        }
        Ok((entry, cursor))
    }
}

/// The entry as one line of JSON.
pub fn encode(entry: &RevocationEntry) -> String {
    // A struct of strings and numbers always serializes.
    serde_json::to_string(&WireEntry::from(entry)).unwrap_or_default()
}

/// Reads one entry (as [`encode`] writes it) and its cursor.
pub fn decode(json: &str) -> Result<(RevocationEntry, FeedCursor), FeedError> {
    serde_json::from_str::<WireEntry>(json)
        .map_err(|e| FeedError(e.to_string()))?
        .parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let token = RevocationEntry::Token(Revocation {
            token_id: TokenId::parse("0f".repeat(64)).unwrap(),
            revoked_at: Timestamp::from_unix_millis(1_800_000_000_123),
            expires_at: Timestamp::from_unix(1_800_003_600),
        });
        let client = RevocationEntry::Client(ClientRevocation::at(
            ClientId::parse("billing").unwrap(),
            Timestamp::from_unix_millis(1_800_000_000_456),
            86_400,
        ));
        for entry in [token, client] {
            let json = encode(&entry);
            let (back, cursor) = decode(&json).unwrap();
            assert_eq!(back, entry, "{json}");
            assert_eq!(cursor, entry.cursor());
        }
    }

    #[test]
    fn garbage_and_mismatches_are_refused() {
        assert!(decode("{}").is_err());
        assert!(decode(
            r#"{"kind":"token","token_id":"x","revoked_at":1,"expires_at":2,"cursor":"1.x"}"#
        )
        .is_err());
        let other = format!(
            r#"{{"kind":"token","token_id":"{}","revoked_at":1,"expires_at":2,"cursor":"1000.{}"}}"#,
            "0f".repeat(64),
            "1f".repeat(64)
        );
        assert!(decode(&other).is_err());
    }
}
