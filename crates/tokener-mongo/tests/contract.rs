//! The port contracts every store adapter must pass, run against MongoDB.

mod common;

use common::TestDb;

#[tokio::test]
async fn token_store_contract() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    tokener_core::contract::token_store(&db.store.tokens()).await;
    db.cleanup().await;
}

#[tokio::test]
async fn client_registry_contract() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    tokener_core::contract::client_registry(&db.store.clients()).await;
    db.cleanup().await;
}

#[tokio::test]
async fn key_store_contract() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    tokener_core::contract::key_store(&db.store.keys()).await;
    db.cleanup().await;
}

#[tokio::test]
async fn audit_log_contract() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    tokener_core::contract::audit_log(&db.store.audit()).await;
    db.cleanup().await;
}
