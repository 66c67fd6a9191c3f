//! Client-wide revocations in the `client_revocations` collection: one document per client
//! (`_id` = client id), replaced only by one that covers more.

use crate::documents::{from_date, to_date};
use crate::errors::{bounded, only_duplicate_keys, to_store_error, within};
use crate::store::Shared;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use tokener_core::{ClientId, ClientRevocation, StoreError, Timestamp};

pub(crate) const CLIENT_REVOCATIONS: &str = "client_revocations";

fn collection(shared: &Shared) -> mongodb::Collection<Document> {
    shared.database.collection(CLIENT_REVOCATIONS)
}

pub(crate) async fn revoke_client(
    shared: &Shared,
    revocation: &ClientRevocation,
) -> Result<(), StoreError> {
    const OPERATION: &str = "revoke a client's tokens";
    let issued_before = to_date(revocation.issued_before);
    // Matches only a document that covers less; when one covering as much or more exists, the
    // upsert's insert collides with its `_id`, which means "nothing to change".
    let revocations = collection(shared);
    let update = revocations
        .update_one(
            doc! { "_id": revocation.client_id.as_str(), "issued_before": { "$lt": issued_before } },
            doc! { "$set": {
                "issued_before": issued_before,
                "revoked_at": to_date(revocation.revoked_at),
                "expires_at": to_date(revocation.expires_at),
            } },
        )
        .upsert(true);
    match within(shared.operation_timeout, OPERATION, update).await? {
        Ok(_) => Ok(()),
        Err(error) if only_duplicate_keys(&error) => Ok(()),
        Err(error) => Err(to_store_error(OPERATION, &error)),
    }
}

pub(crate) async fn client_revocations(
    shared: &Shared,
    since: Timestamp,
) -> Result<Vec<ClientRevocation>, StoreError> {
    let documents = bounded(shared.operation_timeout, "list client revocations", async {
        collection(shared)
            .find(doc! { "revoked_at": { "$gte": to_date(since) } })
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    documents.iter().map(parse).collect()
}

fn parse(document: &Document) -> Result<ClientRevocation, StoreError> {
    let id = document.get_str("_id").unwrap_or("?");
    let corrupt = |what: &str| StoreError::corrupt(format!("client revocation {id}: bad {what}"));
    let date = |field: &str| -> Result<Timestamp, StoreError> {
        let value: DateTime = document
            .get_datetime(field)
            .map_err(|_| corrupt(field))
            .copied()?;
        from_date(value, field, id)
    };
    Ok(ClientRevocation {
        client_id: ClientId::parse(id).map_err(|_| corrupt("_id"))?,
        issued_before: date("issued_before")?,
        revoked_at: date("revoked_at")?,
        expires_at: date("expires_at")?,
    })
}
