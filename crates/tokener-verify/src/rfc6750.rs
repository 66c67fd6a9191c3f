//! RFC 6750 answers for refused requests, framework-free: the actix middleware, the axum layer
//! and the guard only copy status, headers and body from a [`Rejection`].
//!
//! Neither the token nor anything derived from it goes into an answer or a log line.

use crate::{RemoteVerifier, RemoteVerifyError, Requirements};
use std::time::Duration;
use tokener_core::VerifyError;

/// The realm named in every challenge.
pub const REALM: &str = "tokener";

/// Why a request was refused, with everything needed to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No bearer token at all (RFC 6750 §3.1: the challenge names no error).
    MissingToken,
    /// Malformed, unknown key, bad signature, expired, revoked or failing a check.
    InvalidToken(VerifyError),
    /// Valid, but lacking a required scope or audience; `scope` lists the required scopes.
    InsufficientScope { reason: VerifyError, scope: String },
    /// Valid, but the revocation state is too old to accept it (fail closed).
    Unavailable { retry_after: Duration },
}

impl Rejection {
    /// Maps a verification failure, naming `requirements` in a 403's challenge.
    pub fn from_error(
        error: &RemoteVerifyError,
        requirements: &Requirements,
        verifier: &RemoteVerifier,
    ) -> Self {
        match error {
            RemoteVerifyError::Stale { .. } => Self::Unavailable {
                retry_after: verifier.retry_after(),
            },
            RemoteVerifyError::Token(
                reason @ (VerifyError::MissingScope | VerifyError::WrongAudience),
            ) => Self::InsufficientScope {
                reason: reason.clone(),
                scope: requirements.scopes().join(" "),
            },
            RemoteVerifyError::Token(reason) => Self::InvalidToken(reason.clone()),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => 401,
            Self::InsufficientScope { .. } => 403,
            Self::Unavailable { .. } => 503,
        }
    }

    /// The `WWW-Authenticate` value, in the contract's exact forms (none for 503: the token is
    /// not at fault).
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::MissingToken => Some(format!("Bearer realm=\"{REALM}\"")),
            Self::InvalidToken(_) => Some("Bearer error=\"invalid_token\"".to_owned()),
            // Scope names are validated to characters that need no quoting; a requirement
            // outside that set still cannot break out of the quoted string.
            Self::InsufficientScope { scope, .. } if !scope.is_empty() => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                scope.replace(['"', '\\'], "")
            )),
            Self::InsufficientScope { .. } => {
                Some("Bearer error=\"insufficient_scope\"".to_owned())
            }
            Self::Unavailable { .. } => None,
        }
    }

    /// `Retry-After` in whole seconds, for 503.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::Unavailable { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        }
    }

    /// The OAuth2 error code of the body.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::MissingToken => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::Unavailable { .. } => "temporarily_unavailable",
        }
    }

    pub fn description(&self) -> String {
        match self {
            Self::MissingToken => "a bearer token is required".to_owned(),
            Self::InvalidToken(reason) | Self::InsufficientScope { reason, .. } => {
                reason.to_string()
            }
            Self::Unavailable { .. } => {
                "revocations cannot be confirmed current; try again later".to_owned()
            }
        }
    }

    /// `{"error": "...", "error_description": "..."}`.
    pub fn body(&self) -> String {
        serde_json::json!({
            "error": self.error_code(),
            "error_description": self.description(),
        })
        .to_string()
    }
}

/// The bearer token of an `Authorization` header value (RFC 6750 §2.1; the scheme is
/// case-insensitive). No header, or another scheme, is [`Rejection::MissingToken`]; an empty or
/// non-text token is an invalid one.
pub fn bearer_token(authorization: Option<&[u8]>) -> Result<&str, Rejection> {
    let value = authorization.ok_or(Rejection::MissingToken)?;
    let scheme = value.get(..7).ok_or(Rejection::MissingToken)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return Err(Rejection::MissingToken);
    }
    let token = std::str::from_utf8(&value[7..])
        .map_err(|_| Rejection::InvalidToken(VerifyError::Malformed))?
        .trim();
    if token.is_empty() {
        return Err(Rejection::InvalidToken(VerifyError::Malformed));
    }
    Ok(token)
}

/// Extracts the bearer token and authorizes it: the decision every front end shares.
pub async fn authorize(
    verifier: &RemoteVerifier,
    authorization: Option<&[u8]>,
    requirements: &Requirements,
) -> Result<crate::VerifiedClaims, Rejection> {
    let bearer = bearer_token(authorization)?;
    match verifier.authorize(bearer, requirements).await {
        Ok(claims) => Ok(crate::VerifiedClaims(claims)),
        Err(error) => {
            tracing::debug!(%error, "bearer token refused");
            Err(Rejection::from_error(&error, requirements, verifier))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_count_as_missing() {
        assert_eq!(bearer_token(Some(b"Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"bEaReR  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(Rejection::MissingToken));
        assert_eq!(
            bearer_token(Some(b"Basic Zm9vOmJhcg==")),
            Err(Rejection::MissingToken)
        );
        assert_eq!(
            bearer_token(Some(b"Bearer ")),
            Err(Rejection::InvalidToken(VerifyError::Malformed))
        );
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            Rejection::MissingToken.www_authenticate().as_deref(),
            Some("Bearer realm=\"tokener\"")
        );
        let insufficient = Rejection::InsufficientScope {
            reason: VerifyError::MissingScope,
            scope: "orders:read orders:write".into(),
        };
        assert_eq!(insufficient.status(), 403);
        assert_eq!(
            insufficient.www_authenticate().as_deref(),
            Some("Bearer error=\"insufficient_scope\", scope=\"orders:read orders:write\"")
        );
        let stale = Rejection::Unavailable {
            retry_after: Duration::from_millis(200),
        };
        assert_eq!(
            (stale.status(), stale.retry_after_seconds()),
            (503, Some(1))
        );
        assert!(stale.body().contains("temporarily_unavailable"));
    }
}
