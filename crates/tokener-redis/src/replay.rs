//! The `private_key_jwt` replay cache shared by every instance: one expiring Redis string per
//! used assertion id.

use crate::store::Shared;
use async_trait::async_trait;
use deadpool_redis::redis;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::{ReplayCache, StoreError};

/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct RedisReplayCache {
    shared: Arc<Shared>,
}

impl RedisReplayCache {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl ReplayCache for RedisReplayCache {
    async fn first_use(&self, key: &str, keep: Duration) -> Result<bool, StoreError> {
        let key = format!("{}jti:{key}", self.shared.cache_prefix);
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1);
        self.shared
            .run("record assertion id", Duration::ZERO, |mut c| async move {
                // SET NX: of any number of instances presenting one key at once, exactly one
                // sees it set (OK); the others get nil.
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(keep_ms)
                    .query_async(&mut c)
                    .await?;
                Ok(set.is_some())
            })
            .await
    }
}
