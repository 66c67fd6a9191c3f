//! The key file (`TOKENER_SIGNING_KEY_FILE`), JSON:
//! `{"keys":[{"id":1,"private_key":"ed25519-private/<hex>","active":true}, ...]}` with exactly
//! one active key. A key may also carry `"activates_at": <Unix seconds>`: it is published as
//! `next` (verifiers learn it) and starts signing at that time, when the key that was active
//! becomes retired. That is how a key rotates without any verifier meeting an unknown key id.
//! A key that is neither active nor scheduled is retired: it verifies for as long as the file
//! holds it.

use super::{KeyError, KeyLifecycle, KeyRing, SigningKey};
use crate::domain::{KeyId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| KeyError::Syntax(e.to_string()))?;
        let found = file.keys.iter().filter(|k| k.active).count();
        if found != 1 {
            return Err(KeyError::ActiveCount { found });
        }
        let mut times = BTreeSet::new();
        let mut keys = Vec::new();
        for entry in file.keys {
            let lifecycle = if entry.active {
                KeyLifecycle::ALWAYS
            } else {
                KeyLifecycle {
                    activates_at: entry.activates_at.map(Timestamp::from_unix),
                    retired_at: None,
                }
            };
            if let (false, Some(at)) = (entry.active, entry.activates_at) {
                if !times.insert(at) {
                    return Err(KeyError::Syntax(format!(
                        "two keys activate at the same time ({at})"
                    )));
                }
            }
            let key = SigningKey::from_prefixed(KeyId(entry.id), &entry.private_key)?;
            keys.push((key, lifecycle));
        }
        Self::new(keys)
    }

    /// The key file text for this ring (holds private keys: write it with restrictive mode).
    pub fn to_json(&self) -> String {
        let file = KeyFile {
            keys: self
                .entries()
                .map(|(key, lifecycle)| {
                    let active = lifecycle == KeyLifecycle::ALWAYS;
                    KeyFileEntry {
                        id: key.id().0,
                        private_key: key.private_prefixed(),
                        active,
                        activates_at: lifecycle
                            .activates_at
                            .filter(|_| !active)
                            .map(Timestamp::unix),
                    }
                })
                .collect(),
        };
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }
}
