//! The [`ClientRegistry`] adapter: registered clients in the `clients` collection.

use crate::documents::{fields, ClientDocument};
use crate::errors::{bounded, only_duplicate_keys, to_store_error, within};
use crate::store::Shared;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use std::fmt;
use std::sync::Arc;
use tokener_core::{Client, ClientId, ClientRegistry, StoreError};

/// Registered clients in MongoDB. Obtained from [`crate::MongoStore::clients`]; cheap to clone.
#[derive(Clone)]
pub struct MongoClientRegistry {
    shared: Arc<Shared>,
}

impl fmt::Debug for MongoClientRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoClientRegistry")
            .field("collection", &self.shared.clients.namespace().to_string())
            .finish()
    }
}

impl MongoClientRegistry {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl ClientRegistry for MongoClientRegistry {
    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        bounded(
            self.shared.operation_timeout,
            "get client",
            self.shared
                .clients
                .find_one(doc! { fields::ID: id.as_str() }),
        )
        .await?
        .map(ClientDocument::into_client)
        .transpose()
    }

    async fn upsert(&self, client: &Client) -> Result<(), StoreError> {
        // A whole-document replace: fields the new version lacks (e.g. max_ttl_seconds) go.
        const OPERATION: &str = "upsert client";
        let replace = || {
            self.shared
                .clients
                .replace_one(
                    doc! { fields::ID: client.id.as_str() },
                    ClientDocument::from_client(client),
                )
                .upsert(true)
        };
        let timeout = self.shared.operation_timeout;
        match within(timeout, OPERATION, replace()).await? {
            Ok(_) => Ok(()),
            // Two upserts of a new id at once (instances starting together with the same
            // bootstrap client): one inserted, the other's insert collided. Now it exists, so
            // the same replace is an update.
            Err(error) if only_duplicate_keys(&error) => {
                bounded(timeout, OPERATION, replace()).await.map(|_| ())
            }
            Err(error) => Err(to_store_error(OPERATION, &error)),
        }
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        // Clients are few (one per calling service), so one unpaged listing is fine.
        let documents = bounded(self.shared.operation_timeout, "list clients", async {
            self.shared
                .clients
                .find(doc! {})
                .sort(doc! { fields::ID: 1 })
                .selection_criteria(self.shared.listings.clone())
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        documents
            .into_iter()
            .map(ClientDocument::into_client)
            .collect()
    }
}
