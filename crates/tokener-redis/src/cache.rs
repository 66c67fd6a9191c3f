//! The token cache on plain Redis strings with expiry.
//!
//! Records and revocation markers expire at the token's own expiry (`SET ... EXAT`), so the
//! cache never holds anything about dead tokens and needs no cleaning. A revocation lookup
//! reads the authority marker and the token's revocation marker in one round trip.
//!
//! Every command touches one key, so the keys may lie in any slot of a cluster; batches are
//! pipelined on a single Redis and sent command by command, at once, on a cluster.

use crate::store::Shared;
use async_trait::async_trait;
use deadpool_redis::redis::{self, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokener_core::{
    Client, ClientId, Revocation, StoreError, Timestamp, TokenCache, TokenId, TokenRecord,
};

/// The cache adapter. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct RedisTokenCache {
    shared: Arc<Shared>,
    complete_key: String,
}

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::corrupt(format!("cannot encode {what}: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: Option<Vec<u8>>,
) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::corrupt(format!("cached {what} does not decode: {e}")))
        })
        .transpose()
}

impl RedisTokenCache {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            complete_key: format!("{}revocations-complete", shared.cache_prefix),
            shared,
        }
    }

    fn record_key(&self, id: &TokenId) -> String {
        format!("{}token:{}", self.shared.cache_prefix, id.as_str())
    }

    fn revoked_key(&self, id: &TokenId) -> String {
        format!("{}revoked:{}", self.shared.cache_prefix, id.as_str())
    }

    fn client_key(&self, id: &ClientId) -> String {
        format!("{}client:{}", self.shared.cache_prefix, id.as_str())
    }

    async fn get_bytes(
        &self,
        operation: &'static str,
        key: String,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared
            .run(operation, Duration::ZERO, |mut c| async move {
                redis::cmd("GET").arg(&key).query_async(&mut c).await
            })
            .await
    }

    async fn delete(&self, operation: &'static str, keys: Vec<String>) -> Result<(), StoreError> {
        self.shared
            .run(operation, Duration::ZERO, |mut c| async move {
                redis::cmd("DEL").arg(&keys).query_async::<()>(&mut c).await
            })
            .await
    }
}

#[async_trait]
impl TokenCache for RedisTokenCache {
    async fn put_record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.put_records(std::slice::from_ref(record)).await
    }

    async fn put_records(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let now = now();
        let mut writes = Vec::with_capacity(records.len());
        for record in records {
            let key = self.record_key(record.id());
            let expires_at = record.claims.expires_at;
            // Replacing with an expired record means there is nothing to cache any more.
            let json = (expires_at > now)
                .then(|| encode("the record", record))
                .transpose()?;
            writes.push((key, json, expires_at.unix()));
        }
        let commands = writes
            .into_iter()
            .map(|(key, json, until)| match json {
                Some(json) => {
                    let mut set = redis::cmd("SET");
                    set.arg(key).arg(json).arg("EXAT").arg(until);
                    set
                }
                None => {
                    let mut del = redis::cmd("DEL");
                    del.arg(key);
                    del
                }
            })
            .collect();
        // One round trip for a whole batch (on a single Redis).
        self.shared
            .run_each("cache records", commands)
            .await
            .map(drop)
    }

    async fn get_record(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let bytes = self
            .get_bytes("read cached record", self.record_key(id))
            .await?;
        decode("record", bytes)
    }

    async fn evict_record(&self, id: &TokenId) -> Result<(), StoreError> {
        self.delete("evict cached record", vec![self.record_key(id)])
            .await
    }

    async fn mark_revoked(&self, id: &TokenId, expires_at: Timestamp) -> Result<(), StoreError> {
        self.mark_revoked_many(&[Revocation {
            token_id: id.clone(),
            revoked_at: now(),
            expires_at,
        }])
        .await
    }

    async fn mark_revoked_many(&self, revocations: &[Revocation]) -> Result<(), StoreError> {
        let now = now();
        let live: Vec<(String, u64)> = revocations
            .iter()
            .filter(|r| r.expires_at > now)
            .map(|r| (self.revoked_key(&r.token_id), r.expires_at.unix()))
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        let commands = live
            .into_iter()
            .map(|(key, until)| {
                let mut set = redis::cmd("SET");
                set.arg(key).arg(1).arg("EXAT").arg(until);
                set
            })
            .collect();
        // One round trip for the lot on a single Redis (warming loads pages of a thousand).
        self.shared
            .run_each("mark revocations", commands)
            .await
            .map(drop)
    }

    async fn revoked(&self, id: &TokenId) -> Result<Option<bool>, StoreError> {
        // Two keys of two slots: two GETs, in one round trip on a single Redis.
        let get = |key: String| {
            let mut get = redis::cmd("GET");
            get.arg(key);
            get
        };
        let replies = self
            .shared
            .run_each(
                "read revocation",
                vec![get(self.complete_key.clone()), get(self.revoked_key(id))],
            )
            .await?;
        let [complete, marker] = replies.as_slice() else {
            return Err(crate::errors::malformed(
                "read revocation",
                "not two replies",
            ));
        };
        let present = |value: &Value| !matches!(value, Value::Nil);
        Ok(match (present(marker), present(complete)) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        })
    }

    async fn mark_complete(&self) -> Result<(), StoreError> {
        let key = self.complete_key.clone();
        self.shared
            .run("mark cache complete", Duration::ZERO, |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
    }

    async fn mark_incomplete(&self) -> Result<(), StoreError> {
        self.delete("mark cache incomplete", vec![self.complete_key.clone()])
            .await
    }

    async fn is_complete(&self) -> Result<bool, StoreError> {
        let key = self.complete_key.clone();
        let count: u64 = self
            .shared
            .run("read cache authority", Duration::ZERO, |mut c| async move {
                redis::cmd("EXISTS").arg(&key).query_async(&mut c).await
            })
            .await?;
        Ok(count > 0)
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let key = self.client_key(&client.id);
        let json = encode("the client", client)?;
        let ttl_ms = u64::try_from(self.shared.config.client_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.shared
            .run("cache client", Duration::ZERO, |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(json)
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let bytes = self
            .get_bytes("read cached client", self.client_key(id))
            .await?;
        decode("client", bytes)
    }

    async fn evict_client(&self, id: &ClientId) -> Result<(), StoreError> {
        self.delete("evict cached client", vec![self.client_key(id)])
            .await
    }
}
