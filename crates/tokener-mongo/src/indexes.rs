//! The indexes the queries need, created idempotently at connect.
//!
//! On `audit`: `at_1`, so operators can query the trail by time.
//!
//! On `tokens` (`_id`, the token id, is unique by nature):
//! - `client_id_1`: finding a client's tokens (operators, future bulk revocation);
//! - `revoked_at_1__id_1`: the revocation listing, which sorts and pages on (revoked_at, _id);
//! - `expires_at_1`: `prune_expired`, and, when a retention is configured and the server has
//!   them, the TTL index that deletes records `retention` after their expiry.
//!
//! Index names follow MongoDB's default naming, so an index made by hand with the same keys is
//! recognised rather than duplicated (MongoDB refuses a second index on the same keys under
//! another name; `connect` then fails, loudly, rather than running without the index). Only plain and compound ascending indexes plus
//! `expireAfterSeconds` are used: what both MongoDB and FerretDB 1.x understand, except TTL,
//! which FerretDB 1.x refuses and which is therefore optional.

use crate::documents::fields;
use crate::errors::{bounded, is_command_refusal, server_code, within};
use crate::store::Shared;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;
use std::time::Duration;
use tokener_core::StoreError;

const CLIENT_ID_INDEX: &str = "client_id_1";
const REVOKED_INDEX: &str = "revoked_at_1__id_1";
const EXPIRES_INDEX: &str = "expires_at_1";
const AUDIT_AT_INDEX: &str = "at_1";

/// The server's code for "no such collection" (listing indexes of a collection not yet made).
const NAMESPACE_NOT_FOUND: i32 = 26;

/// Creates the indexes; returns whether a TTL index enforces `retention`.
pub(crate) async fn ensure_indexes(
    shared: &Shared,
    retention: Option<Duration>,
) -> Result<bool, StoreError> {
    create(shared, doc! { fields::CLIENT_ID: 1 }, CLIENT_ID_INDEX, None).await?;
    create(
        shared,
        doc! { fields::REVOKED_AT: 1, fields::ID: 1 },
        REVOKED_INDEX,
        None,
    )
    .await?;
    // The audit trail, queried by time from outside the service (its own listing pages on
    // `_id`, which sorts in time order).
    bounded(
        shared.operation_timeout,
        "create index",
        shared
            .database
            .collection::<Document>(crate::audit::AUDIT)
            .create_index(model(doc! { "at": 1 }, AUDIT_AT_INDEX, None)),
    )
    .await?;
    ensure_expiry_index(shared, retention).await
}

/// `createIndexes` with one index. Creating an index that exists with the same keys, name and
/// options succeeds without doing anything, on MongoDB and FerretDB alike.
async fn create(
    shared: &Shared,
    keys: Document,
    name: &str,
    expire_after: Option<Duration>,
) -> Result<(), StoreError> {
    bounded(
        shared.operation_timeout,
        "create index",
        shared.tokens.create_index(model(keys, name, expire_after)),
    )
    .await
    .map(|_| ())
}

fn model(keys: Document, name: &str, expire_after: Option<Duration>) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .expire_after(expire_after)
                .build(),
        )
        .build()
}

/// Makes the `expires_at` index match the retention: a TTL index with
/// `expireAfterSeconds = retention` when one is configured and the server supports it, a plain
/// index otherwise. Returns whether a TTL index is in place.
async fn ensure_expiry_index(
    shared: &Shared,
    retention: Option<Duration>,
) -> Result<bool, StoreError> {
    // MongoDB holds expireAfterSeconds as a 32-bit integer.
    let wanted = retention.map(|r| Duration::from_secs(r.as_secs().min(i32::MAX as u64)));
    let existing = expiry_index(shared).await?;
    let keys = doc! { fields::EXPIRES_AT: 1 };

    match (existing, wanted) {
        (None, None) => {
            create(shared, keys, EXPIRES_INDEX, None).await?;
            Ok(false)
        }
        (None, Some(ttl)) => {
            let attempt = within(
                shared.operation_timeout,
                "create TTL index",
                shared
                    .tokens
                    .create_index(model(keys.clone(), EXPIRES_INDEX, Some(ttl))),
            )
            .await?;
            match attempt {
                Ok(_) => Ok(true),
                Err(error) if is_command_refusal(&error) => {
                    warn_no_ttl(&error.kind.to_string());
                    create(shared, keys, EXPIRES_INDEX, None).await?;
                    Ok(false)
                }
                Err(error) => Err(crate::errors::to_store_error("create TTL index", &error)),
            }
        }
        (Some(index), None) => {
            if index.ttl.is_some() {
                // Left in place, the TTL index would go on deleting records the configuration
                // now says to keep.
                tracing::warn!(
                    index = %index.name,
                    "no retention is configured but tokens.expires_at has a TTL index; \
                     replacing it with a plain index so records are kept"
                );
                bounded(
                    shared.operation_timeout,
                    "drop TTL index",
                    shared.tokens.drop_index(index.name.as_str()),
                )
                .await?;
                create(shared, keys, EXPIRES_INDEX, None).await?;
            }
            Ok(false)
        }
        (Some(index), Some(ttl)) if index.ttl == Some(ttl) => Ok(true),
        (Some(index), Some(ttl)) => {
            // The retention changed, or the index predates it: collMod changes (MongoDB 5.1+
            // also adds) expireAfterSeconds in place, without rebuilding the index.
            let command = doc! {
                "collMod": shared.tokens.name(),
                "index": {
                    "name": index.name.as_str(),
                    "expireAfterSeconds": i64::try_from(ttl.as_secs()).unwrap_or(i64::from(i32::MAX)),
                },
            };
            let attempt = within(
                shared.operation_timeout,
                "set TTL on index",
                shared.database.run_command(command),
            )
            .await?;
            match attempt {
                Ok(_) => {
                    tracing::info!(
                        index = %index.name,
                        from_secs = index.ttl.map(|d| d.as_secs()),
                        to_secs = ttl.as_secs(),
                        "changed the retention of token records"
                    );
                    Ok(true)
                }
                Err(error) if is_command_refusal(&error) => {
                    warn_no_ttl(&error.kind.to_string());
                    // A TTL the server kept from before would still delete records, with the
                    // old retention; report it as not enforcing the configured one.
                    Ok(false)
                }
                Err(error) => Err(crate::errors::to_store_error("set TTL on index", &error)),
            }
        }
    }
}

fn warn_no_ttl(reason: &str) {
    tracing::warn!(
        reason,
        "the MongoDB server refused a TTL index on tokens.expires_at (FerretDB 1.x does not \
         implement TTL indexes); expired token records are only deleted by prune_expired, \
         which must be called on a schedule"
    );
}

/// The existing index on exactly `{expires_at: 1}`, whatever its name.
struct ExpiryIndex {
    name: String,
    ttl: Option<Duration>,
}

async fn expiry_index(shared: &Shared) -> Result<Option<ExpiryIndex>, StoreError> {
    let listed = within(shared.operation_timeout, "list indexes", async {
        shared
            .tokens
            .list_indexes()
            .await?
            .try_collect::<Vec<IndexModel>>()
            .await
    })
    .await?;
    let indexes = match listed {
        Ok(indexes) => indexes,
        Err(error) if server_code(&error) == Some(NAMESPACE_NOT_FOUND) => Vec::new(),
        Err(error) => return Err(crate::errors::to_store_error("list indexes", &error)),
    };
    Ok(indexes
        .into_iter()
        .find(|index| is_single_ascending(&index.keys, fields::EXPIRES_AT))
        .map(|index| {
            let options = index.options.unwrap_or_default();
            ExpiryIndex {
                name: options.name.unwrap_or_else(|| EXPIRES_INDEX.to_owned()),
                ttl: options.expire_after,
            }
        }))
}

/// Whether `keys` is `{field: 1}`; servers report the 1 as int32, int64 or double.
fn is_single_ascending(keys: &Document, field: &str) -> bool {
    keys.len() == 1
        && match keys.get(field) {
            Some(Bson::Int32(1)) | Some(Bson::Int64(1)) => true,
            Some(Bson::Double(d)) => *d == 1.0,
            _ => false,
        }
}
