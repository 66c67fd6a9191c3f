//! Behaviour specific to the MongoDB adapter: indexes, the stored document shape, bulk
//! idempotency, corrupt data, concurrency. Runs against `TOKENER_TEST_MONGODB_URI`.

mod common;

use common::{is_ferretdb, test_config, TestDb};
use mongodb::bson::{doc, Bson, Document};
use std::collections::BTreeSet;
use std::time::Duration;
use tokener_core::contract::{sample_client, sample_record};
use tokener_core::{
    ClientRegistry, Fingerprint, RevocationCursor, RevokeOutcome, StoreError, Timestamp, TokenStore,
};
use tokener_mongo::MongoStore;

async fn indexes(db: &mongodb::Database) -> Vec<Document> {
    let mut cursor = db
        .run_command(doc! { "listIndexes": "tokens" })
        .await
        .expect("listIndexes");
    let batch = cursor
        .get_document_mut("cursor")
        .expect("cursor")
        .get_array_mut("firstBatch")
        .expect("firstBatch");
    batch
        .drain(..)
        .map(|b| b.as_document().expect("index document").clone())
        .collect()
}

fn index_named<'a>(indexes: &'a [Document], name: &str) -> &'a Document {
    indexes
        .iter()
        .find(|i| i.get_str("name") == Ok(name))
        .unwrap_or_else(|| panic!("index {name} missing from {indexes:?}"))
}

fn key_fields(index: &Document) -> Vec<String> {
    index
        .get_document("key")
        .expect("key")
        .keys()
        .cloned()
        .collect()
}

fn ttl_of(index: &Document) -> Option<i64> {
    match index.get("expireAfterSeconds") {
        Some(Bson::Int32(v)) => Some(i64::from(*v)),
        Some(Bson::Int64(v)) => Some(*v),
        Some(Bson::Double(v)) => Some(*v as i64),
        _ => None,
    }
}

#[tokio::test]
async fn indexes_exist_and_connecting_again_changes_nothing() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let first = indexes(&db.raw).await;
    assert_eq!(
        key_fields(index_named(&first, "client_id_1")),
        ["client_id"]
    );
    assert_eq!(
        key_fields(index_named(&first, "revoked_at_1__id_1")),
        ["revoked_at", "_id"]
    );
    assert_eq!(
        key_fields(index_named(&first, "expires_at_1")),
        ["expires_at"]
    );
    assert_eq!(
        ttl_of(index_named(&first, "expires_at_1")),
        None,
        "no retention, no TTL"
    );
    assert!(!db.store.ttl_index_supported());
    assert_eq!(db.store.scheduled_prune_needed(), None);

    let again = MongoStore::connect(test_config(&db.uri, &db.name))
        .await
        .expect("second connect");
    again.ping().await.expect("ping");
    let second = indexes(&db.raw).await;
    assert_eq!(
        first.len(),
        second.len(),
        "no index added by connecting again"
    );
    assert_eq!(first.len(), 4, "_id plus three: {first:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn retention_uses_a_ttl_index_where_the_server_has_them() {
    let hour = Duration::from_secs(3600);
    let Some(db) = TestDb::connect_with(|c| tokener_mongo::MongoConfig {
        retention: Some(hour),
        ..c
    })
    .await
    else {
        return;
    };
    let ferretdb = is_ferretdb(&db.raw).await;
    let expires = |ix: &[Document]| ttl_of(index_named(ix, "expires_at_1"));

    if ferretdb {
        // FerretDB 1.x refuses expireAfterSeconds ("not implemented"): the store keeps a plain
        // index and tells the service to prune on a schedule.
        let refused = db
            .raw
            .collection::<Document>("scratch")
            .create_index(
                mongodb::IndexModel::builder()
                    .keys(doc! { "at": 1 })
                    .options(
                        mongodb::options::IndexOptions::builder()
                            .expire_after(hour)
                            .build(),
                    )
                    .build(),
            )
            .await
            .expect_err("FerretDB 1.x has no TTL indexes");
        eprintln!("FerretDB refuses TTL indexes: {refused}");
        assert!(!db.store.ttl_index_supported());
        assert_eq!(db.store.scheduled_prune_needed(), Some(hour));
        assert_eq!(expires(&indexes(&db.raw).await), None);
    } else {
        assert!(db.store.ttl_index_supported());
        assert_eq!(db.store.scheduled_prune_needed(), None);
        assert_eq!(expires(&indexes(&db.raw).await), Some(3600));
    }

    // A changed retention is applied to the existing index (collMod), where TTL exists.
    let longer = MongoStore::connect(tokener_mongo::MongoConfig {
        retention: Some(2 * hour),
        ..test_config(&db.uri, &db.name)
    })
    .await
    .expect("reconnect with a longer retention");
    assert_eq!(longer.ttl_index_supported(), !ferretdb);
    assert_eq!(
        expires(&indexes(&db.raw).await),
        (!ferretdb).then_some(7200)
    );

    // Dropping the retention turns the TTL index back into a plain one.
    let forever = MongoStore::connect(test_config(&db.uri, &db.name))
        .await
        .expect("reconnect without retention");
    assert!(!forever.ttl_index_supported());
    let after = indexes(&db.raw).await;
    assert_eq!(expires(&after), None);
    assert_eq!(
        key_fields(index_named(&after, "expires_at_1")),
        ["expires_at"]
    );
    db.cleanup().await;
}

#[tokio::test]
async fn stored_token_document_holds_the_fingerprint_never_the_bearer() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let bearer = "EoUBChsKBmJpbGxpbmcYAyIPCg0IBBIDGIAIEgQYgQgYgQ-not-a-real-token";
    let mut record = sample_record("billing", 1_900_000_000);
    record.fingerprint = Fingerprint::of(bearer);
    db.store.tokens().record(&record).await.expect("record");

    let stored = db
        .raw
        .collection::<Document>("tokens")
        .find_one(doc! { "_id": record.id().as_str() })
        .await
        .expect("find")
        .expect("stored");
    let fields: BTreeSet<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "_id",
            "client_id",
            "audiences",
            "scopes",
            "issued_at",
            "expires_at",
            "key_id",
            "fingerprint"
        ]),
        "exactly the schema's fields, no revoked_at while live"
    );
    assert_eq!(
        stored.get_str("fingerprint"),
        Ok(record.fingerprint.to_hex().as_str())
    );
    assert!(matches!(stored.get("issued_at"), Some(Bson::DateTime(_))));
    assert!(matches!(stored.get("expires_at"), Some(Bson::DateTime(_))));
    assert_eq!(stored.get_i64("key_id"), Ok(7));
    let raw_bytes = mongodb::bson::to_vec(&stored).expect("encode");
    assert!(
        !raw_bytes
            .windows(bearer.len())
            .any(|w| w == bearer.as_bytes()),
        "the bearer token must not be stored"
    );

    db.store
        .tokens()
        .revoke(record.id(), Timestamp::from_unix(1_800_000_500))
        .await
        .expect("revoke");
    let revoked = db
        .raw
        .collection::<Document>("tokens")
        .find_one(doc! { "_id": record.id().as_str() })
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(
        revoked
            .get_datetime("revoked_at")
            .map(|d| d.timestamp_millis()),
        Ok(1_800_000_500_000)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn record_many_is_unordered_idempotent_and_tolerates_duplicates() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let tokens = db.store.tokens();
    // More than FerretDB's insert batch (100) and with duplicates spread over the batches.
    let records: Vec<_> = (0..250)
        .map(|i| sample_record("bulk", 1_900_000_000 + i))
        .collect();
    tokens.record(&records[0]).await.expect("record");
    tokens.record(&records[120]).await.expect("record");
    tokens.record(&records[249]).await.expect("record");
    tokens
        .revoke(records[120].id(), Timestamp::from_unix(1_800_000_001))
        .await
        .expect("revoke");

    let mut batch = records.clone();
    batch.push(records[7].clone());
    batch.insert(3, records[200].clone());
    tokens
        .record_many(&batch)
        .await
        .expect("duplicates are tolerated");
    tokens
        .record_many(&batch)
        .await
        .expect("a full replay is tolerated");

    let count = db
        .raw
        .collection::<Document>("tokens")
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(count, 250);
    for record in [&records[0], &records[7], &records[200], &records[249]] {
        assert_eq!(
            tokens.get(record.id()).await.expect("get").as_ref(),
            Some(record)
        );
    }
    let revoked = tokens
        .get(records[120].id())
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        revoked.revoked_at,
        Some(Timestamp::from_unix(1_800_000_001)),
        "replay kept the revocation"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn empty_sets_round_trip() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    // Empty sets must survive the round trip (and documents lacking the arrays must decode).
    let mut record = sample_record("empty", 1_900_000_000);
    record.claims.audiences.clear();
    record.claims.scopes.clear();
    db.store.tokens().record(&record).await.expect("record");
    assert_eq!(
        db.store.tokens().get(record.id()).await.expect("get"),
        Some(record)
    );

    let mut client = sample_client("bare");
    client.allowed_scopes.clear();
    client.allowed_audiences.clear();
    client.max_ttl = None;
    db.store.clients().upsert(&client).await.expect("upsert");
    assert_eq!(
        db.store.clients().get(&client.id).await.expect("get"),
        Some(client)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn corrupt_documents_are_reported_as_corrupt() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let good = sample_record("billing", 1_900_000_000);
    let tokens = db.raw.collection::<Document>("tokens");
    let mut bad_fingerprint = mongodb::bson::to_document(&doc! {
        "_id": good.id().as_str(),
        "client_id": "billing",
        "audiences": ["orders"],
        "scopes": ["orders:read"],
        "issued_at": mongodb::bson::DateTime::from_millis(1_800_000_000_000),
        "expires_at": mongodb::bson::DateTime::from_millis(1_900_000_000_000),
        "key_id": 7_i64,
        "fingerprint": "not hex",
    })
    .expect("document");
    tokens
        .insert_one(bad_fingerprint.clone())
        .await
        .expect("insert");
    let err = db.store.tokens().get(good.id()).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    // A field of the wrong type fails in the driver's decoding; still Corrupt.
    let other = sample_record("billing", 1_900_000_000);
    bad_fingerprint.insert("_id", other.id().as_str());
    bad_fingerprint.insert("fingerprint", other.fingerprint.to_hex());
    bad_fingerprint.insert("issued_at", "yesterday");
    tokens.insert_one(bad_fingerprint).await.expect("insert");
    let err = db
        .store
        .tokens()
        .get(other.id())
        .await
        .expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    db.raw
        .collection::<Document>("clients")
        .insert_one(doc! {
            "_id": "mallory",
            "secret_hash": "0123",
            "allowed_scopes": [],
            "allowed_audiences": [],
            "disabled": false,
            "created_at": mongodb::bson::DateTime::from_millis(0),
            "updated_at": mongodb::bson::DateTime::from_millis(0),
        })
        .await
        .expect("insert");
    let err = db.store.clients().list().await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("0123"),
        "the hash is not echoed: {err}"
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revocations_keep_one_revocation() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let ferretdb = is_ferretdb(&db.raw).await;
    let record = sample_record("racer", 1_900_000_000);
    db.store.tokens().record(&record).await.expect("record");
    let attempts: Vec<Timestamp> = (0..8u64)
        .map(|i| Timestamp::from_unix(1_800_000_000 + i))
        .collect();
    let tasks: Vec<_> = attempts
        .iter()
        .map(|&at| {
            let tokens = db.store.tokens();
            let id = record.id().clone();
            tokio::spawn(async move { (at, tokens.revoke(&id, at).await.expect("revoke")) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (at, outcome) = task.await.expect("task");
        match outcome {
            RevokeOutcome::Revoked => winners.push(at),
            RevokeOutcome::AlreadyRevoked => {}
            RevokeOutcome::Unknown => panic!("the token is recorded"),
        }
    }
    let stored = db
        .store
        .tokens()
        .get(record.id())
        .await
        .expect("get")
        .expect("present");
    let stored_at = stored.revoked_at.expect("revoked");
    assert!(!winners.is_empty(), "someone revoked it");
    assert!(
        winners.contains(&stored_at),
        "the stored time is a winner's"
    );
    if !ferretdb {
        // MongoDB updates one document atomically: exactly one conditional update matches.
        // (FerretDB 1.x reads, modifies and writes back without a lock, so several may.)
        assert_eq!(winners, vec![stored_at], "exactly one revocation wins");
    }
    assert_eq!(
        db.store
            .tokens()
            .revoke(record.id(), Timestamp::from_unix(1_900_000_000))
            .await
            .expect("revoke"),
        RevokeOutcome::AlreadyRevoked
    );
    db.cleanup().await;
}

#[tokio::test]
async fn paging_through_revocations_visits_each_once_in_order() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let tokens = db.store.tokens();
    let records: Vec<_> = (0..7)
        .map(|_| sample_record("pager", 1_900_000_000))
        .collect();
    tokens.record_many(&records).await.expect("record_many");
    // Ties on revoked_at are broken by id.
    for (i, record) in records.iter().enumerate() {
        let at = Timestamp::from_unix(1_800_000_000 + (i as u64) / 3);
        tokens.revoke(record.id(), at).await.expect("revoke");
    }
    let mut expected: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                Timestamp::from_unix(1_800_000_000 + (i as u64) / 3),
                r.id().clone(),
            )
        })
        .collect();
    expected.sort();

    assert!(tokens
        .revocations(None, 0)
        .await
        .expect("limit 0")
        .is_empty());
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = tokens.revocations(cursor.clone(), 2).await.expect("page");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        cursor = Some(RevocationCursor {
            revoked_at: last.revoked_at,
            token_id: last.token_id.clone(),
        });
        seen.extend(page.into_iter().map(|r| (r.revoked_at, r.token_id)));
    }
    assert_eq!(seen, expected);
    db.cleanup().await;
}

/// With listings sent to secondaries when there are any, they still answer on a server with
/// none (FerretDB is a standalone server; what a lagging secondary shows cannot be tested here).
#[tokio::test]
async fn listings_answer_with_a_secondary_read_preference() {
    let Some(db) = TestDb::connect_with(|config| tokener_mongo::MongoConfig {
        listing_read_preference: tokener_mongo::ListingReadPreference::SecondaryPreferred,
        ..config
    })
    .await
    else {
        return;
    };
    let clients = db.store.clients();
    clients.upsert(&sample_client("lister")).await.unwrap();
    let listed = clients.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec!["lister"]
    );
    assert!(tokener_core::AuditLog::list(&db.store.audit(), None, 10)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}
