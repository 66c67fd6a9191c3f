//! Signing keys kept in MongoDB, sealed with `TOKENER_KEY_ENCRYPTION_SECRET`: shared by every
//! instance, kept across restarts, rotated through the admin API.

mod refusal;
mod rotation;
mod secrecy;

use crate::helpers::{base_vars, spawn_app_with_vars, TestApp};
use mongodb::bson::Document;
use serde_json::json;
use std::collections::HashMap;
use tokener_mongo::testing::{raw_client, service_var, unique_database, MONGODB_URI};

pub const ENCRYPTION_SECRET: &str = "the test encryption secret: 32 characters or more";

/// A MongoDB database of its own, with the settings of instances sharing it with no key file.
pub struct SharedStore {
    pub uri: String,
    pub database: String,
}

impl SharedStore {
    pub fn new() -> Option<Self> {
        Some(Self {
            uri: service_var(MONGODB_URI)?,
            database: unique_database(),
        })
    }

    /// The settings of an instance on this store, sealing keys with `secret`; the test client
    /// may have `tokener:admin`.
    pub fn vars(&self, secret: &str) -> HashMap<String, String> {
        let mut vars = base_vars();
        for (k, v) in [
            ("TOKENER_MONGODB_URI", self.uri.as_str()),
            ("TOKENER_MONGODB_DATABASE", self.database.as_str()),
            ("TOKENER_MONGODB_TIMEOUT_MS", "3000"),
            ("TOKENER_KEY_ENCRYPTION_SECRET", secret),
            (
                "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
                "orders:read tokener:admin",
            ),
            ("TOKENER_SHUTDOWN_TIMEOUT_SECONDS", "1"),
        ] {
            vars.insert(k.into(), v.into());
        }
        vars
    }

    pub async fn spawn(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars(ENCRYPTION_SECRET);
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        spawn_app_with_vars(vars).await
    }

    /// The documents of the `keys` collection, in id order.
    pub async fn key_documents(&self) -> Vec<Document> {
        use futures_util::TryStreamExt;
        raw_client(&self.uri)
            .await
            .database(&self.database)
            .collection::<Document>("keys")
            .find(mongodb::bson::doc! {})
            .sort(mongodb::bson::doc! {"_id": 1})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        raw_client(&self.uri)
            .await
            .database(&self.database)
            .drop()
            .await
            .unwrap();
    }
}

/// An admin token of the test client, living `ttl` seconds.
pub async fn admin_token(app: &TestApp, ttl: u64) -> String {
    app.bearer(json!({"scope": ["tokener:admin"], "ttl_seconds": ttl}))
        .await
}

async fn active_on(app: &TestApp, token: &str) -> bool {
    app.introspect(token).await["active"] == true
}

#[tokio::test]
async fn instances_without_a_key_file_share_one_ring_and_keep_it_across_restarts() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    // Started together: both race to create the ring, one wins, both use it.
    let (a, b) = tokio::join!(store.spawn(&[]), store.spawn(&[]));
    let mut tokens = Vec::new();
    for i in 0..50 {
        let issuer = if i % 2 == 0 { &a } else { &b };
        tokens.push((
            i % 2,
            issuer.bearer(json!({"scope": ["orders:read"]})).await,
        ));
    }
    for (issuer, token) in &tokens {
        let other = if *issuer == 0 { &b } else { &a };
        assert!(
            active_on(other, token).await,
            "a token of one instance is active on the other"
        );
    }
    assert_eq!(a.get_json("/keys").await, b.get_json("/keys").await);
    assert_eq!(store.key_documents().await.len(), 1, "one ring, one key");

    // Both restart: every outstanding token stays valid.
    a.stop().await;
    b.stop().await;
    let (a, b) = tokio::join!(store.spawn(&[]), store.spawn(&[]));
    for (_, token) in &tokens {
        assert!(active_on(&a, token).await && active_on(&b, token).await);
    }
    assert_eq!(store.key_documents().await.len(), 1);
    a.stop().await;
    b.stop().await;
    store.drop().await;
}
