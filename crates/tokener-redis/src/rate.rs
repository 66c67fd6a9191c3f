//! Rate-limit counters shared by every instance: one Redis counter per client and window.

use crate::store::Shared;
use async_trait::async_trait;
use deadpool_redis::redis;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::services::rate_limit::WINDOW_SECONDS;
use tokener_core::HitCounter;
use tokener_core::StoreError;

/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct RedisHitCounter {
    shared: Arc<Shared>,
}

impl RedisHitCounter {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl HitCounter for RedisHitCounter {
    async fn hit(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        let key = format!("{}rate:{key}:{window}", self.shared.cache_prefix);
        self.shared
            .run("rate limit", Duration::ZERO, |mut c| async move {
                // INCR and EXPIRE in one transaction: the counter never outlives its window
                // (plus a margin for clock skew between instances).
                let (count,): (u64,) = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, (2 * WINDOW_SECONDS) as i64)
                    .ignore()
                    .query_async(&mut c)
                    .await?;
                Ok(count)
            })
            .await
    }

    async fn count(&self, key: &str, window: u64) -> Result<u64, StoreError> {
        let key = format!("{}rate:{key}:{window}", self.shared.cache_prefix);
        self.shared
            .run("rate limit", Duration::ZERO, |mut c| async move {
                let count: Option<u64> = redis::cmd("GET").arg(&key).query_async(&mut c).await?;
                Ok(count.unwrap_or(0))
            })
            .await
    }
}
