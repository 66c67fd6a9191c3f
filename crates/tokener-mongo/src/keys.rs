//! The signing key ring in the `keys` collection: one document per key (`_id` = key id),
//! never deleted, so an id is never given to another key. The private key is stored only
//! sealed (see `tokener_core::token::KeySealer`); this adapter never sees it in the clear.

use crate::documents::{from_date, to_date};
use crate::errors::{bounded, only_duplicate_keys, to_store_error, within};
use crate::store::Shared;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use std::sync::Arc;
use tokener_core::{KeyId, KeyStore, StoreError, StoredKey, Timestamp};

pub(crate) const KEYS: &str = "keys";

/// The [`KeyStore`] on MongoDB.
#[derive(Clone)]
pub struct MongoKeyStore {
    shared: Arc<Shared>,
}

impl MongoKeyStore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn collection(&self) -> mongodb::Collection<Document> {
        self.shared.database.collection(KEYS)
    }
}

#[async_trait]
impl KeyStore for MongoKeyStore {
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let documents = bounded(self.shared.operation_timeout, "list signing keys", async {
            self.collection()
                .find(doc! {})
                .sort(doc! { "_id": 1 })
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        documents.iter().map(parse).collect()
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        const OPERATION: &str = "store a signing key";
        let document = doc! {
            "_id": i64::from(key.id.0),
            "algorithm": &key.algorithm,
            "public_key": &key.public_key,
            "sealed_private_key": &key.sealed_private_key,
            "created_at": to_date(key.created_at),
            "activates_at": to_date(key.activates_at),
            "retired_at": key.retired_at.map_or(Bson::Null, |t| Bson::DateTime(to_date(t))),
        };
        let keys = self.collection();
        let insert = keys.insert_one(document);
        match within(self.shared.operation_timeout, OPERATION, insert).await? {
            Ok(_) => Ok(true),
            // Another instance stored this id first: its key stands.
            Err(error) if only_duplicate_keys(&error) => Ok(false),
            Err(error) => Err(to_store_error(OPERATION, &error)),
        }
    }

    async fn retire_key(&self, id: KeyId, at: Timestamp) -> Result<bool, StoreError> {
        let timeout = self.shared.operation_timeout;
        let updated = bounded(
            timeout,
            "retire a signing key",
            self.collection().update_one(
                doc! { "_id": i64::from(id.0), "retired_at": Bson::Null },
                doc! { "$set": { "retired_at": to_date(at) } },
            ),
        )
        .await?;
        if updated.matched_count > 0 {
            return Ok(true);
        }
        // Retired before (the first time stands), or no such key.
        let existing = bounded(
            timeout,
            "find a signing key",
            self.collection().find_one(doc! { "_id": i64::from(id.0) }),
        )
        .await?;
        Ok(existing.is_some())
    }

    async fn reseal_key(&self, id: KeyId, old: &str, new: &str) -> Result<bool, StoreError> {
        let updated = bounded(
            self.shared.operation_timeout,
            "seal a signing key again",
            self.collection().update_one(
                doc! { "_id": i64::from(id.0), "sealed_private_key": old },
                doc! { "$set": { "sealed_private_key": new } },
            ),
        )
        .await?;
        Ok(updated.matched_count > 0)
    }
}

fn parse(document: &Document) -> Result<StoredKey, StoreError> {
    let raw_id = document.get("_id").cloned().unwrap_or(Bson::Null);
    let label = raw_id.to_string();
    let corrupt = |what: &str| StoreError::corrupt(format!("signing key {label}: bad {what}"));
    let id = match raw_id {
        Bson::Int64(n) => u32::try_from(n).ok(),
        Bson::Int32(n) => u32::try_from(n).ok(),
        _ => None,
    }
    .ok_or_else(|| corrupt("_id"))?;
    let text = |field: &str| -> Result<String, StoreError> {
        document
            .get_str(field)
            .map(str::to_string)
            .map_err(|_| corrupt(field))
    };
    let date = |field: &str| -> Result<Timestamp, StoreError> {
        let value: DateTime = *document.get_datetime(field).map_err(|_| corrupt(field))?;
        from_date(value, field, &label)
    };
    let retired_at = match document.get("retired_at") {
        None | Some(Bson::Null) => None,
        Some(_) => Some(date("retired_at")?),
    };
    Ok(StoredKey {
        id: KeyId(id),
        algorithm: text("algorithm")?,
        public_key: text("public_key")?,
        sealed_private_key: text("sealed_private_key")?,
        created_at: date("created_at")?,
        activates_at: date("activates_at")?,
        retired_at,
    })
}
