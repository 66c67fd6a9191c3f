//! The key store in process memory: the embedded mode's, and a stand-in for tests.

use crate::domain::{KeyId, Timestamp};
use crate::ports::{KeyStore, StoreError, StoredKey};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    keys: Mutex<BTreeMap<KeyId, StoredKey>>,
}

impl InMemoryKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, BTreeMap<KeyId, StoredKey>> {
        // A panic elsewhere cannot leave a map half-written: every change is one insert.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(InMemoryKeyStore::keys(self).values().cloned().collect())
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let mut keys = InMemoryKeyStore::keys(self);
        if keys.contains_key(&key.id) {
            return Ok(false);
        }
        keys.insert(key.id, key.clone());
        Ok(true)
    }

    async fn retire_key(&self, id: KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let mut keys = InMemoryKeyStore::keys(self);
        let Some(key) = keys.get_mut(&id) else {
            return Ok(false);
        };
        key.retired_at.get_or_insert(at);
        Ok(true)
    }

    async fn reseal_key(&self, id: KeyId, old: &str, new: &str) -> Result<bool, StoreError> {
        let mut keys = InMemoryKeyStore::keys(self);
        match keys.get_mut(&id) {
            Some(key) if key.sealed_private_key == old => {
                key.sealed_private_key = new.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
