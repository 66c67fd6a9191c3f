//! The contract of the key store port.

use crate::domain::{KeyId, Timestamp};
use crate::ports::{KeyStore, StoredKey};

fn stored(id: u32, sealed: &str) -> StoredKey {
    StoredKey {
        id: KeyId(id),
        algorithm: "ed25519".into(),
        public_key: format!("ed25519/{:064x}", id),
        sealed_private_key: sealed.into(),
        created_at: Timestamp::from_unix_millis(1_800_000_000_123),
        activates_at: Timestamp::from_unix_millis(1_800_000_600_456),
        retired_at: None,
    }
}

/// Every key store: ids are taken once and forever, retirement is recorded once, resealing is
/// conditional, and times keep their milliseconds.
pub async fn key_store<K: KeyStore>(store: &K) {
    assert!(
        store.keys().await.unwrap().is_empty(),
        "a new store holds no key"
    );

    let two = stored(2, "sealed-2");
    let one = stored(1, "sealed-1");
    assert!(store.insert_key(&two).await.unwrap());
    assert!(store.insert_key(&one).await.unwrap());
    assert_eq!(
        store.keys().await.unwrap(),
        vec![one.clone(), two.clone()],
        "in id order"
    );

    // A second key under a taken id is refused and changes nothing.
    let rival = stored(2, "sealed-by-someone-else");
    assert!(!store.insert_key(&rival).await.unwrap());
    assert_eq!(store.keys().await.unwrap()[1], two);

    // Retirement is recorded once: the first time stands.
    let first = Timestamp::from_unix_millis(1_800_001_000_789);
    assert!(store.retire_key(KeyId(1), first).await.unwrap());
    assert!(store
        .retire_key(KeyId(1), first.plus_millis(5_000))
        .await
        .unwrap());
    assert!(
        !store.retire_key(KeyId(9), first).await.unwrap(),
        "unknown key"
    );
    let keys = store.keys().await.unwrap();
    assert_eq!(keys[0].retired_at, Some(first));
    assert_eq!(keys[1].retired_at, None, "the other key is untouched");

    // Resealing replaces only what the caller read.
    assert!(!store
        .reseal_key(KeyId(2), "stale", "resealed")
        .await
        .unwrap());
    assert!(store
        .reseal_key(KeyId(2), "sealed-2", "resealed")
        .await
        .unwrap());
    assert!(!store
        .reseal_key(KeyId(9), "sealed-2", "resealed")
        .await
        .unwrap());
    assert_eq!(
        store.keys().await.unwrap()[1].sealed_private_key,
        "resealed"
    );
}
