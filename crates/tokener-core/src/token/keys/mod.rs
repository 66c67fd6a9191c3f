//! Root signing keys with ids, so keys can rotate: the signing key signs, every published key
//! verifies.
//!
//! Each key of a [`KeyRing`] has a lifecycle: it starts signing at `activates_at`, stops when
//! a later key activates (or when it is retired by hand), and stays published for as long as a
//! token it signed can live. Where a ring comes from is the caller's business: a key file
//! ([`file`]) or a key store, whose private keys are sealed at rest ([`sealing`]).

pub mod file;
pub mod sealing;

use super::jwt::{JwtPublicKey, JwtSigningKey};
use crate::domain::{KeyId, Timestamp};
use crate::{Clock, SystemClock};
use biscuit_auth::{KeyPair, PrivateKey, PublicKey};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key file is not valid JSON of the expected shape: {0}")]
    Syntax(String),
    #[error("key {id}: private key is not an Ed25519 key in the form ed25519-private/<hex>")]
    BadPrivateKey { id: u32 },
    #[error("public key is not an Ed25519 key in the form ed25519/<hex>")]
    BadPublicKey,
    #[error("key id {id} appears more than once")]
    DuplicateId { id: u32 },
    #[error("exactly one key must be active, found {found}")]
    ActiveCount { found: usize },
    #[error("a key ring needs a key that signs and is not retired")]
    NoSigningKey,
}

/// A private key and its id: the Ed25519 key signs Biscuits, and the ES256 key derived from
/// it signs JWTs (see [`super::jwt`]).
pub struct SigningKey {
    id: KeyId,
    keypair: KeyPair,
    jwt: JwtSigningKey,
}

impl SigningKey {
    pub fn generate(id: KeyId) -> Self {
        Self::from_keypair(id, KeyPair::new())
    }

    fn from_keypair(id: KeyId, keypair: KeyPair) -> Self {
        let jwt = JwtSigningKey::derive(&keypair.private().to_bytes());
        Self { id, keypair, jwt }
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub fn public(&self) -> PublicKey {
        self.keypair.public()
    }

    pub(crate) fn keypair(&self) -> &KeyPair {
        &self.keypair
    }

    /// The ES256 key of JWTs.
    pub fn jwt(&self) -> &JwtSigningKey {
        &self.jwt
    }

    /// The private key as `ed25519-private/<hex>`: only for a key file or sealing.
    pub(crate) fn private_prefixed(&self) -> String {
        self.keypair.private().to_prefixed_string()
    }

    pub(crate) fn from_prefixed(id: KeyId, private: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPrivateKey { id: id.0 };
        let hex = private.strip_prefix("ed25519-private/").ok_or_else(bad)?;
        let key =
            PrivateKey::from_bytes_hex(hex, biscuit_auth::Algorithm::Ed25519).map_err(|_| bad())?;
        Ok(Self::from_keypair(id, KeyPair::from(&key)))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("public", &self.public().to_string())
            .finish()
    }
}

/// Parses `ed25519/<hex>` (the form `GET /keys` publishes and Biscuit tools print) or the bare
/// hex some Biscuit libraries want (`public_key_hex` in `GET /keys`).
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyError> {
    let hex = text.strip_prefix("ed25519/").unwrap_or(text);
    PublicKey::from_bytes_hex(hex, biscuit_auth::Algorithm::Ed25519)
        .map_err(|_| KeyError::BadPublicKey)
}

/// When a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyLifecycle {
    /// When it starts signing; `None`: never (a retired key kept in a key file to verify).
    pub activates_at: Option<Timestamp>,
    /// When it was retired by hand: it stops signing then (or never starts, if that is before
    /// `activates_at`).
    pub retired_at: Option<Timestamp>,
}

impl KeyLifecycle {
    /// Signs from the beginning of time until a later key activates.
    pub const ALWAYS: Self = Self {
        activates_at: Some(Timestamp::from_unix(0)),
        retired_at: None,
    };

    /// Whether the key signs at some time: retired before its activation, it never does.
    fn ever_signs(&self) -> bool {
        match (self.activates_at, self.retired_at) {
            (Some(at), Some(retired)) => retired > at,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// What a key of the ring does at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens.
    Active,
    /// Will sign from `activates_at`; verifiers already accept it.
    Next { activates_at: Timestamp },
    /// Signs no more; verifies the tokens it signed until the last of them expires.
    Retired,
    /// No token it signed is still alive: no longer published.
    Withdrawn,
}

struct RingKey {
    key: SigningKey,
    lifecycle: KeyLifecycle,
}

/// All signing keys of a deployment with their lifecycles: one signs at any time, keys
/// scheduled to sign later (`next`) and keys that signed before (`retired`) verify.
pub struct KeyRing {
    keys: BTreeMap<KeyId, RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.keys.iter().map(|(id, k)| (id, k.lifecycle)))
            .finish()
    }
}

impl KeyRing {
    /// A ring holding one freshly generated key (id 1): the embedded default.
    pub fn generate() -> Self {
        Self::single(SigningKey::generate(KeyId(1)))
    }

    /// One key that signs from the beginning of time.
    pub fn single(key: SigningKey) -> Self {
        Self {
            keys: BTreeMap::from([(
                key.id(),
                RingKey {
                    key,
                    lifecycle: KeyLifecycle::ALWAYS,
                },
            )]),
        }
    }

    /// A ring of these keys. Ids must be unique, and some key must sign and not be retired, so
    /// that a signing key exists at every time from the first activation on.
    pub fn new(
        keys: impl IntoIterator<Item = (SigningKey, KeyLifecycle)>,
    ) -> Result<Self, KeyError> {
        let mut ring = BTreeMap::new();
        for (key, lifecycle) in keys {
            let id = key.id();
            if ring.insert(id, RingKey { key, lifecycle }).is_some() {
                return Err(KeyError::DuplicateId { id: id.0 });
            }
        }
        let signer = ring
            .values()
            .any(|k| k.lifecycle.activates_at.is_some() && k.lifecycle.retired_at.is_none());
        if !signer {
            return Err(KeyError::NoSigningKey);
        }
        Ok(Self { keys: ring })
    }

    /// The key signing now, by the system clock.
    pub fn active(&self) -> &SigningKey {
        self.signing_key(SystemClock.now())
    }

    /// The key that signs at `now`: of the keys activated by then and not retired, the one
    /// activated last.
    pub fn signing_key(&self, now: Timestamp) -> &SigningKey {
        let signing = self
            .keys
            .values()
            .filter(|k| signs_at(&k.lifecycle, now))
            .max_by_key(|k| (k.lifecycle.activates_at, k.key.id()));
        // `new` guarantees a key that activates and is never retired; before its activation
        // time (a clock far behind), it is the best there is.
        signing
            .or_else(|| {
                self.keys.values().find(|k| {
                    k.lifecycle.activates_at.is_some() && k.lifecycle.retired_at.is_none()
                })
            })
            .map(|k| &k.key)
            .unwrap_or_else(|| {
                &self
                    .keys
                    .values()
                    .next()
                    .expect("a ring is never empty")
                    .key
            })
    }

    /// When the key `id` stopped (or will stop) signing: retired by hand, or superseded by a
    /// key activated after it. `None` while nothing ends it.
    pub fn stops_signing_at(&self, id: KeyId) -> Option<Timestamp> {
        let this = &self.keys.get(&id)?.lifecycle;
        let start = this.activates_at?;
        let superseded = self
            .keys
            .iter()
            .filter(|(other, k)| {
                **other != id
                    && k.lifecycle.ever_signs()
                    && k.lifecycle
                        .activates_at
                        .is_some_and(|at| (at, **other) > (start, id))
            })
            .filter_map(|(_, k)| k.lifecycle.activates_at)
            .min();
        match (this.retired_at, superseded) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What the key `id` does at `now`, when tokens live at most `max_ttl`.
    pub fn status(&self, id: KeyId, now: Timestamp, max_ttl: Duration) -> KeyStatus {
        let Some(key) = self.keys.get(&id) else {
            return KeyStatus::Withdrawn;
        };
        let lifecycle = key.lifecycle;
        if self.signing_key(now).id() == id {
            return KeyStatus::Active;
        }
        let cancelled = lifecycle.retired_at.is_some_and(|r| r <= now);
        match lifecycle.activates_at {
            Some(at) if at > now && !cancelled => return KeyStatus::Next { activates_at: at },
            // Retired before it signed anything: nothing to verify.
            Some(_) if !lifecycle.ever_signs() => return KeyStatus::Withdrawn,
            // A retired key of a key file: published as long as the file holds it.
            None => return KeyStatus::Retired,
            Some(_) => {}
        }
        match self.stops_signing_at(id) {
            Some(stopped) if stopped.plus_millis(millis(max_ttl)) <= now => KeyStatus::Withdrawn,
            _ => KeyStatus::Retired,
        }
    }

    /// The ids of every key, published or not, in order.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }

    /// The lifecycle of the key `id`.
    pub fn lifecycle(&self, id: KeyId) -> Option<KeyLifecycle> {
        self.keys.get(&id).map(|k| k.lifecycle)
    }

    /// Every public key with its id, whatever its status.
    pub fn public_keys(&self) -> PublicKeySet {
        Self::set_of(self.keys.values())
    }

    /// The public keys that verify at `now`: every key but those withdrawn.
    pub fn published_keys(&self, now: Timestamp, max_ttl: Duration) -> PublicKeySet {
        Self::set_of(
            self.keys
                .values()
                .filter(|k| self.status(k.key.id(), now, max_ttl) != KeyStatus::Withdrawn),
        )
    }

    fn set_of<'a>(keys: impl Iterator<Item = &'a RingKey> + Clone) -> PublicKeySet {
        PublicKeySet::new(keys.clone().map(|k| (k.key.id(), k.key.public())))
            .with_jwt_keys(keys.map(|k| (k.key.id(), k.key.jwt().public().clone())))
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&SigningKey, KeyLifecycle)> {
        self.keys.values().map(|k| (&k.key, k.lifecycle))
    }
}

fn signs_at(lifecycle: &KeyLifecycle, now: Timestamp) -> bool {
    lifecycle.activates_at.is_some_and(|at| at <= now)
        && lifecycle.retired_at.is_none_or(|r| r > now)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Public keys by id: all an offline verifier needs. Each id has a Biscuit key and, once
/// known, the ES256 key of its JWTs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicKeySet {
    keys: BTreeMap<KeyId, PublicKey>,
    jwt: BTreeMap<KeyId, JwtPublicKey>,
}

impl PublicKeySet {
    pub fn new(keys: impl IntoIterator<Item = (KeyId, PublicKey)>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            jwt: BTreeMap::new(),
        }
    }

    /// These JWT keys too.
    pub fn with_jwt_keys(mut self, keys: impl IntoIterator<Item = (KeyId, JwtPublicKey)>) -> Self {
        self.jwt.extend(keys);
        self
    }

    /// The key JWTs naming `id` in their `kid` are verified with.
    pub fn jwt(&self, id: KeyId) -> Option<&JwtPublicKey> {
        self.jwt.get(&id)
    }

    /// The JWT keys with their ids.
    pub fn jwt_keys(&self) -> impl Iterator<Item = (KeyId, &JwtPublicKey)> {
        self.jwt.iter().map(|(id, k)| (*id, k))
    }

    pub fn get(&self, id: KeyId) -> Option<&PublicKey> {
        self.keys.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (KeyId, &PublicKey)> {
        self.keys.iter().map(|(id, k)| (*id, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_unix(seconds)
    }

    fn key(
        id: u32,
        activates_at: Option<u64>,
        retired_at: Option<u64>,
    ) -> (SigningKey, KeyLifecycle) {
        (
            SigningKey::generate(KeyId(id)),
            KeyLifecycle {
                activates_at: activates_at.map(at),
                retired_at: retired_at.map(at),
            },
        )
    }

    #[test]
    fn a_scheduled_key_takes_over_and_the_old_one_is_withdrawn_a_max_ttl_later() {
        let ring = KeyRing::new([key(1, Some(0), None), key(2, Some(1_000), None)]).unwrap();
        assert_eq!(ring.signing_key(at(999)).id(), KeyId(1));
        assert_eq!(
            ring.status(KeyId(2), at(999), DAY),
            KeyStatus::Next {
                activates_at: at(1_000)
            }
        );
        assert_eq!(ring.signing_key(at(1_000)).id(), KeyId(2));
        assert_eq!(ring.status(KeyId(1), at(1_000), DAY), KeyStatus::Retired);
        assert_eq!(
            ring.status(KeyId(1), at(1_000 + 86_399), DAY),
            KeyStatus::Retired
        );
        assert_eq!(
            ring.status(KeyId(1), at(1_000 + 86_400), DAY),
            KeyStatus::Withdrawn
        );
        let published = ring.published_keys(at(1_000 + 86_400), DAY);
        assert!(published.get(KeyId(1)).is_none() && published.get(KeyId(2)).is_some());
    }

    #[test]
    fn a_next_key_retired_before_it_signs_is_withdrawn_at_once_and_never_signs() {
        let ring = KeyRing::new([key(1, Some(0), None), key(2, Some(1_000), Some(500))]).unwrap();
        assert_eq!(
            ring.status(KeyId(2), at(499), DAY),
            KeyStatus::Next {
                activates_at: at(1_000)
            }
        );
        assert_eq!(ring.status(KeyId(2), at(500), DAY), KeyStatus::Withdrawn);
        assert_eq!(ring.signing_key(at(2_000)).id(), KeyId(1));
        assert_eq!(
            ring.status(KeyId(1), at(2_000 + 86_400), DAY),
            KeyStatus::Active
        );
    }

    #[test]
    fn a_key_file_retired_key_stays_published() {
        let ring = KeyRing::new([key(1, Some(0), None), key(7, None, None)]).unwrap();
        assert_eq!(
            ring.status(KeyId(7), at(10_000_000), DAY),
            KeyStatus::Retired
        );
    }

    #[test]
    fn a_ring_needs_a_key_that_signs_and_unique_ids() {
        assert_eq!(
            KeyRing::new([key(1, Some(0), Some(5))]).unwrap_err(),
            KeyError::NoSigningKey
        );
        assert_eq!(
            KeyRing::new([key(1, Some(0), None), key(1, Some(9), None)]).unwrap_err(),
            KeyError::DuplicateId { id: 1 }
        );
    }
}
