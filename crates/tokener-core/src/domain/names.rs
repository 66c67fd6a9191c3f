//! Identifier newtypes. Each constructor rejects what the type may not hold, so a value that
//! exists is valid everywhere (parse, don't validate).
//!
//! The accepted character sets are deliberately narrow: the values travel through Biscuit
//! Datalog strings, HTTP headers, form bodies and MongoDB keys, and a narrow set means none of
//! those needs escaping rules of its own.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} must be at most {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} must be exactly {len} characters")]
    WrongLength { kind: &'static str, len: usize },
    #[error("{kind} contains a character outside {allowed}")]
    BadCharacter {
        kind: &'static str,
        allowed: &'static str,
    },
}

fn check_chars(
    kind: &'static str,
    value: &str,
    max: usize,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if value.len() > max {
        return Err(NameError::TooLong { kind, max });
    }
    if !value.chars().all(ok) {
        return Err(NameError::BadCharacter { kind, allowed });
    }
    Ok(())
}

/// Declares a string newtype with a parsing constructor and the usual conversions.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:expr, $allowed:literal, $ok:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted.
            pub const MAX_LEN: usize = $max;
            /// The accepted characters, as shown in error messages and documentation.
            pub const ALLOWED: &'static str = $allowed;

            pub fn parse(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                check_chars($kind, &value, $max, $allowed, $ok)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn is_scope_char(c: char) -> bool {
    is_name_char(c) || matches!(c, ':' | '/')
}

string_newtype!(
    /// A client (service) identifier, e.g. `billing`.
    ClientId, "client id", 64, "A-Z a-z 0-9 - _ .", is_name_char
);

string_newtype!(
    /// One granted permission, e.g. `orders:read`. A subset of RFC 6749 scope-token characters.
    Scope, "scope", 128, "A-Z a-z 0-9 - _ . : /", is_scope_char
);

string_newtype!(
    /// A service a token is meant for, e.g. `orders` or `urn:svc:orders`.
    Audience, "audience", 128, "A-Z a-z 0-9 - _ . : /", is_scope_char
);

/// The id of a token: the lowercase hex of its authority block's revocation id (an Ed25519
/// signature, 64 bytes, so 128 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenId(String);

impl TokenId {
    pub const HEX_LEN: usize = 128;

    pub fn parse(value: impl Into<String>) -> Result<Self, NameError> {
        let value = value.into();
        check_chars(
            "token id",
            &value,
            Self::HEX_LEN,
            "0-9 a-f",
            |c| matches!(c, '0'..='9' | 'a'..='f'),
        )?;
        if value.len() != Self::HEX_LEN {
            return Err(NameError::WrongLength {
                kind: "token id",
                len: Self::HEX_LEN,
            });
        }
        Ok(Self(value))
    }

    /// The id of a token whose authority revocation id is `bytes`.
    pub fn from_revocation_id(bytes: &[u8]) -> Result<Self, NameError> {
        Self::parse(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for TokenId {
    type Err = NameError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<String> for TokenId {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<TokenId> for String {
    fn from(value: TokenId) -> String {
        value.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token lifetime in whole seconds: at least one second, at most [`Ttl::ABSOLUTE_MAX_SECONDS`].
/// The per-deployment and per-client maxima are business rules of [`crate::TokenService`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Ttl(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    #[error("ttl must be at least 1 second")]
    Zero,
    #[error("ttl must be at most {max} seconds")]
    TooLong { max: u64 },
}

impl Ttl {
    /// One year: a bound no configuration may exceed, so timestamps never overflow.
    pub const ABSOLUTE_MAX_SECONDS: u64 = 366 * 24 * 3600;
    /// The default lifetime of a token: 24 hours.
    pub const DEFAULT: Ttl = Ttl(24 * 3600);

    pub fn from_secs(seconds: u64) -> Result<Self, TtlError> {
        match seconds {
            0 => Err(TtlError::Zero),
            s if s > Self::ABSOLUTE_MAX_SECONDS => Err(TtlError::TooLong {
                max: Self::ABSOLUTE_MAX_SECONDS,
            }),
            s => Ok(Self(s)),
        }
    }

    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }

    pub fn as_secs(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Ttl {
    type Error = TtlError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::from_secs(value)
    }
}

impl From<Ttl> for u64 {
    fn from(value: Ttl) -> u64 {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_accepts_documented_characters() {
        assert_eq!(
            ClientId::parse("billing-v2.eu_1").unwrap().as_str(),
            "billing-v2.eu_1"
        );
    }

    #[test]
    fn client_id_rejects_empty_long_and_foreign_characters() {
        assert!(matches!(ClientId::parse(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            ClientId::parse("a".repeat(65)),
            Err(NameError::TooLong { max: 64, .. })
        ));
        for bad in ["a b", "a\nb", "a\u{0}b", "é", "a\"b", "a:b", "a/b"] {
            assert!(
                matches!(ClientId::parse(bad), Err(NameError::BadCharacter { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn scope_and_audience_allow_colon_and_slash() {
        assert!(Scope::parse("orders:read").is_ok());
        assert!(Audience::parse("urn:svc/orders").is_ok());
        assert!(Scope::parse("orders read").is_err());
        assert!(Audience::parse("x".repeat(129)).is_err());
        assert!(Scope::parse("tab\there").is_err());
    }

    #[test]
    fn token_id_is_exactly_128_lowercase_hex() {
        assert!(TokenId::parse("ab".repeat(64)).is_ok());
        assert!(TokenId::parse("AB".repeat(64)).is_err());
        assert!(TokenId::parse("ab".repeat(63)).is_err());
        assert!(TokenId::parse("ab".repeat(65)).is_err());
        assert!(TokenId::parse("").is_err());
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(Ttl::from_secs(0), Err(TtlError::Zero));
        assert!(Ttl::from_secs(1).is_ok());
        assert!(Ttl::from_secs(Ttl::ABSOLUTE_MAX_SECONDS).is_ok());
        assert!(Ttl::from_secs(Ttl::ABSOLUTE_MAX_SECONDS + 1).is_err());
        assert_eq!(Ttl::DEFAULT.as_secs(), 86_400);
    }

    #[test]
    fn serde_goes_through_the_parser() {
        let ok: Result<ClientId, _> = serde_json::from_str("\"billing\"");
        assert!(ok.is_ok());
        let bad: Result<ClientId, _> = serde_json::from_str("\"bad id\"");
        assert!(bad.is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsed_scopes_only_hold_allowed_characters(s in "\\PC{0,200}") {
            if let Ok(scope) = Scope::parse(s.clone()) {
                proptest::prop_assert!(scope.as_str().chars().all(is_scope_char));
                proptest::prop_assert!(!scope.as_str().is_empty() && scope.as_str().len() <= 128);
            }
        }
    }
}
