//! What a client sees when the token store fails: a 503 with `Retry-After`, and no token.

use crate::helpers::{assert_error, spawn_app_on};
use std::sync::Arc;
use tokener_core::adapters::InMemoryClientRegistry;
use tokener_core::ports::MockTokenStore;
use tokener_core::StoreError;
use tokener_http::storage::Storage;

#[tokio::test]
async fn store_down_means_503_with_retry_after_and_no_token() {
    let mut store = MockTokenStore::new();
    store.expect_record().times(1).returning(|_| {
        Err(StoreError::unavailable(
            "connection refused by 10.0.0.7:27017",
        ))
    });
    // Only recording fails: the revocation state still loads.
    store.expect_revocations().returning(|_, _| Ok(Vec::new()));
    store
        .expect_client_revocations()
        .returning(|_| Ok(Vec::new()));
    let app = spawn_app_on(Storage::in_memory(
        Arc::new(store),
        Arc::new(InMemoryClientRegistry::new()),
        "mocked",
    ))
    .await;
    let response = app.token(None).await;
    assert_eq!(response.headers()["retry-after"], "2");
    let body = assert_error(response, 503, "temporarily_unavailable").await;
    let text = body.to_string();
    assert!(!text.contains("access_token"), "no token handed out");
    assert!(!text.contains("10.0.0.7"), "no driver detail leaks");
}
