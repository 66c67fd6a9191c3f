//! The claims of an access token JWT (RFC 9068 §2.2), as written and as read.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JwtClaims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    /// An array, as RFC 7519 §4.1.3 allows; a single string is read too. Absent when the token
    /// names no audience.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub aud: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    /// Space-separated (RFC 8693 §4.2); absent when no scope was granted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}
