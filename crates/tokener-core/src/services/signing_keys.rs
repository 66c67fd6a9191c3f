//! The signing key ring kept in a key store: created by the first instance that starts, loaded
//! by the others, changed through the admin API. Private keys are sealed before they reach the
//! store and opened when the ring is loaded.

use crate::domain::{Clock, KeyId, Timestamp};
use crate::ports::{KeyStore, StoreError, StoredKey};
use crate::token::{KeyError, KeyLifecycle, KeyRing, KeySealer, KeyStatus, SealError, SigningKey};
use std::sync::Arc;
use std::time::Duration;

/// Why the stored ring could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored private key does not open: wrong secret, or an altered record. Nothing was used
    /// or changed.
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the stored key ring is not usable: {0}")]
    Ring(#[from] KeyError),
    #[error("there is no key {0}")]
    UnknownKey(KeyId),
    #[error(
        "key {0} signs new tokens: a key stops signing when a newer key activates (add one, \
         with an activation time of now if it must take over at once)"
    )]
    Signing(KeyId),
    #[error("key {0} is already scheduled to activate; retire it first to schedule another")]
    AlreadyScheduled(KeyId),
}

/// One key of the ring as the admin API shows it: never private material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyView {
    pub id: KeyId,
    /// `ed25519/<hex>`.
    pub public_key: String,
    pub status: KeyStatus,
    pub lifecycle: KeyLifecycle,
    /// When its signing stops (or stopped), if anything ends it yet.
    pub stops_signing_at: Option<Timestamp>,
}

impl KeyView {
    /// Every key of `ring`, with its status at `now` for tokens living at most `max_ttl`.
    pub fn all(ring: &KeyRing, now: Timestamp, max_ttl: Duration) -> Vec<KeyView> {
        ring.entries()
            .map(|(key, lifecycle)| KeyView {
                id: key.id(),
                public_key: key.public().to_string(),
                status: ring.status(key.id(), now, max_ttl),
                lifecycle,
                stops_signing_at: ring.stops_signing_at(key.id()),
            })
            .collect()
    }
}

/// How many times a new key is stored under the next id when another instance took the id
/// first.
const INSERT_ATTEMPTS: u32 = 5;

/// The ring in a key store, sealed under the configured secrets.
pub struct KeyManager {
    store: Arc<dyn KeyStore>,
    sealer: KeySealer,
    clock: Arc<dyn Clock>,
}

impl KeyManager {
    pub fn new(store: Arc<dyn KeyStore>, sealer: KeySealer, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            sealer,
            clock,
        }
    }

    /// The stored ring; when the store holds no key yet, first stores one that signs from now.
    /// Of instances starting together, one stores it and the others load that one.
    pub async fn load_or_create(&self) -> Result<KeyRing, KeyManagerError> {
        if self.store.keys().await?.is_empty() {
            let now = self.clock.now();
            let key = SigningKey::generate(KeyId(1));
            if self.store.insert_key(&self.stored(&key, now, now)).await? {
                tracing::info!(key_id = 1, "created the signing key ring in the key store");
            }
        }
        self.load().await
    }

    /// The stored ring, every private key opened. A key that opened only with an older secret
    /// is sealed again under the first one, so the older secret can then be dropped.
    pub async fn load(&self) -> Result<KeyRing, KeyManagerError> {
        let stored = self.store.keys().await?;
        let mut keys = Vec::with_capacity(stored.len());
        for record in &stored {
            let (key, position) =
                self.sealer
                    .open(record.id, &record.public_key, &record.sealed_private_key)?;
            if position > 0 {
                let resealed = self.sealer.seal(&key);
                if self
                    .store
                    .reseal_key(record.id, &record.sealed_private_key, &resealed)
                    .await?
                {
                    tracing::info!(key_id = %record.id, "sealed a signing key under the first encryption secret");
                }
            }
            let lifecycle = KeyLifecycle {
                activates_at: Some(record.activates_at),
                retired_at: record.retired_at,
            };
            keys.push((key, lifecycle));
        }
        Ok(KeyRing::new(keys)?)
    }

    /// Stores a new key, signing from `activates_at` (now or later); it is published as `next`
    /// until then. Returns its id: one more than any id ever stored.
    pub async fn add(&self, activates_at: Timestamp) -> Result<KeyId, KeyManagerError> {
        let now = self.clock.now();
        // A time already past means at once: the same as now, which is always allowed.
        let activates_at = activates_at.max(now);
        let ring = self.load().await?;
        let scheduled = ring.ids().find(|id| {
            matches!(
                ring.status(*id, now, Duration::ZERO),
                KeyStatus::Next { .. }
            )
        });
        if let Some(id) = scheduled {
            return Err(KeyManagerError::AlreadyScheduled(id));
        }
        let mut id = ring.ids().map(|id| id.0).max().unwrap_or(0);
        for _ in 0..INSERT_ATTEMPTS {
            id += 1;
            let key = SigningKey::generate(KeyId(id));
            if self
                .store
                .insert_key(&self.stored(&key, now, activates_at.max(now)))
                .await?
            {
                return Ok(KeyId(id));
            }
        }
        Err(StoreError::unavailable("other instances keep taking the next key id").into())
    }

    /// Retires key `id`: a key scheduled to sign never will; a key that signed before stays
    /// published until the tokens it signed expire. The key signing now cannot be retired.
    pub async fn retire(&self, id: KeyId) -> Result<(), KeyManagerError> {
        let now = self.clock.now();
        let ring = self.load().await?;
        if ring.lifecycle(id).is_none() {
            return Err(KeyManagerError::UnknownKey(id));
        }
        if ring.signing_key(now).id() == id {
            return Err(KeyManagerError::Signing(id));
        }
        if !self.store.retire_key(id, now).await? {
            return Err(KeyManagerError::UnknownKey(id));
        }
        Ok(())
    }

    fn stored(
        &self,
        key: &SigningKey,
        created_at: Timestamp,
        activates_at: Timestamp,
    ) -> StoredKey {
        StoredKey {
            id: key.id(),
            algorithm: "ed25519".into(),
            public_key: key.public().to_string(),
            sealed_private_key: self.sealer.seal(key),
            created_at,
            activates_at,
            retired_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::InMemoryKeyStore;
    use crate::domain::ManualClock;

    const SECRET: &str = "an encryption secret of at least 32 chars";
    const NEXT_SECRET: &str = "the next encryption secret, 32 chars or more";

    fn manager(
        store: &Arc<InMemoryKeyStore>,
        secrets: &[&str],
        clock: &Arc<ManualClock>,
    ) -> KeyManager {
        KeyManager::new(
            store.clone(),
            KeySealer::new(secrets.iter().copied()).unwrap(),
            clock.clone(),
        )
    }

    #[tokio::test]
    async fn two_instances_on_one_store_share_one_ring() {
        let store = Arc::new(InMemoryKeyStore::new());
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
        let a = manager(&store, &[SECRET], &clock)
            .load_or_create()
            .await
            .unwrap();
        let b = manager(&store, &[SECRET], &clock)
            .load_or_create()
            .await
            .unwrap();
        assert_eq!(store.keys().await.unwrap().len(), 1);
        assert_eq!(a.active().public(), b.active().public());
    }

    #[tokio::test]
    async fn a_wrong_secret_loads_nothing_and_changes_nothing() {
        let store = Arc::new(InMemoryKeyStore::new());
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
        manager(&store, &[SECRET], &clock)
            .load_or_create()
            .await
            .unwrap();
        let before = store.keys().await.unwrap();
        let error = manager(&store, &[NEXT_SECRET], &clock)
            .load_or_create()
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            KeyManagerError::Seal(SealError::DoesNotOpen { id: 1 })
        ));
        assert_eq!(store.keys().await.unwrap(), before);
    }

    #[tokio::test]
    async fn keys_sealed_under_an_older_secret_are_sealed_again_under_the_first() {
        let store = Arc::new(InMemoryKeyStore::new());
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
        let old = manager(&store, &[SECRET], &clock)
            .load_or_create()
            .await
            .unwrap();
        let rotated = manager(&store, &[NEXT_SECRET, SECRET], &clock)
            .load()
            .await
            .unwrap();
        assert_eq!(rotated.active().public(), old.active().public());
        // The old secret is no longer needed.
        let only_new = manager(&store, &[NEXT_SECRET], &clock)
            .load()
            .await
            .unwrap();
        assert_eq!(only_new.active().public(), old.active().public());
    }

    #[tokio::test]
    async fn an_activation_time_already_past_activates_the_key_at_once() {
        let store = Arc::new(InMemoryKeyStore::new());
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
        let keys = manager(&store, &[SECRET], &clock);
        keys.load_or_create().await.unwrap();
        let now = clock.now();
        let id = keys
            .add(Timestamp::from_unix(now.unix() - 3600))
            .await
            .unwrap();
        let ring = keys.load().await.unwrap();
        assert_eq!(ring.status(id, now, Duration::ZERO), KeyStatus::Active);
        let views = KeyView::all(&ring, now, Duration::ZERO);
        let added = views.iter().find(|view| view.id == id).unwrap();
        assert_eq!(
            added.lifecycle.activates_at,
            Some(now),
            "now, not the past time"
        );
    }

    #[tokio::test]
    async fn rotation_schedules_one_key_and_refuses_to_retire_the_signer() {
        let store = Arc::new(InMemoryKeyStore::new());
        let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
        let keys = manager(&store, &[SECRET], &clock);
        keys.load_or_create().await.unwrap();
        let now = clock.now();
        let next = keys.add(now.plus_secs(600)).await.unwrap();
        assert_eq!(next, KeyId(2));
        assert!(matches!(
            keys.add(now.plus_secs(900)).await,
            Err(KeyManagerError::AlreadyScheduled(KeyId(2)))
        ));
        assert!(matches!(
            keys.retire(KeyId(1)).await,
            Err(KeyManagerError::Signing(KeyId(1)))
        ));
        assert!(matches!(
            keys.retire(KeyId(7)).await,
            Err(KeyManagerError::UnknownKey(KeyId(7)))
        ));

        // A cancelled next key keeps its id: the next key gets a new one.
        keys.retire(next).await.unwrap();
        assert_eq!(keys.add(now.plus_secs(600)).await.unwrap(), KeyId(3));
        clock.advance(600);
        let ring = keys.load().await.unwrap();
        assert_eq!(ring.signing_key(clock.now()).id(), KeyId(3));
        keys.retire(KeyId(1)).await.unwrap();
    }
}
