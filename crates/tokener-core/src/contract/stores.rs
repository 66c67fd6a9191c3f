//! The token-store and client-registry contracts. Every function expects a fresh, empty store.

use super::fixtures::{random_id, sample_client, sample_record, T0};
use crate::domain::{ClientId, ClientRevocation, Scope, Timestamp, TokenId, TokenRecord};
use crate::ports::{ClientRegistry, RevocationCursor, RevokeOutcome, TokenStore};

/// Runs every token-store contract on `store`.
pub async fn token_store<S: TokenStore>(store: &S) {
    record_and_get(store).await;
    record_is_idempotent(store).await;
    revoke_outcomes(store).await;
    revocations_are_listed_in_order(store).await;
    prune_removes_only_expired(store).await;
    revocation_times_keep_milliseconds(store).await;
    client_revocations_keep_the_widest(store).await;
}

async fn record_and_get<S: TokenStore>(store: &S) {
    let record = sample_record("billing", T0 + 3600);
    store.record(&record).await.expect("record");
    let found = store.get(record.id()).await.expect("get");
    assert_eq!(
        found.as_ref(),
        Some(&record),
        "a recorded token reads back unchanged"
    );
    assert_eq!(store.get(&random_id()).await.expect("get"), None);
    assert!(!store.is_revoked(record.id()).await.expect("is_revoked"));
}

async fn record_is_idempotent<S: TokenStore>(store: &S) {
    let a = sample_record("billing", T0 + 3600);
    let b = sample_record("shipping", T0 + 7200);
    store.record(&a).await.expect("record");
    store
        .revoke(a.id(), Timestamp::from_unix(T0 + 10))
        .await
        .expect("revoke");
    // Replaying the batch (as a write-behind retry would) must not undo the revocation, nor
    // fail on the already-present record, nor duplicate anything.
    store
        .record_many(&[a.clone(), b.clone(), b.clone()])
        .await
        .expect("record_many with duplicates");
    store.record(&a).await.expect("re-record");
    let a_now = store.get(a.id()).await.expect("get").expect("present");
    assert_eq!(a_now.revoked_at, Some(Timestamp::from_unix(T0 + 10)));
    assert_eq!(store.get(b.id()).await.expect("get"), Some(b));
    store.record_many(&[]).await.expect("empty batch");
}

async fn revoke_outcomes<S: TokenStore>(store: &S) {
    let record = sample_record("billing", T0 + 3600);
    assert_eq!(
        store
            .revoke(record.id(), Timestamp::from_unix(T0))
            .await
            .expect("revoke"),
        RevokeOutcome::Unknown
    );
    store.record(&record).await.expect("record");
    assert_eq!(
        store
            .revoke(record.id(), Timestamp::from_unix(T0 + 5))
            .await
            .expect("revoke"),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        store
            .revoke(record.id(), Timestamp::from_unix(T0 + 9))
            .await
            .expect("revoke"),
        RevokeOutcome::AlreadyRevoked
    );
    assert!(store.is_revoked(record.id()).await.expect("is_revoked"));
    let stored = store.get(record.id()).await.expect("get").expect("present");
    assert_eq!(
        stored.revoked_at,
        Some(Timestamp::from_unix(T0 + 5)),
        "first revocation stands"
    );
}

async fn revocations_are_listed_in_order<S: TokenStore>(store: &S) {
    // Far in the future so the earlier cases' revocations (at T0 + small) come first.
    let base = T0 + 1_000_000;
    let records: Vec<TokenRecord> = (0..5)
        .map(|_| sample_record("lister", base + 9999))
        .collect();
    store.record_many(&records).await.expect("record_many");
    for (i, r) in records.iter().enumerate() {
        store
            .revoke(r.id(), Timestamp::from_unix(base + i as u64))
            .await
            .expect("revoke");
    }
    let all = store.revocations(None, 1000).await.expect("revocations");
    let mine: Vec<&TokenId> = all
        .iter()
        .filter(|r| r.revoked_at.unix() >= base)
        .map(|r| &r.token_id)
        .collect();
    let expected: Vec<&TokenId> = records.iter().map(|r| r.id()).collect();
    assert_eq!(mine, expected, "revocations come oldest first");
    let cursor = RevocationCursor {
        revoked_at: Timestamp::from_unix(base + 1),
        token_id: records[1].id().clone(),
    };
    let page = store.revocations(Some(cursor), 2).await.expect("page");
    let page_ids: Vec<&TokenId> = page.iter().map(|r| &r.token_id).collect();
    assert_eq!(
        page_ids,
        vec![records[2].id(), records[3].id()],
        "cursor is exclusive, limit holds"
    );
    assert_eq!(page[0].expires_at, Timestamp::from_unix(base + 9999));
}

/// The feed is ordered by revocation time to the millisecond (see `RevocationSync`).
async fn revocation_times_keep_milliseconds<S: TokenStore>(store: &S) {
    let base = T0 + 2_000_000;
    let record = sample_record("millis", base + 9999);
    store.record(&record).await.expect("record");
    let at = Timestamp::from_unix_millis(base * 1000 + 123);
    store.revoke(record.id(), at).await.expect("revoke");
    let stored = store
        .get(record.id())
        .await
        .expect("get")
        .expect("recorded");
    assert_eq!(stored.revoked_at, Some(at));
    let after = RevocationCursor {
        revoked_at: at.minus_millis(1),
        token_id: record.id().clone(),
    };
    let page = store.revocations(Some(after), 10).await.expect("page");
    assert_eq!(page.first().map(|r| r.revoked_at), Some(at));
}

async fn client_revocations_keep_the_widest<S: TokenStore>(store: &S) {
    let base = Timestamp::from_unix(T0 + 3_000_000);
    let client = ClientId::parse("widest").expect("valid");
    assert!(store
        .client_revocations(base)
        .await
        .expect("list")
        .is_empty());
    let first = ClientRevocation::at(client.clone(), base.plus_millis(10), 3600);
    let later = ClientRevocation::at(client.clone(), base.plus_secs(5), 3600);
    store.revoke_client(&first).await.expect("revoke client");
    store.revoke_client(&later).await.expect("revoke client");
    // An older one arriving late changes nothing.
    store.revoke_client(&first).await.expect("revoke client");
    let held = store.client_revocations(base).await.expect("list");
    assert_eq!(held, vec![later.clone()]);
    assert!(store
        .client_revocations(base.plus_secs(6))
        .await
        .expect("list")
        .is_empty());
}

async fn prune_removes_only_expired<S: TokenStore>(store: &S) {
    let far = T0 + 10_000_000;
    let old = sample_record("pruned", far);
    let live = sample_record("pruned", far + 100);
    store
        .record_many(&[old.clone(), live.clone()])
        .await
        .expect("record_many");
    let removed = store
        .prune_expired(Timestamp::from_unix(far + 50))
        .await
        .expect("prune");
    assert!(removed >= 1, "the expired record was pruned");
    assert_eq!(store.get(old.id()).await.expect("get"), None);
    assert_eq!(store.get(live.id()).await.expect("get"), Some(live));
}

/// Runs every client-registry contract on `registry`.
pub async fn client_registry<C: ClientRegistry>(registry: &C) {
    let id = ClientId::parse("zeta").expect("valid");
    assert_eq!(registry.get(&id).await.expect("get"), None);
    let client = sample_client("zeta");
    registry.upsert(&client).await.expect("upsert");
    assert_eq!(
        registry.get(&id).await.expect("get").as_ref(),
        Some(&client)
    );

    let mut changed = client.clone();
    changed.disabled = true;
    changed
        .allowed_scopes
        .insert(Scope::parse("orders:write").expect("valid"));
    changed.max_ttl = None;
    changed.updated_at = Timestamp::from_unix(T0 + 60);
    // Public keys of private_key_jwt are kept as registered.
    changed.jwks = Some(
        serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "2026-12",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "EC", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}))
        .expect("valid keys"),
    );
    registry.upsert(&changed).await.expect("replace");
    assert_eq!(
        registry.get(&id).await.expect("get").as_ref(),
        Some(&changed)
    );

    registry
        .upsert(&sample_client("alpha"))
        .await
        .expect("upsert");
    let ids: Vec<String> = registry
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(
        ids,
        vec!["alpha".to_string(), "zeta".to_string()],
        "listed once each, by id"
    );
}
