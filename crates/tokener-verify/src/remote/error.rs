//! The errors a remote verifier reports: at discovery, and per verification.

use tokener_core::VerifyError;

/// Why [`RemoteVerifier::discover`](super::RemoteVerifier::discover) could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("invalid Tokener URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("could not read {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} lists no usable Ed25519 key")]
    NoKeys { url: String },
    #[error("a RemoteVerifier runs background tasks and must be created inside a Tokio runtime")]
    NoRuntime,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteVerifyError {
    /// The token itself was refused (malformed, unknown key, expired, revoked, lacking ...).
    #[error(transparent)]
    Token(#[from] VerifyError),
    /// The token is valid, but the revocation state is older than allowed and the verifier
    /// fails closed: it cannot tell whether the token was revoked meanwhile.
    #[error("revocation state is {seconds} s old, past the allowed staleness")]
    Stale { seconds: u64 },
}

/// A failed request to Tokener, for logs and [`DiscoverError::Fetch`]. Holds no token text:
/// requests to Tokener never carry one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FetchError(pub(crate) String);

impl From<reqwest::Error> for FetchError {
    fn from(e: reqwest::Error) -> Self {
        // The URL is in the log line already; without it the message stays short.
        Self(e.without_url().to_string())
    }
}

impl FetchError {
    pub(crate) fn into_discover(self, url: &str) -> DiscoverError {
        DiscoverError::Fetch {
            url: url.to_owned(),
            reason: self.0,
        }
    }
}
