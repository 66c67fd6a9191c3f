//! The replay-cache port of `private_key_jwt`: remembers the assertion ids (`jti`) already
//! used, for as long as their assertions could be presented again, shared by every instance
//! when the adapter is Redis.

use crate::ports::StoreError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Remembers keys for a while; the first use of a key is told apart from every later one.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `key` for `keep`. True if it was not recorded yet (its first use), false if it
    /// was (a replay). Atomic: of two concurrent calls with one key, one gets true.
    async fn first_use(&self, key: &str, keep: Duration) -> Result<bool, StoreError>;
}

/// A shared cache: the binary picks the adapter at run time.
#[async_trait]
impl<T: ReplayCache + ?Sized> ReplayCache for Arc<T> {
    async fn first_use(&self, key: &str, keep: Duration) -> Result<bool, StoreError> {
        (**self).first_use(key, keep).await
    }
}
