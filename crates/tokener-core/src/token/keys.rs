//! Root signing keys with ids, so keys can rotate: the active key signs, every published key
//! verifies.
//!
//! The key file (`TOKENER_SIGNING_KEY_FILE`) is JSON:
//! `{"keys":[{"id":1,"private_key":"ed25519-private/<hex>","active":true}, ...]}` with exactly
//! one active key. A key may also carry `"activates_at": <Unix seconds>`: it is published as
//! `next` (verifiers learn it) and starts signing at that time, when the key that was active
//! becomes retired. That is how a key rotates without any verifier meeting an unknown key id.

use crate::domain::{KeyId, Timestamp};
use biscuit_auth::{KeyPair, PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

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
}

/// A private key and its id.
pub struct SigningKey {
    id: KeyId,
    keypair: KeyPair,
}

impl SigningKey {
    pub fn generate(id: KeyId) -> Self {
        Self {
            id,
            keypair: KeyPair::new(),
        }
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

    fn from_prefixed(id: KeyId, private: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPrivateKey { id: id.0 };
        let hex = private.strip_prefix("ed25519-private/").ok_or_else(bad)?;
        let key =
            PrivateKey::from_bytes_hex(hex, biscuit_auth::Algorithm::Ed25519).map_err(|_| bad())?;
        Ok(Self {
            id,
            keypair: KeyPair::from(&key),
        })
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

/// All signing keys of a deployment: one active, keys scheduled to sign (`next`), the rest
/// retired but still verifying.
#[derive(Debug)]
pub struct KeyRing {
    active: KeyId,
    keys: BTreeMap<KeyId, SigningKey>,
    /// Keys that take over signing at a time, in activation order.
    scheduled: BTreeMap<Timestamp, KeyId>,
}

/// What a key of the ring does at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens.
    Active,
    /// Will sign from `activates_at`; verifiers already accept it.
    Next { activates_at: Timestamp },
    /// Only verifies tokens it signed.
    Retired,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<KeyFileEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyFileEntry {
    id: u32,
    private_key: String,
    #[serde(default)]
    active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activates_at: Option<u64>,
}

impl KeyRing {
    /// A ring holding one freshly generated key (id 1): the embedded default.
    pub fn generate() -> Self {
        Self::single(SigningKey::generate(KeyId(1)))
    }

    pub fn single(key: SigningKey) -> Self {
        let active = key.id();
        Self {
            active,
            keys: BTreeMap::from([(active, key)]),
            scheduled: BTreeMap::new(),
        }
    }

    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| KeyError::Syntax(e.to_string()))?;
        let found = file.keys.iter().filter(|k| k.active).count();
        if found != 1 {
            return Err(KeyError::ActiveCount { found });
        }
        let mut keys = BTreeMap::new();
        let mut scheduled = BTreeMap::new();
        let mut active = KeyId(0);
        for entry in file.keys {
            let id = KeyId(entry.id);
            if entry.active {
                active = id;
            } else if let Some(at) = entry.activates_at {
                if scheduled.insert(Timestamp::from_unix(at), id).is_some() {
                    return Err(KeyError::Syntax(format!(
                        "two keys activate at the same time ({at})"
                    )));
                }
            }
            let key = SigningKey::from_prefixed(id, &entry.private_key)?;
            if keys.insert(id, key).is_some() {
                return Err(KeyError::DuplicateId { id: entry.id });
            }
        }
        Ok(Self {
            active,
            keys,
            scheduled,
        })
    }

    /// The key file text for this ring (holds private keys: write it with restrictive mode).
    pub fn to_json(&self) -> String {
        let file = KeyFile {
            keys: self
                .keys
                .values()
                .map(|k| KeyFileEntry {
                    id: k.id.0,
                    private_key: k.keypair.private().to_prefixed_string(),
                    active: k.id == self.active,
                    activates_at: self
                        .scheduled
                        .iter()
                        .find(|(_, id)| **id == k.id)
                        .map(|(at, _)| at.unix()),
                })
                .collect(),
        };
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    /// The key marked active in the key file (what signs before any scheduled key activates).
    pub fn active(&self) -> &SigningKey {
        // The constructors guarantee the active id is present.
        &self.keys[&self.active]
    }

    /// The key that signs at `now`: the last scheduled key whose time has come, else the
    /// active one.
    pub fn signing_key(&self, now: Timestamp) -> &SigningKey {
        let id = self
            .scheduled
            .range(..=now)
            .next_back()
            .map_or(self.active, |(_, id)| *id);
        self.keys.get(&id).unwrap_or_else(|| self.active())
    }

    /// What the key `id` does at `now`.
    pub fn status(&self, id: KeyId, now: Timestamp) -> KeyStatus {
        if self.signing_key(now).id() == id {
            return KeyStatus::Active;
        }
        match self.scheduled.iter().find(|(_, k)| **k == id) {
            Some((at, _)) if *at > now => KeyStatus::Next { activates_at: *at },
            _ => KeyStatus::Retired,
        }
    }

    /// Every public key with its id, active first.
    pub fn public_keys(&self) -> PublicKeySet {
        PublicKeySet::new(self.keys.values().map(|k| (k.id, k.public())))
    }
}

/// Public keys by id: all an offline verifier needs.
#[derive(Debug, Clone, Default)]
pub struct PublicKeySet {
    keys: BTreeMap<KeyId, PublicKey>,
}

impl PublicKeySet {
    pub fn new(keys: impl IntoIterator<Item = (KeyId, PublicKey)>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }

    pub fn get(&self, id: KeyId) -> Option<&PublicKey> {
        self.keys.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (KeyId, &PublicKey)> {
        self.keys.iter().map(|(id, k)| (*id, k))
    }
}
