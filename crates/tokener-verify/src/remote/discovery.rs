//! Where Tokener publishes what verifiers need: RFC 8414 server metadata, with the
//! conventional paths under the base URL for any field the metadata lacks.

use super::error::{DiscoverError, FetchError};
use serde::Deserialize;
use std::time::Duration;

/// The URLs a verifier reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) keys: String,
    pub(crate) revocations: String,
    pub(crate) revocations_stream: String,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    keys_uri: Option<String>,
    revocations_uri: Option<String>,
    revocations_stream_uri: Option<String>,
}

impl Endpoints {
    fn from_metadata(base: &str, metadata: Metadata) -> Self {
        let or_default =
            |field: Option<String>, path: &str| field.unwrap_or_else(|| format!("{base}{path}"));
        Self {
            keys: or_default(metadata.keys_uri, "/keys"),
            revocations: or_default(metadata.revocations_uri, "/revocations"),
            revocations_stream: or_default(metadata.revocations_stream_uri, "/revocations/stream"),
        }
    }
}

/// `base_url` without trailing slashes, checked to be an http(s) URL.
pub(crate) fn normalize_base(base_url: &str) -> Result<String, DiscoverError> {
    let invalid = |reason: &str| DiscoverError::InvalidUrl {
        url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = base_url.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    Ok(trimmed.to_owned())
}

/// Reads the metadata at `<base>/.well-known/oauth-authorization-server`. A server without
/// metadata (404) gets the conventional paths; any other failure is an error, as a verifier
/// guessing URLs on a misconfigured base would only fail later and less clearly.
pub(crate) async fn discover(
    http: &reqwest::Client,
    base: &str,
    timeout: Duration,
) -> Result<Endpoints, DiscoverError> {
    let url = format!("{base}/.well-known/oauth-authorization-server");
    let response = http
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| FetchError::from(e).into_discover(&url))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        tracing::debug!(%url, "no server metadata; using the conventional paths");
        return Ok(Endpoints::from_metadata(base, Metadata::default()));
    }
    let metadata = response
        .error_for_status()
        .map_err(|e| FetchError::from(e).into_discover(&url))?
        .json::<Metadata>()
        .await
        .map_err(|e| FetchError::from(e).into_discover(&url))?;
    Ok(Endpoints::from_metadata(base, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_fall_back_to_conventional_paths() {
        let metadata = Metadata {
            keys_uri: Some("https://k.example/keys".into()),
            ..Metadata::default()
        };
        let endpoints = Endpoints::from_metadata("https://t.example", metadata);
        assert_eq!(endpoints.keys, "https://k.example/keys");
        assert_eq!(endpoints.revocations, "https://t.example/revocations");
        assert_eq!(
            endpoints.revocations_stream,
            "https://t.example/revocations/stream"
        );
    }

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            normalize_base("http://127.0.0.1:8080/").ok(),
            Some("http://127.0.0.1:8080".to_owned())
        );
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("not a url").is_err());
    }
}
