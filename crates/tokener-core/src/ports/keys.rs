//! The key store: where the signing key ring lives when no key file is configured, so that
//! every instance signs with the same keys and a restart keeps them.

use crate::domain::{KeyId, Timestamp};
use crate::ports::StoreError;
use async_trait::async_trait;
use std::sync::Arc;

/// A signing key as stored: public parts in the clear, the private key sealed
/// ([`crate::token::KeySealer`]); the store never sees private material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: KeyId,
    /// `ed25519`.
    pub algorithm: String,
    /// `ed25519/<hex>`.
    pub public_key: String,
    pub sealed_private_key: String,
    pub created_at: Timestamp,
    pub activates_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// The stored key ring. Keys are never deleted, so an id is never given to another key.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Every key ever stored, in id order.
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    /// Stores a new key. `false` when a key with that id exists (it is left unchanged): of
    /// instances racing to store the same id, exactly one wins.
    async fn insert_key(&self, key: &StoredKey) -> Result<bool, StoreError>;

    /// Sets `retired_at` of a key not yet retired. `false` when there is no such key.
    async fn retire_key(&self, id: KeyId, at: Timestamp) -> Result<bool, StoreError>;

    /// Replaces the sealed private key of `id` if it still is `old` (a key sealed under an
    /// older encryption secret, sealed again under the current one). `false` otherwise.
    async fn reseal_key(&self, id: KeyId, old: &str, new: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl<T: KeyStore + ?Sized> KeyStore for Arc<T> {
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        (**self).keys().await
    }
    async fn insert_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        (**self).insert_key(key).await
    }
    async fn retire_key(&self, id: KeyId, at: Timestamp) -> Result<bool, StoreError> {
        (**self).retire_key(id, at).await
    }
    async fn reseal_key(&self, id: KeyId, old: &str, new: &str) -> Result<bool, StoreError> {
        (**self).reseal_key(id, old, new).await
    }
}
