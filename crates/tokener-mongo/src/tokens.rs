//! The [`TokenStore`] adapter: token records in the `tokens` collection.

use crate::documents::{
    fields, from_date, to_date, RevocationDocument, RevokedAtDocument, TokenDocument,
};
use crate::errors::{bounded, only_duplicate_keys};
use crate::store::Shared;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson};
use std::fmt;
use std::sync::Arc;
use tokener_core::{
    ClientRevocation, Revocation, RevocationCursor, RevokeOutcome, StoreError, Timestamp, TokenId,
    TokenRecord, TokenStore,
};

/// How often `revoke` re-reads after a conditional update matched nothing and the token turned
/// out to be live (a concurrent `record` landed in between); more than one retry is
/// practically impossible.
const REVOKE_ATTEMPTS: usize = 3;

/// Token records in MongoDB. Obtained from [`crate::MongoStore::tokens`]; cheap to clone.
#[derive(Clone)]
pub struct MongoTokenStore {
    shared: Arc<Shared>,
}

impl fmt::Debug for MongoTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoTokenStore")
            .field("collection", &self.shared.tokens.namespace().to_string())
            .finish()
    }
}

impl MongoTokenStore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The current `revoked_at` of a token: `None` if unknown, `Some(None)` if live.
    async fn revoked_at(&self, id: &TokenId) -> Result<Option<Option<Timestamp>>, StoreError> {
        let found = bounded(
            self.shared.operation_timeout,
            "read revocation",
            self.shared
                .tokens
                .clone_with_type::<RevokedAtDocument>()
                .find_one(doc! { fields::ID: id.as_str() })
                .projection(doc! { fields::REVOKED_AT: 1 }),
        )
        .await?;
        found
            .map(|doc| {
                doc.revoked_at
                    .map(|d| from_date(d, "revoked_at", id.as_str()))
                    .transpose()
            })
            .transpose()
    }
}

#[async_trait]
impl TokenStore for MongoTokenStore {
    async fn record(&self, record: &TokenRecord) -> Result<(), StoreError> {
        // A plain insert keyed by _id: if the id is already recorded the insert fails with a
        // duplicate key and leaves that record (and its revocation) untouched, which is the
        // idempotency asked for. Preferred to an upsert with $setOnInsert, which on FerretDB
        // 1.x is a read-then-insert whose losing side of a race fails with an internal error
        // rather than a duplicate key; the unique _id makes the insert atomic on both servers.
        let document = TokenDocument::from_record(record);
        bounded(self.shared.operation_timeout, "record token", async {
            match self.shared.tokens.insert_one(document).await {
                Err(error) if only_duplicate_keys(&error) => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }

    async fn record_many(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            // The driver rejects an empty insert.
            return Ok(());
        }
        let documents: Vec<TokenDocument> =
            records.iter().map(TokenDocument::from_record).collect();
        // One unordered insert (split into server-sized batches by the driver) rather than an
        // upsert per record: records already there fail individually with a duplicate key and
        // are left untouched, which is exactly the idempotency asked for; every other record
        // is still inserted because the insert is unordered. (Client::bulk_write needs
        // MongoDB 8 and FerretDB 1.x lacks it.)
        bounded(self.shared.operation_timeout, "record tokens", async {
            match self
                .shared
                .tokens
                .insert_many(documents)
                .ordered(false)
                .await
            {
                Err(error) if only_duplicate_keys(&error) => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }

    async fn get(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        bounded(
            self.shared.operation_timeout,
            "get token",
            self.shared
                .tokens
                .find_one(doc! { fields::ID: id.as_str() }),
        )
        .await?
        .map(TokenDocument::into_record)
        .transpose()
    }

    async fn revoke(&self, id: &TokenId, at: Timestamp) -> Result<RevokeOutcome, StoreError> {
        for _ in 0..REVOKE_ATTEMPTS {
            // Conditional on not being revoked yet (`null` matches a missing field too), so the
            // first revocation time stands and concurrent revocations cannot both win: MongoDB
            // applies a single-document update atomically. FerretDB 1.x does not (it reads,
            // modifies and writes back without a lock), so there concurrent revocations of one
            // token may each be told `Revoked` and the last one's time is kept; the token ends
            // up revoked either way.
            let updated = bounded(
                self.shared.operation_timeout,
                "revoke token",
                self.shared.tokens.update_one(
                    doc! { fields::ID: id.as_str(), fields::REVOKED_AT: Bson::Null },
                    doc! { "$set": { fields::REVOKED_AT: to_date(at) } },
                ),
            )
            .await?;
            if updated.matched_count > 0 {
                return Ok(RevokeOutcome::Revoked);
            }
            match self.revoked_at(id).await? {
                None => return Ok(RevokeOutcome::Unknown),
                Some(Some(_)) => return Ok(RevokeOutcome::AlreadyRevoked),
                // Recorded between the update and the read: try again.
                Some(None) => continue,
            }
        }
        Err(StoreError::unavailable(format!(
            "revoke token: {id} kept changing under the revocation"
        )))
    }

    async fn is_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        Ok(matches!(self.revoked_at(id).await?, Some(Some(_))))
    }

    async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        if limit == 0 {
            // A limit of 0 means "no limit" to MongoDB.
            return Ok(Vec::new());
        }
        let filter = match &after {
            // `$type: "date"` selects revoked tokens (live ones have no revoked_at or null).
            None => doc! { fields::REVOKED_AT: { "$type": "date" } },
            // Strictly after (t, id) in (revoked_at, _id) order. `$gt` on a date only matches
            // dates, so live tokens never match either branch.
            Some(cursor) => {
                let t = to_date(cursor.revoked_at);
                doc! { "$or": [
                    { fields::REVOKED_AT: { "$gt": t } },
                    { fields::REVOKED_AT: t, fields::ID: { "$gt": cursor.token_id.as_str() } },
                ] }
            }
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let documents = bounded(self.shared.operation_timeout, "list revocations", async {
            self.shared
                .tokens
                .clone_with_type::<RevocationDocument>()
                .find(filter)
                .sort(doc! { fields::REVOKED_AT: 1, fields::ID: 1 })
                .projection(doc! { fields::REVOKED_AT: 1, fields::EXPIRES_AT: 1 })
                .limit(limit)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        documents
            .into_iter()
            .map(RevocationDocument::into_revocation)
            .collect()
    }

    async fn prune_expired(&self, before: Timestamp) -> Result<u64, StoreError> {
        let deleted = bounded(
            self.shared.operation_timeout,
            "prune expired tokens",
            self.shared
                .tokens
                .delete_many(doc! { fields::EXPIRES_AT: { "$lt": to_date(before) } }),
        )
        .await?;
        Ok(deleted.deleted_count)
    }

    async fn revoke_client(&self, revocation: &ClientRevocation) -> Result<(), StoreError> {
        crate::client_revocations::revoke_client(&self.shared, revocation).await
    }

    async fn client_revocations(
        &self,
        since: Timestamp,
    ) -> Result<Vec<ClientRevocation>, StoreError> {
        crate::client_revocations::client_revocations(&self.shared, since).await
    }
}
