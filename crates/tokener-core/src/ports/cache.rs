//! The cache port: token records, revocation markers and clients kept close at hand, so that
//! verification and client authentication need no round trip to the permanent store in the
//! steady state.
//!
//! A cache may lose its data at any time (a restart without persistence, a flush). For records
//! and clients a loss only costs a trip to the permanent store. For revocations it must never
//! turn "revoked" into "not revoked": so the absence of a revocation marker only means "not
//! revoked" while the cache holds an *authority marker*, set by [`TokenCache::mark_complete`]
//! after every revocation was loaded from the permanent store. Losing the data loses that
//! marker too, and [`TokenCache::revoked`] answers `None` ("ask the permanent store") until the
//! revocations are loaded again.
//!
//! Entries live no longer than they matter: a record and a revocation marker until the token
//! expires (after which the token is refused for its expiry anyway), a client for a short
//! time-to-live chosen by the adapter (which bounds how stale a cached client can get).

use crate::domain::{Client, ClientId, Revocation, Timestamp, TokenId, TokenRecord};
use crate::ports::StoreError;
use async_trait::async_trait;

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TokenCache: Send + Sync + 'static {
    /// Caches the record until its token expires (nothing is cached for an expired token).
    /// Replaces a record cached before under the same id.
    async fn put_record(&self, record: &TokenRecord) -> Result<(), StoreError>;

    /// [`Self::put_record`] for many records at once (a group commit's batch), in as few round
    /// trips as the adapter can. On an error some of them may be cached, some not.
    async fn put_records(&self, records: &[TokenRecord]) -> Result<(), StoreError>;

    /// The cached record, if there is one and its token has not expired.
    async fn get_record(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError>;

    /// Forgets the cached record (not its revocation marker).
    async fn evict_record(&self, id: &TokenId) -> Result<(), StoreError>;

    /// Notes that the token is revoked, until it expires at `expires_at`.
    async fn mark_revoked(&self, id: &TokenId, expires_at: Timestamp) -> Result<(), StoreError>;

    /// [`Self::mark_revoked`] for many tokens at once (warming from the permanent store);
    /// revocations of tokens already expired are skipped.
    async fn mark_revoked_many(&self, revocations: &[Revocation]) -> Result<(), StoreError>;

    /// `Some(true)`: a revocation marker is there. `Some(false)`: there is none and the cache
    /// is authoritative. `None`: there is none, but the cache is not authoritative (never
    /// warmed, or lost its data): ask the permanent store.
    async fn revoked(&self, id: &TokenId) -> Result<Option<bool>, StoreError>;

    /// Declares the cache authoritative for revocations: called after every revocation of an
    /// unexpired token was loaded from the permanent store.
    async fn mark_complete(&self) -> Result<(), StoreError>;

    /// Withdraws the authority (e.g. after a revocation marker could not be written), so that
    /// revocation lookups go to the permanent store until the cache is warmed again.
    async fn mark_incomplete(&self) -> Result<(), StoreError>;

    /// Whether the cache is authoritative for revocations (see [`Self::mark_complete`]).
    async fn is_complete(&self) -> Result<bool, StoreError>;

    /// Caches a client for the adapter's client time-to-live.
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    async fn evict_client(&self, id: &ClientId) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: TokenCache + ?Sized> TokenCache for std::sync::Arc<T> {
    async fn put_record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        (**self).put_record(record).await
    }
    async fn put_records(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        (**self).put_records(records).await
    }
    async fn get_record(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        (**self).get_record(id).await
    }
    async fn evict_record(&self, id: &TokenId) -> Result<(), StoreError> {
        (**self).evict_record(id).await
    }
    async fn mark_revoked(&self, id: &TokenId, expires_at: Timestamp) -> Result<(), StoreError> {
        (**self).mark_revoked(id, expires_at).await
    }
    async fn mark_revoked_many(&self, revocations: &[Revocation]) -> Result<(), StoreError> {
        (**self).mark_revoked_many(revocations).await
    }
    async fn revoked(&self, id: &TokenId) -> Result<Option<bool>, StoreError> {
        (**self).revoked(id).await
    }
    async fn mark_complete(&self) -> Result<(), StoreError> {
        (**self).mark_complete().await
    }
    async fn mark_incomplete(&self) -> Result<(), StoreError> {
        (**self).mark_incomplete().await
    }
    async fn is_complete(&self) -> Result<bool, StoreError> {
        (**self).is_complete().await
    }
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        (**self).put_client(client).await
    }
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        (**self).get_client(id).await
    }
    async fn evict_client(&self, id: &ClientId) -> Result<(), StoreError> {
        (**self).evict_client(id).await
    }
}
