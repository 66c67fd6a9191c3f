//! The hit-counter port of rate limiting: counts hits per key and fixed window, shared by
//! every instance when the adapter is Redis.

use crate::ports::StoreError;
use async_trait::async_trait;
use std::sync::Arc;

/// Counts hits per key and window.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HitCounter: Send + Sync + 'static {
    /// Adds one hit to `key` in window number `window` and returns the window's total so far.
    async fn hit(&self, key: &str, window: u64) -> Result<u64, StoreError>;

    /// The hits of `key` in window number `window` so far, adding none.
    async fn count(&self, key: &str, window: u64) -> Result<u64, StoreError>;
}

/// Shared counters: the binary picks the adapter at run time.
#[async_trait]
impl<T: HitCounter + ?Sized> HitCounter for Arc<T> {
    async fn hit(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        (**self).hit(key, window).await
    }
    async fn count(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        (**self).count(key, window).await
    }
}
