//! TokenService and ClientService decisions, on the in-memory adapters and on mocks.

use std::collections::BTreeSet;
use std::sync::Arc;
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::domain::ManualClock;
use tokener_core::ports::{MockClientRegistry, MockTokenStore};
use tokener_core::{
    ClientError, ClientId, ClientSecret, ClientService, Grants, IssueError, IssueRequest, KeyRing,
    Scope, StoreError, Timestamp, TokenService, TokenStore, Ttl, TtlPolicy, VerifyError,
    VerifyFailure, VerifyOptions,
};

const NOW: u64 = 1_800_000_000;

struct Fixture {
    tokens: TokenService<InMemoryTokenStore, InMemoryClientRegistry>,
    clients: ClientService<InMemoryClientRegistry>,
    clock: Arc<ManualClock>,
}

fn fixture(ttl: TtlPolicy) -> Fixture {
    let clock = Arc::new(ManualClock::at(Timestamp::from_unix(NOW)));
    let registry = InMemoryClientRegistry::new();
    Fixture {
        tokens: TokenService::new(
            InMemoryTokenStore::new(),
            registry.clone(),
            Arc::new(KeyRing::generate()),
            clock.clone(),
            ttl,
        ),
        clients: ClientService::new(registry, clock.clone()),
        clock,
    }
}

fn set<T>(items: &[&str]) -> BTreeSet<T>
where
    T: std::str::FromStr + Ord,
    T::Err: std::fmt::Debug,
{
    items.iter().map(|s| s.parse().unwrap()).collect()
}

fn grants() -> Grants {
    Grants {
        scopes: set(&["orders:read", "orders:write"]),
        audiences: set(&["orders"]),
        ..Default::default()
    }
}

fn id(s: &str) -> ClientId {
    s.parse().unwrap()
}

#[tokio::test]
async fn issue_defaults_to_all_grants_and_24_hours_and_records_the_token() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    let claims = &issued.record.claims;
    assert_eq!(claims.scopes, set(&["orders:read", "orders:write"]));
    assert_eq!(claims.audiences, set(&["orders"]));
    assert_eq!(claims.expires_at.unix() - claims.issued_at.unix(), 86_400);
    let stored = f
        .tokens
        .store()
        .get(&claims.token_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, issued.record);
    let verified = f
        .tokens
        .verify(&issued.bearer, &VerifyOptions::default())
        .await
        .unwrap();
    assert_eq!(&verified, claims);
}

#[tokio::test]
async fn issue_narrows_to_what_was_asked() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let request = IssueRequest {
        scopes: Some(set(&["orders:read"])),
        audiences: Some(BTreeSet::new()),
        ttl: Some(Ttl::from_secs(60).unwrap()),
        ..Default::default()
    };
    let issued = f
        .tokens
        .issue(&id("billing"), &secret, request)
        .await
        .unwrap();
    assert_eq!(issued.record.claims.scopes, set(&["orders:read"]));
    assert!(issued.record.claims.audiences.is_empty());
    assert_eq!(issued.record.claims.expires_at.unix(), NOW + 60);
}

#[tokio::test]
async fn wrong_secret_unknown_client_and_disabled_client_are_one_error() {
    let f = fixture(TtlPolicy::default());
    let (mut client, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let wrong = ClientSecret::presented("wrong");
    for (who, secret) in [("billing", &wrong), ("nobody", &secret)] {
        let err = f
            .tokens
            .issue(&id(who), secret, IssueRequest::default())
            .await
            .unwrap_err();
        assert!(matches!(err, IssueError::InvalidClient), "{who}: {err:?}");
    }
    client.disabled = true;
    use tokener_core::ClientRegistry;
    f.tokens.clients().upsert(&client).await.unwrap();
    let err = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, IssueError::InvalidClient));
}

#[tokio::test]
async fn grants_and_ttl_are_enforced() {
    let f = fixture(
        TtlPolicy::new(Ttl::from_secs(600).unwrap(), Ttl::from_secs(3600).unwrap()).unwrap(),
    );
    let (_, secret) = f
        .clients
        .create(
            id("billing"),
            Grants {
                max_ttl: Some(Ttl::from_secs(300).unwrap()),
                ..grants()
            },
        )
        .await
        .unwrap();
    let billing = id("billing");
    let ask = |request: IssueRequest| f.tokens.issue(&billing, &secret, request);
    let err = ask(IssueRequest {
        scopes: Some(set(&["orders:admin"])),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, IssueError::ScopeNotAllowed(s) if s.as_str() == "orders:admin"));
    let err = ask(IssueRequest {
        audiences: Some(set(&["payments"])),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, IssueError::AudienceNotAllowed(a) if a.as_str() == "payments"));
    let err = ask(IssueRequest {
        ttl: Some(Ttl::from_secs(301).unwrap()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, IssueError::TtlTooLong { max } if max.as_secs() == 300));
    // The deployment default (600 s) is capped to the client's maximum rather than refused.
    let issued = ask(IssueRequest::default()).await.unwrap();
    assert_eq!(issued.record.claims.expires_at.unix(), NOW + 300);
    assert!(f
        .tokens
        .store()
        .get(&issued.record.claims.token_id)
        .await
        .unwrap()
        .is_some());
}

#[test]
fn ttl_policy_rejects_default_above_max() {
    let err = TtlPolicy::new(Ttl::from_secs(10).unwrap(), Ttl::from_secs(5).unwrap()).unwrap_err();
    assert_eq!((err.default, err.max), (10, 5));
}

#[tokio::test]
async fn verify_sees_revocation_and_expiry() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let a = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    let b = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    f.tokens
        .store()
        .revoke(&a.record.claims.token_id, Timestamp::from_unix(NOW + 1))
        .await
        .unwrap();
    let err = f
        .tokens
        .verify(&a.bearer, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyFailure::Invalid(VerifyError::Revoked)));
    assert!(f
        .tokens
        .verify(&b.bearer, &VerifyOptions::default())
        .await
        .is_ok());
    f.clock.advance(86_401);
    let err = f
        .tokens
        .verify(&b.bearer, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyFailure::Invalid(VerifyError::Expired)));
}

/// A token verified once is judged from cached claims afterwards: every judgement but the
/// signature must still be made, each of these after the first verification cached it.
#[tokio::test]
async fn a_cached_verification_is_judged_again_on_every_use() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    let verify = |options: VerifyOptions| {
        let bearer = issued.bearer.clone();
        let tokens = &f.tokens;
        async move { tokens.verify(&bearer, &options).await }
    };
    verify(VerifyOptions::default()).await.unwrap();
    let other_audience = VerifyOptions::default().audience("payments".parse().unwrap());
    assert!(matches!(
        verify(other_audience).await,
        Err(VerifyFailure::Invalid(VerifyError::WrongAudience))
    ));
    let other_scope = VerifyOptions::default().scope("orders:admin".parse().unwrap());
    assert!(matches!(
        verify(other_scope).await,
        Err(VerifyFailure::Invalid(VerifyError::MissingScope))
    ));
    let own_audience = VerifyOptions::default().audience("orders".parse().unwrap());
    verify(own_audience).await.unwrap();

    f.tokens.revoke_client(&id("billing")).await.unwrap();
    assert!(matches!(
        verify(VerifyOptions::default()).await,
        Err(VerifyFailure::Invalid(VerifyError::Revoked))
    ));
}

#[tokio::test]
async fn a_cached_verification_ends_with_the_keys_it_was_checked_against() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let issued = f
        .tokens
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    let options = VerifyOptions::default();
    f.tokens.verify(&issued.bearer, &options).await.unwrap();
    // A ring generated anew: same key id, another key.
    f.tokens.replace_keys(Arc::new(KeyRing::generate()));
    assert!(matches!(
        f.tokens.verify(&issued.bearer, &options).await,
        Err(VerifyFailure::Invalid(VerifyError::BadSignature))
    ));
}

#[tokio::test]
async fn client_service_create_is_unique_and_ensure_updates() {
    let f = fixture(TtlPolicy::default());
    f.clients.create(id("billing"), grants()).await.unwrap();
    assert!(matches!(
        f.clients.create(id("billing"), grants()).await,
        Err(ClientError::AlreadyExists(_))
    ));
    let secret = ClientSecret::parse("s".repeat(40)).unwrap();
    let first = f
        .clients
        .ensure(id("boot"), &secret, grants())
        .await
        .unwrap();
    let again = f
        .clients
        .ensure(id("boot"), &secret, grants())
        .await
        .unwrap();
    assert_eq!(
        first, again,
        "unchanged settings leave the client as it was"
    );
    f.clock.advance(10);
    let narrower = Grants {
        scopes: set(&["orders:read"]),
        ..grants()
    };
    let updated = f
        .clients
        .ensure(id("boot"), &secret, narrower)
        .await
        .unwrap();
    assert_eq!(updated.allowed_scopes, set::<Scope>(&["orders:read"]));
    assert_eq!(updated.created_at, first.created_at);
    assert!(updated.updated_at > first.updated_at);
    assert!(f
        .tokens
        .issue(&id("boot"), &secret, IssueRequest::default())
        .await
        .is_ok());
}

fn mocked(
    store: MockTokenStore,
    registry: MockClientRegistry,
) -> TokenService<MockTokenStore, MockClientRegistry> {
    TokenService::new(
        store,
        registry,
        Arc::new(KeyRing::generate()),
        Arc::new(ManualClock::at(Timestamp::from_unix(NOW))),
        TtlPolicy::default(),
    )
}

#[tokio::test]
async fn store_failure_means_no_token() {
    let secret = ClientSecret::generate();
    let client = tokener_core::Client::new(
        id("billing"),
        &secret,
        set(&["a"]),
        BTreeSet::new(),
        Timestamp::from_unix(NOW),
    );
    let mut registry = MockClientRegistry::new();
    registry
        .expect_get()
        .returning(move |_| Ok(Some(client.clone())));
    let mut store = MockTokenStore::new();
    store
        .expect_record()
        .times(1)
        .returning(|_| Err(StoreError::unavailable("connection refused")));
    let service = mocked(store, registry);
    let err = service
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, IssueError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn registry_failure_is_not_reported_as_bad_credentials() {
    let mut registry = MockClientRegistry::new();
    registry
        .expect_get()
        .returning(|_| Err(StoreError::unavailable("timeout")));
    let mut store = MockTokenStore::new();
    store.expect_record().never();
    let service = mocked(store, registry);
    let err = service
        .issue(
            &id("billing"),
            &ClientSecret::generate(),
            IssueRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IssueError::Store(_)), "{err:?}");
}

#[tokio::test]
async fn revocation_check_failure_is_not_a_valid_token() {
    let secret = ClientSecret::generate();
    let client = tokener_core::Client::new(
        id("billing"),
        &secret,
        set(&["a"]),
        BTreeSet::new(),
        Timestamp::from_unix(NOW),
    );
    let mut registry = MockClientRegistry::new();
    registry
        .expect_get()
        .returning(move |_| Ok(Some(client.clone())));
    let mut store = MockTokenStore::new();
    store.expect_record().returning(|_| Ok(()));
    // Verification reads the revocation state, which the service loads from the store first:
    // if that fails, the answer is unknown, not "valid".
    store
        .expect_revocations()
        .returning(|_, _| Err(StoreError::unavailable("down")));
    let service = mocked(store, registry);
    let issued = service
        .issue(&id("billing"), &secret, IssueRequest::default())
        .await
        .unwrap();
    let err = service
        .verify(&issued.bearer, &VerifyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyFailure::Store(_)));
}

#[tokio::test]
async fn in_memory_token_store_meets_the_contract() {
    tokener_core::contract::token_store(&InMemoryTokenStore::new()).await;
}

#[tokio::test]
async fn in_memory_client_registry_meets_the_contract() {
    tokener_core::contract::client_registry(&InMemoryClientRegistry::new()).await;
}

#[tokio::test]
async fn client_updates_and_secret_rotation() {
    let f = fixture(TtlPolicy::default());
    let (_, old) = f.clients.create(id("billing"), grants()).await.unwrap();
    let change = tokener_core::ClientChange {
        disabled: Some(true),
        max_ttl: Some(Some(Ttl::from_secs(60).unwrap())),
        ..Default::default()
    };
    let updated = f.clients.update(&id("billing"), change).await.unwrap();
    assert!(updated.disabled);
    assert_eq!(
        updated.allowed_scopes,
        grants().scopes,
        "untouched fields keep their value"
    );
    assert!(f
        .tokens
        .issue(&id("billing"), &old, IssueRequest::default())
        .await
        .is_err());
    f.clients
        .update(
            &id("billing"),
            tokener_core::ClientChange {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, new) = f.clients.rotate_secret(&id("billing")).await.unwrap();
    assert!(matches!(
        f.tokens
            .issue(&id("billing"), &old, IssueRequest::default())
            .await,
        Err(IssueError::InvalidClient)
    ));
    let issued = f
        .tokens
        .issue(&id("billing"), &new, IssueRequest::default())
        .await
        .unwrap();
    assert_eq!(
        issued.record.claims.expires_at.unix(),
        NOW + 60,
        "the client's own max TTL caps the default"
    );
    assert!(matches!(
        f.clients.get(&id("nobody")).await,
        Err(ClientError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_client_given_keys_stops_accepting_its_secret_until_a_secret_is_rotated_in() {
    let f = fixture(TtlPolicy::default());
    let (_, secret) = f.clients.create(id("billing"), grants()).await.unwrap();
    let signer = tokener_core::services::client_assertion::signer::AssertionSigner::generate(
        tokener_core::AssertionAlgorithm::EdDsa,
        "k1",
    );
    let keys: tokener_core::ClientKeys = serde_json::from_value(signer.jwks()).unwrap();
    assert!(f.tokens.authenticate(&id("billing"), &secret).await.is_ok());
    let updated = f
        .clients
        .update(
            &id("billing"),
            tokener_core::ClientChange {
                jwks: Some(keys.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.auth_method(), "private_key_jwt");
    assert!(matches!(
        f.tokens.authenticate(&id("billing"), &secret).await,
        Err(IssueError::InvalidClient)
    ));
    let (rotated, new) = f.clients.rotate_secret(&id("billing")).await.unwrap();
    assert_eq!(rotated.jwks, None, "a secret replaces the keys");
    f.tokens.authenticate(&id("billing"), &new).await.unwrap();
    // Registered with keys from the start: no secret is handed out, none works.
    let keyed = f
        .clients
        .create_with_keys(id("keyed"), grants(), keys)
        .await
        .unwrap();
    assert_eq!(keyed.auth_method(), "private_key_jwt");
    assert!(f
        .clients
        .create_with_keys(
            id("keyed"),
            grants(),
            serde_json::from_value(signer.jwks()).unwrap()
        )
        .await
        .is_err());
}

#[tokio::test]
async fn in_memory_hit_counter_meets_the_contract() {
    tokener_core::contract::hit_counter(&tokener_core::InMemoryHitCounter::new()).await;
}

#[tokio::test]
async fn in_memory_audit_log_meets_the_contract() {
    tokener_core::contract::audit_log(&tokener_core::InMemoryAuditLog::new()).await;
}
