//! Samples and helpers the contract suites (and the adapter crates' tests) share.

use crate::domain::{
    Audience, Client, ClientId, ClientSecret, Fingerprint, KeyId, Scope, Timestamp, TokenClaims,
    TokenId, TokenRecord, Ttl,
};
use crate::ports::{RevocationCursor, RevokeOutcome, TokenStore};
use rand::RngCore;
use std::collections::BTreeSet;

pub(crate) const T0: u64 = 1_800_000_000;

pub(crate) fn random_id() -> TokenId {
    let mut bytes = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut bytes);
    TokenId::from_revocation_id(&bytes).expect("64 bytes make a valid token id")
}

/// A plausible token record expiring at `expires_at`.
pub fn sample_record(client: &str, expires_at: u64) -> TokenRecord {
    TokenRecord {
        claims: TokenClaims {
            token_id: random_id(),
            client_id: ClientId::parse(client).expect("valid client id"),
            audiences: BTreeSet::from([Audience::parse("orders").expect("valid")]),
            scopes: BTreeSet::from([
                Scope::parse("orders:read").expect("valid"),
                Scope::parse("orders:write").expect("valid"),
            ]),
            issued_at: Timestamp::from_unix(T0),
            expires_at: Timestamp::from_unix(expires_at),
            key_id: KeyId(7),
        },
        fingerprint: Fingerprint::of(&format!("bearer-{client}-{expires_at}")),
        revoked_at: None,
    }
}

/// A client with a fresh secret.
pub fn sample_client(id: &str) -> Client {
    let mut client = Client::new(
        ClientId::parse(id).expect("valid client id"),
        &ClientSecret::generate(),
        BTreeSet::from([Scope::parse("orders:read").expect("valid")]),
        BTreeSet::from([Audience::parse("orders").expect("valid")]),
        Timestamp::from_unix(T0),
    );
    client.max_ttl = Some(Ttl::from_secs(600).expect("valid ttl"));
    client
}

/// A [`TokenStore`] in front of another, counting how often each token id was handed to it for
/// writing (`record` or `record_many`): the write-behind tests check that every record reaches
/// the permanent store, and how many times.
#[derive(Clone, Default)]
pub struct CountingStore<S> {
    inner: S,
    writes: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<TokenId, usize>>>,
}

impl<S: TokenStore> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            writes: Default::default(),
        }
    }

    /// How often `id` was handed over for writing.
    pub fn writes_of(&self, id: &TokenId) -> usize {
        self.writes().get(id).copied().unwrap_or(0)
    }

    /// Every id handed over for writing, with its count.
    pub fn writes(&self) -> std::collections::HashMap<TokenId, usize> {
        self.writes.lock().expect("not poisoned").clone()
    }

    fn count(&self, records: &[TokenRecord]) {
        let mut writes = self.writes.lock().expect("not poisoned");
        for r in records {
            *writes.entry(r.id().clone()).or_default() += 1;
        }
    }
}

#[async_trait::async_trait]
impl<S: TokenStore> TokenStore for CountingStore<S> {
    async fn record(&self, record: &TokenRecord) -> Result<(), crate::ports::StoreError> {
        self.count(std::slice::from_ref(record));
        self.inner.record(record).await
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), crate::ports::StoreError> {
        self.count(records);
        self.inner.record_many(records).await
    }

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, crate::ports::StoreError> {
        self.inner.get(id).await
    }

    async fn revoke(
        &self,
        id: &TokenId,
        at: Timestamp,
    ) -> Result<RevokeOutcome, crate::ports::StoreError> {
        self.inner.revoke(id, at).await
    }

    async fn is_revoked(&self, id: &TokenId) -> Result<bool, crate::ports::StoreError> {
        self.inner.is_revoked(id).await
    }

    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<crate::domain::Revocation>, crate::ports::StoreError> {
        self.inner.revocations(after, limit).await
    }

    async fn prune_expired(&self, before: Timestamp) -> Result<u64, crate::ports::StoreError> {
        self.inner.prune_expired(before).await
    }

    async fn revoke_client(
        &self,
        revocation: &crate::domain::ClientRevocation,
    ) -> Result<(), crate::ports::StoreError> {
        self.inner.revoke_client(revocation).await
    }

    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<crate::domain::ClientRevocation>, crate::ports::StoreError> {
        self.inner.client_revocations(since).await
    }
}
