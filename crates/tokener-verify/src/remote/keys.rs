//! Tokener's public keys: reading `GET /keys` (revalidated with its ETag) into a key set:
//! each key's Biscuit key and the JWK of its JWTs.

use super::error::FetchError;
use biscuit_auth::PublicKey;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::Duration;
use tokener_core::token::{parse_public_key, Jwk, JwtPublicKey};
use tokener_core::{KeyId, PublicKeySet};

#[derive(Debug, Deserialize)]
struct KeysDocument {
    keys: Vec<PublishedKey>,
}

#[derive(Debug, Deserialize)]
struct PublishedKey {
    id: u32,
    algorithm: Option<String>,
    public_key: Option<String>,
    public_key_hex: Option<String>,
    status: Option<String>,
    /// The ES256 key of the same id's JWTs (servers before JWT support publish none).
    jwk: Option<Jwk>,
}

impl PublishedKey {
    /// Active, retired and next keys all verify: a next key signs soon, a retired one signed
    /// tokens still alive. A status this version does not know is not trusted.
    fn verifies(&self) -> bool {
        let known_status = matches!(
            self.status.as_deref(),
            None | Some("active" | "retired" | "next")
        );
        let ed25519 = self.algorithm.as_deref().is_none_or(|a| a == "ed25519");
        known_status && ed25519
    }

    fn public_key(&self) -> Option<PublicKey> {
        let prefixed = || parse_public_key(self.public_key.as_deref()?).ok();
        let from_hex = || {
            let hex = self.public_key_hex.as_deref()?;
            parse_public_key(&format!("ed25519/{hex}")).ok()
        };
        prefixed().or_else(from_hex)
    }

    /// The JWT key, if its `kid` is the key's id (a JWT names the key by it).
    fn jwt_key(&self) -> Option<JwtPublicKey> {
        let jwk = self.jwk.as_ref()?;
        (jwk.kid == self.id.to_string()).then(|| jwk.public_key())?
    }
}

/// The usable keys of a `GET /keys` body; `None` if it lists none (a server answering so is
/// misconfigured, and replacing good keys with nothing would refuse every token). The
/// `tokener token verify` command reads the same document with it.
pub fn parse_keys_document(body: &[u8]) -> Result<Option<PublicKeySet>, String> {
    let document: KeysDocument =
        serde_json::from_slice(body).map_err(|e| format!("keys document: {e}"))?;
    let usable = || document.keys.iter().filter(|k| k.verifies());
    let keys: Vec<(KeyId, PublicKey)> = usable()
        .filter_map(|k| Some((KeyId(k.id), k.public_key()?)))
        .collect();
    let jwt_keys = usable().filter_map(|k| Some((KeyId(k.id), k.jwt_key()?)));
    Ok((!keys.is_empty()).then(|| PublicKeySet::new(keys).with_jwt_keys(jwt_keys)))
}

fn parse_document(body: &[u8]) -> Result<Option<PublicKeySet>, FetchError> {
    parse_keys_document(body).map_err(FetchError)
}

/// What one fetch found.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// A new key set.
    Keys(PublicKeySet),
    /// 304: the keys held are current.
    Unchanged,
}

/// Reads `GET /keys`, remembering the ETag so an unchanged set costs a 304.
#[derive(Debug)]
pub(crate) struct KeyFetcher {
    url: String,
    etag: Option<String>,
}

impl KeyFetcher {
    pub(crate) fn new(url: String) -> Self {
        Self { url, etag: None }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn fetch(
        &mut self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Fetched, FetchError> {
        let mut request = http.get(&self.url).timeout(timeout);
        if let Some(etag) = &self.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::Unchanged);
        }
        let response = response.error_for_status()?;
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await?;
        let keys = parse_document(&body)?
            .ok_or_else(|| FetchError(format!("{} lists no usable Ed25519 key", self.url)))?;
        // Only a body that parsed may set the ETag: otherwise a bad answer would be
        // revalidated as "unchanged" for as long as the server keeps its ETag.
        self.etag = etag;
        Ok(Fetched::Keys(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokener_core::KeyRing;

    #[test]
    fn active_retired_and_next_keys_verify_unknown_statuses_do_not() {
        let ring = KeyRing::generate();
        let key = ring.active().public().to_string();
        let hex = key.trim_start_matches("ed25519/");
        let body = format!(
            r#"{{"keys":[
              {{"id":1,"algorithm":"ed25519","public_key":"{key}","status":"active"}},
              {{"id":2,"algorithm":"ed25519","public_key_hex":"{hex}","status":"next","activates_at":1}},
              {{"id":3,"algorithm":"ed25519","public_key":"{key}","status":"retired"}},
              {{"id":4,"algorithm":"ed25519","public_key":"{key}","status":"compromised"}},
              {{"id":5,"algorithm":"p256","public_key":"{key}","status":"active"}}
            ]}}"#
        );
        let set = parse_document(body.as_bytes()).ok().flatten();
        let ids: Vec<u32> = set
            .iter()
            .flat_map(|s| s.iter().map(|(id, _)| id.0))
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn the_jwk_of_a_usable_key_is_read_when_its_kid_is_the_key_id() {
        let ring = KeyRing::generate();
        let keys = ring.public_keys();
        let key = ring.active().public().to_string();
        let jwt = keys.jwt(tokener_core::KeyId(1)).unwrap();
        let jwk = |kid: u32| serde_json::to_string(&jwt.jwk(kid)).unwrap();
        let body = format!(
            r#"{{"keys":[
              {{"id":1,"public_key":"{key}","status":"active","jwk":{}}},
              {{"id":2,"public_key":"{key}","status":"retired","jwk":{}}},
              {{"id":3,"public_key":"{key}","status":"compromised","jwk":{}}},
              {{"id":4,"public_key":"{key}","status":"next"}}
            ]}}"#,
            jwk(1),
            jwk(9),
            jwk(3)
        );
        let set = parse_document(body.as_bytes()).unwrap().unwrap();
        let ids: Vec<u32> = set.jwt_keys().map(|(id, _)| id.0).collect();
        assert_eq!(
            ids,
            vec![1],
            "a kid other than the id, or an unusable status, is left out"
        );
        assert_eq!(set.jwt(tokener_core::KeyId(1)), Some(jwt));
        assert_eq!(set.iter().count(), 3);
    }

    #[test]
    fn a_document_without_usable_keys_gives_none() {
        assert!(matches!(parse_document(br#"{"keys":[]}"#), Ok(None)));
        assert!(parse_document(b"not json").is_err());
    }
}
