//! Ports: what the services need from the outside world, as async traits with typed errors.
//! Adapters (in-memory here; MongoDB and Redis in their own crates) implement them and map
//! their driver errors to [`StoreError`] at the seam.

use crate::domain::{
    Client, ClientId, ClientRevocation, Revocation, Timestamp, TokenId, TokenRecord,
};
use async_trait::async_trait;

/// A failure of a store. Carries no driver message to callers' users: `detail` is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backing service could not be reached or did not answer in time; retrying later may
    /// succeed.
    #[error("store unavailable: {detail}")]
    Unavailable { detail: String },
    /// The backing service answered, but with something the adapter cannot make sense of.
    #[error("store returned corrupt data: {detail}")]
    Corrupt { detail: String },
}

impl StoreError {
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable {
            detail: detail.into(),
        }
    }

    pub fn corrupt(detail: impl Into<String>) -> Self {
        Self::Corrupt {
            detail: detail.into(),
        }
    }
}

/// The outcome of a revocation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The token was live and is now revoked.
    Revoked,
    /// The token had been revoked before; the first revocation time stands.
    AlreadyRevoked,
    /// No such token is recorded.
    Unknown,
}

/// Where a listing of revocations resumes: strictly after this (time, id) pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RevocationCursor {
    pub revoked_at: Timestamp,
    pub token_id: TokenId,
}

/// The permanent record of issued tokens.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Records an issued token. Idempotent: recording the same id again changes nothing that
    /// was already recorded (in particular not a revocation).
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError>;

    /// Records many tokens at once (the write-behind path); idempotent like [`Self::record`].
    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError>;

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError>;

    /// Marks a token revoked at `at`.
    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError>;

    /// Whether the token is revoked (unknown tokens are not).
    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError>;

    /// Revocations strictly after `after` (all if `None`), oldest first, at most `limit`.
    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError>;

    /// Deletes records of tokens that expired before `before`; returns how many went.
    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Records a client-wide revocation. One entry per client: a later one replaces it when it
    /// covers more (a later `issued_before`); an earlier one changes nothing.
    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError>;

    /// Client-wide revocations made at or after `since`, in no particular order.
    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError>;
}

/// The registry of clients allowed to ask for tokens.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ClientRegistry: Send + Sync + 'static {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    /// Creates the client, or replaces the one with the same id.
    async fn upsert(&self, client: &Client) -> Result<(), StoreError>;

    /// Every client, ordered by id.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
}

/// Shared ports: the binary picks adapters at run time and hands services `Arc<dyn …>`.
#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for std::sync::Arc<T> {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        (**self).record(record).await
    }
    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        (**self).record_many(records).await
    }
    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        (**self).get(id).await
    }
    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError> {
        (**self).revoke(id, at).await
    }
    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        (**self).is_revoked(id).await
    }
    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        (**self).revocations(after, limit).await
    }
    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        (**self).prune_expired(before).await
    }
    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError> {
        (**self).revoke_client(revocation).await
    }
    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError> {
        (**self).client_revocations(since).await
    }
}

#[async_trait]
impl<T: ClientRegistry + ?Sized> ClientRegistry for std::sync::Arc<T> {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        (**self).get(id).await
    }
    async fn upsert(&self, client: &Client) -> Result<(), StoreError> {
        (**self).upsert(client).await
    }
    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        (**self).list().await
    }
}
