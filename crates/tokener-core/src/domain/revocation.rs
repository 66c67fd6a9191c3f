//! Revocation entries: a single token, or every token of a client issued before a moment; and
//! the cursor that orders them in the revocation feed.

use super::{ClientId, Revocation, Timestamp, TokenClaims, TokenId};
use std::fmt;
use std::str::FromStr;

/// Every token issued to `client_id` before `issued_before` is revoked (the client was
/// disabled, its secret rotated with `revoke_tokens`, or an administrator revoked its tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRevocation {
    pub client_id: ClientId,
    /// Tokens whose `issued_at` is before this are revoked. Whole seconds, like `issued_at`.
    pub issued_before: Timestamp,
    pub revoked_at: Timestamp,
    /// When the last token this entry can cover expires: after it the entry may be forgotten.
    pub expires_at: Timestamp,
}

impl ClientRevocation {
    /// A client-wide revocation made at `at`, covering tokens that live at most `max_ttl_secs`.
    ///
    /// `issued_before` is the whole second after `at`: token times are whole seconds, so a token
    /// minted earlier in the same second carries that second and must be covered. The issuer dates tokens of this client no earlier than `issued_before` (see
    /// [`crate::RevocationState::issue_time`]), so a token minted after the revocation is not.
    pub fn at(client_id: ClientId, at: Timestamp, max_ttl_secs: u64) -> Self {
        Self::covering(client_id, at, 0, max_ttl_secs)
    }

    /// As [`Self::at`], also covering tokens issued up to `grace_secs` after `at` (by instances
    /// that still hold the client record from before the change).
    pub fn covering(
        client_id: ClientId,
        at: Timestamp,
        grace_secs: u64,
        max_ttl_secs: u64,
    ) -> Self {
        let issued_before = at.plus_secs(grace_secs + 1).whole_seconds();
        Self {
            client_id,
            issued_before,
            revoked_at: at,
            expires_at: issued_before.plus_secs(max_ttl_secs),
        }
    }

    pub fn covers(&self, claims: &TokenClaims) -> bool {
        claims.client_id == self.client_id && claims.issued_at < self.issued_before
    }
}

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationEntry {
    Token(Revocation),
    Client(ClientRevocation),
}

impl RevocationEntry {
    pub fn revoked_at(&self) -> Timestamp {
        match self {
            Self::Token(r) => r.revoked_at,
            Self::Client(r) => r.revoked_at,
        }
    }

    pub fn expires_at(&self) -> Timestamp {
        match self {
            Self::Token(r) => r.expires_at,
            Self::Client(r) => r.expires_at,
        }
    }

    /// Where this entry stands in the feed.
    pub fn cursor(&self) -> FeedCursor {
        FeedCursor {
            revoked_at: self.revoked_at(),
            key: match self {
                Self::Token(r) => FeedKey::Token(r.token_id.clone()),
                Self::Client(r) => FeedKey::Client(r.client_id.clone()),
            },
        }
    }
}

/// A position in the revocation feed: entries are ordered by revocation time (milliseconds),
/// then by what they revoke. Written `<revoked_at_millis>.<token id>` or
/// `<revoked_at_millis>.c:<client id>`; clients treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedCursor {
    revoked_at: Timestamp,
    key: FeedKey,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum FeedKey {
    Token(TokenId),
    Client(ClientId),
}

impl FeedCursor {
    pub fn revoked_at(&self) -> Timestamp {
        self.revoked_at
    }
}

impl fmt::Display for FeedCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            FeedKey::Token(id) => write!(f, "{}.{}", self.revoked_at.unix_millis(), id.as_str()),
            FeedKey::Client(id) => {
                write!(f, "{}.c:{}", self.revoked_at.unix_millis(), id.as_str())
            }
        }
    }
}

/// The text is not a cursor this feed hands out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a revocation feed cursor")]
pub struct BadCursor;

impl FromStr for FeedCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (millis, key) = text.split_once('.').ok_or(BadCursor)?;
        if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadCursor);
        }
        let revoked_at = Timestamp::from_unix_millis(millis.parse().map_err(|_| BadCursor)?);
        let key = match key.strip_prefix("c:") {
            Some(client) => FeedKey::Client(ClientId::parse(client).map_err(|_| BadCursor)?),
            None => FeedKey::Token(TokenId::parse(key).map_err(|_| BadCursor)?),
        };
        Ok(Self { revoked_at, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_entry(at: u64) -> RevocationEntry {
        RevocationEntry::Token(Revocation {
            token_id: TokenId::parse("ab".repeat(64)).unwrap(),
            revoked_at: Timestamp::from_unix_millis(at),
            expires_at: Timestamp::from_unix(2_000_000_000),
        })
    }

    #[test]
    fn cursors_round_trip_and_order_by_time() {
        let client = RevocationEntry::Client(ClientRevocation::at(
            ClientId::parse("billing").unwrap(),
            Timestamp::from_unix_millis(1_800_000_000_500),
            3600,
        ));
        for entry in [token_entry(1_800_000_000_001), client.clone()] {
            let text = entry.cursor().to_string();
            assert_eq!(text.parse::<FeedCursor>().unwrap(), entry.cursor());
        }
        assert!(token_entry(1_800_000_000_001).cursor() < client.cursor());
        assert!(client.cursor() < token_entry(1_800_000_000_501).cursor());
        for bad in [
            "",
            "1",
            "x.ab",
            "1.zz",
            "1.c:",
            ".c:billing",
            "-1.c:billing",
        ] {
            assert_eq!(bad.parse::<FeedCursor>(), Err(BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn a_client_revocation_covers_its_whole_second() {
        let r = ClientRevocation::at(
            ClientId::parse("billing").unwrap(),
            Timestamp::from_unix_millis(1_800_000_000_200),
            3600,
        );
        assert_eq!(r.issued_before, Timestamp::from_unix(1_800_000_001));
        assert_eq!(r.expires_at, Timestamp::from_unix(1_800_003_601));
        let exact = ClientRevocation::at(
            ClientId::parse("billing").unwrap(),
            Timestamp::from_unix(1_800_000_000),
            60,
        );
        assert_eq!(exact.issued_before, Timestamp::from_unix(1_800_000_001));
    }
}
