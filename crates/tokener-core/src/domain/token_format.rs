//! Which kind of access token a client receives.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The format of the access tokens issued to a client. Biscuit is the default: holders can
/// attenuate it offline and verifiers can run Datalog checks on it. A JWT (RFC 9068) is for
/// resource servers and gateways that verify JOSE natively against a `jwks_uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    #[default]
    Biscuit,
    Jwt,
}

impl TokenFormat {
    pub const ALL: [Self; 2] = [Self::Biscuit, Self::Jwt];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Biscuit => "biscuit",
            Self::Jwt => "jwt",
        }
    }

    /// Whether this is the default, which client records leave unstated.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Display for TokenFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token format must be `biscuit` or `jwt`")]
pub struct UnknownTokenFormat;

impl std::str::FromStr for TokenFormat {
    type Err = UnknownTokenFormat;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == value)
            .ok_or(UnknownTokenFormat)
    }
}
