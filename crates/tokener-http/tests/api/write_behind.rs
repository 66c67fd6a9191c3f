//! Write-behind mode (MongoDB + Redis) against real servers: nothing acknowledged is lost.

use crate::helpers::{base_vars, key_file, spawn_app_with_vars, until_all_in_mongodb, TestApp};
use mongodb::bson::{doc, Document};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokener_mongo::testing::{
    raw_client, service_var, unique_database, PrivateFerretDb, MONGODB_URI,
};
use tokener_redis::testing::{PrivateRedis, REDIS_URL};

/// Settings of one write-behind instance; `prefix` and `database` are the shared state.
fn vars(
    mongo: &str,
    database: &str,
    redis: &str,
    prefix: &str,
    keys: &std::path::Path,
    name: &str,
) -> HashMap<String, String> {
    let mut vars = base_vars();
    for (k, v) in [
        ("TOKENER_MONGODB_URI", mongo),
        ("TOKENER_MONGODB_DATABASE", database),
        ("TOKENER_MONGODB_TIMEOUT_MS", "1500"),
        ("TOKENER_REDIS_URL", redis),
        ("TOKENER_REDIS_PREFIX", prefix),
        ("TOKENER_INSTANCE_NAME", name),
    ] {
        vars.insert(k.into(), v.into());
    }
    vars.insert(
        "TOKENER_SIGNING_KEY_FILE".into(),
        keys.display().to_string(),
    );
    vars
}

/// Issues `n` tokens; returns the ids of those answered 200 and the other statuses seen.
async fn issue(app: &TestApp, n: usize) -> (Vec<String>, Vec<u16>) {
    let mut ids = Vec::new();
    let mut others = Vec::new();
    for _ in 0..n {
        let response = app.token(None).await;
        if response.status() == 200 {
            let body: serde_json::Value = response.json().await.unwrap();
            ids.push(body["token_id"].as_str().unwrap().to_string());
        } else {
            others.push(response.status().as_u16());
        }
    }
    (ids, others)
}

#[tokio::test]
async fn tokens_reach_mongodb_through_the_queue_and_outages_lose_nothing() {
    let Some(redis_url) = service_var(REDIS_URL) else {
        return;
    };
    let Some(mut mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let app = spawn_app_with_vars(vars(
        &mongo.uri(),
        &database,
        &redis_url,
        &database,
        &keys,
        "a",
    ))
    .await;
    assert_eq!(app.get_json("/").await["storage"], "mongodb+redis");
    let (mut ids, others) = issue(&app, 20).await;
    assert!(others.is_empty(), "{others:?}");

    // MongoDB down: issuance keeps succeeding into the stream.
    mongo.kill().await;
    let (during, others) = issue(&app, 30).await;
    assert!(
        others.is_empty(),
        "issuance goes on while MongoDB is down: {others:?}"
    );
    ids.extend(during);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("tokener_writebehind_queue_depth"),
        "queue depth is exported"
    );

    // Back up: the backlog drains and nothing is missing or doubled.
    mongo.restart().await;
    let count = until_all_in_mongodb(&mongo.uri(), &database, &ids, Duration::from_secs(60)).await;
    assert_eq!(count, ids.len() as u64, "one document per token");
    let token = app.bearer(json!({})).await;
    assert_eq!(app.introspect(&token).await["active"], true);
    app.stop().await;
    let _ = std::fs::remove_file(keys);
}

#[tokio::test]
async fn redis_outage_falls_back_to_write_through() {
    let Some(uri) = service_var(MONGODB_URI) else {
        return;
    };
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let app = spawn_app_with_vars(vars(&uri, &database, &redis.url(), &database, &keys, "a")).await;
    let (mut ids, _) = issue(&app, 5).await;
    let revoked = app.bearer(json!({})).await;
    app.oauth("/oauth2/revoke", &[("token", &revoked)]).await;

    redis.kill().await;
    let (during, others) = issue(&app, 10).await;
    assert!(
        others.is_empty(),
        "Redis down: issuance falls back to MongoDB: {others:?}"
    );
    // Written through: in MongoDB at once, not after a worker cycle.
    let tokens = raw_client(&uri)
        .await
        .database(&database)
        .collection::<Document>("tokens");
    for id in &during {
        assert!(
            tokens.find_one(doc! {"_id": id}).await.unwrap().is_some(),
            "written through"
        );
    }
    ids.extend(during);
    assert_eq!(
        app.introspect(&revoked).await,
        json!({"active": false}),
        "revocations still hold"
    );
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_ne!(body["checks"]["redis"], "ok");
    // The fallbacks are counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = app.metrics().await;
        if metrics.contains("tokener_writebehind_fallbacks_total 10\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fallbacks not counted: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    redis.restart().await;
    let (after, _) = issue(&app, 5).await;
    ids.extend(after);
    until_all_in_mongodb(&uri, &database, &ids, Duration::from_secs(30)).await;
    app.stop().await;
    let _ = std::fs::remove_file(keys);
}

#[tokio::test]
async fn two_instances_share_one_queue_without_double_writes() {
    let Some(uri) = service_var(MONGODB_URI) else {
        return;
    };
    let Some(redis_url) = service_var(REDIS_URL) else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let a = spawn_app_with_vars(vars(&uri, &database, &redis_url, &database, &keys, "a")).await;
    let b = spawn_app_with_vars(vars(&uri, &database, &redis_url, &database, &keys, "b")).await;
    let (ids_a, b_ids) = tokio::join!(issue(&a, 100), issue(&b, 100));
    let mut ids = ids_a.0;
    ids.extend(b_ids.0);
    assert_eq!(ids.len(), 200);
    let count = until_all_in_mongodb(&uri, &database, &ids, Duration::from_secs(60)).await;
    assert_eq!(count, 200, "every record exactly once");
    // A revocation on one instance is honoured by the other (shared Redis and MongoDB).
    let token = a.bearer(json!({})).await;
    assert_eq!(
        b.oauth("/oauth2/revoke", &[("token", &token)])
            .await
            .status(),
        200
    );
    a.until_inactive(&token).await;
    a.stop().await;
    b.stop().await;
    let _ = std::fs::remove_file(keys);
}
