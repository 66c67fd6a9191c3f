//! The token service on a key ring kept in a key store: rotation as the admin API drives it.

use std::sync::Arc;
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryKeyStore, InMemoryTokenStore};
use tokener_core::domain::ManualClock;
use tokener_core::ports::{KeyStore, MockKeyStore};
use tokener_core::token::{KeySealer, KeyStatus};
use tokener_core::{
    ClientService, Clock, Grants, IssueRequest, KeyId, KeyManager, KeyManagerError, StoreError,
    Timestamp, TokenService, Ttl, TtlPolicy, VerifyFailure, VerifyOptions,
};

const SECRET: &str = "an encryption secret of at least 32 chars";
const HOUR: u64 = 3600;

#[tokio::test]
async fn in_memory_key_store_meets_the_contract() {
    tokener_core::contract::key_store(&InMemoryKeyStore::new()).await;
}

#[tokio::test]
async fn a_rotation_signs_with_the_new_key_and_verifies_old_tokens_until_they_expire() {
    let clock = Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000)));
    let store = Arc::new(InMemoryKeyStore::new());
    let keys = KeyManager::new(
        store.clone(),
        KeySealer::new([SECRET]).unwrap(),
        clock.clone(),
    );
    let ttl = TtlPolicy::new(Ttl::from_secs(HOUR).unwrap(), Ttl::from_secs(HOUR).unwrap()).unwrap();
    let registry = InMemoryClientRegistry::new();
    let tokens = TokenService::new(
        InMemoryTokenStore::new(),
        registry.clone(),
        Arc::new(keys.load_or_create().await.unwrap()),
        clock.clone(),
        ttl,
    );
    let grants = Grants {
        scopes: ["orders:read".parse().unwrap()].into(),
        audiences: ["orders".parse().unwrap()].into(),
        ..Default::default()
    };
    let (client, _) = ClientService::new(registry, clock.clone())
        .create("billing".parse().unwrap(), grants)
        .await
        .unwrap();
    let issue = || tokens.issue_for(&client, IssueRequest::default());

    let old = issue().await.unwrap();
    assert_eq!(old.record.claims.key_id, KeyId(1));
    let next = keys.add(clock.now().plus_secs(600)).await.unwrap();
    tokens.replace_keys(Arc::new(keys.load().await.unwrap()));
    let ring = tokens.keys();
    assert!(matches!(
        ring.status(next, clock.now(), ttl.max_ttl().as_duration()),
        KeyStatus::Next { .. }
    ));
    assert_eq!(
        issue().await.unwrap().record.claims.key_id,
        KeyId(1),
        "next does not sign yet"
    );

    clock.advance(600);
    let new = issue().await.unwrap();
    assert_eq!(
        new.record.claims.key_id, next,
        "the new key signs from its activation"
    );
    let options = VerifyOptions::default();
    tokens.verify(&old.bearer, &options).await.unwrap();
    tokens.verify(&new.bearer, &options).await.unwrap();

    // Once every token of the old key has expired, it leaves the published keys.
    clock.advance(HOUR);
    tokens.replace_keys(Arc::new(keys.load().await.unwrap()));
    let ring = tokens.keys();
    assert_eq!(
        ring.status(KeyId(1), clock.now(), ttl.max_ttl().as_duration()),
        KeyStatus::Withdrawn
    );
    assert!(ring
        .published_keys(clock.now(), ttl.max_ttl().as_duration())
        .get(KeyId(1))
        .is_none());
    assert!(matches!(
        tokens.verify(&old.bearer, &options).await,
        Err(VerifyFailure::Invalid(_))
    ));
    tokens.verify(&new.bearer, &options).await.unwrap();
    assert_eq!(
        store.keys().await.unwrap().len(),
        2,
        "a withdrawn key stays on record"
    );
}

#[tokio::test]
async fn a_store_that_fails_yields_no_ring_and_no_key() {
    let mut store = MockKeyStore::new();
    store.expect_keys().returning(|| Ok(Vec::new()));
    store
        .expect_insert_key()
        .returning(|_| Err(StoreError::unavailable("down")));
    let keys = KeyManager::new(
        Arc::new(store),
        KeySealer::new([SECRET]).unwrap(),
        Arc::new(ManualClock::at(Timestamp::from_unix(1_800_000_000))),
    );
    assert!(matches!(
        keys.load_or_create().await,
        Err(KeyManagerError::Store(StoreError::Unavailable { .. }))
    ));
}
