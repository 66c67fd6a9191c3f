//! The write concern against the test server: chosen from what the server reports, accepted by
//! it for every write, and refused at connect when it cannot hold. Runs against
//! `TOKENER_TEST_MONGODB_URI` (FerretDB in the suite: a standalone server).

mod common;

use common::{test_config, unique_database, TestDb};
use tokener_core::contract::sample_record;
use tokener_core::{StoreError, TokenStore};
use tokener_mongo::{Deployment, MongoConfig, MongoStore, WriteConcernSetting};

#[tokio::test]
async fn auto_chooses_by_deployment_and_the_server_accepts_its_writes() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let expected = match db.store.deployment() {
        Deployment::Standalone => "w=1 j=true wtimeout=4000ms",
        Deployment::ReplicaSet | Deployment::Sharded => "w=majority j=true wtimeout=4000ms",
    };
    assert_eq!(db.store.write_concern(), expected);
    let record = sample_record("concern", 1_900_000_000);
    db.store.tokens().record(&record).await.expect("record");
    assert_eq!(
        db.store.tokens().get(record.id()).await.expect("get"),
        Some(record)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn majority_is_accepted_on_any_deployment() {
    let Some(db) = TestDb::connect_with(|config| MongoConfig {
        write_concern: WriteConcernSetting::Majority,
        ..config
    })
    .await
    else {
        return;
    };
    assert_eq!(
        db.store.write_concern(),
        "w=majority j=true wtimeout=4000ms"
    );
    let records: Vec<_> = (0..3)
        .map(|i| sample_record("majority", 1_900_000_000 + i))
        .collect();
    db.store
        .tokens()
        .record_many(&records)
        .await
        .expect("record_many");
    for record in &records {
        assert!(db
            .store
            .tokens()
            .get(record.id())
            .await
            .expect("get")
            .is_some());
    }
    db.cleanup().await;
}

/// Connecting with `adjust` applied must fail with a message containing `needle`.
async fn refused(uri: &str, adjust: impl FnOnce(MongoConfig) -> MongoConfig, needle: &str) {
    let config = adjust(test_config(uri, &unique_database()));
    match MongoStore::connect(config).await {
        Err(StoreError::Unavailable { detail: message }) => {
            assert!(message.contains(needle), "{message}")
        }
        other => panic!("expected a refusal mentioning {needle}, got {other:?}"),
    }
}

#[tokio::test]
async fn impossible_or_unacknowledged_concerns_are_refused_at_connect() {
    // The same server accepts a plain connection: the refusals below are the concern's.
    let Some(plain) = TestDb::connect().await else {
        return;
    };
    let (uri, deployment) = (plain.uri.clone(), plain.store.deployment());
    plain.cleanup().await;
    if deployment == Deployment::Standalone {
        refused(
            &uri,
            |config| MongoConfig {
                write_concern: WriteConcernSetting::Nodes(2),
                ..config
            },
            "needs a replica set",
        )
        .await;
    }
    let unacknowledged = if uri.contains('?') {
        format!("{uri}&w=0")
    } else {
        format!("{}/?w=0", uri.trim_end_matches('/'))
    };
    refused(&unacknowledged, |config| config, "w=0").await;
}
