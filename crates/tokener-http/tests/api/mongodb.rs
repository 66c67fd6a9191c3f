//! The service on MongoDB (write-through), against a real MongoDB-wire server.

use crate::helpers::{base_vars, key_file, spawn_app_with_vars, TestApp, CLIENT_ID};
use mongodb::bson::{doc, Document};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use tokener_mongo::testing::{
    raw_client, service_var, unique_database, PrivateFerretDb, MONGODB_URI,
};

pub(crate) fn mongo_vars(
    uri: &str,
    database: &str,
    keys: &std::path::Path,
) -> HashMap<String, String> {
    let mut vars = base_vars();
    vars.insert("TOKENER_MONGODB_URI".into(), uri.into());
    vars.insert("TOKENER_MONGODB_DATABASE".into(), database.into());
    vars.insert("TOKENER_MONGODB_TIMEOUT_MS".into(), "1500".into());
    vars.insert(
        "TOKENER_SIGNING_KEY_FILE".into(),
        keys.display().to_string(),
    );
    vars
}

#[tokio::test]
async fn issued_tokens_are_recorded_in_mongodb_and_survive_a_restart() {
    let Some(uri) = service_var(MONGODB_URI) else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let app = spawn_app_with_vars(mongo_vars(&uri, &database, &keys)).await;
    let home: serde_json::Value = app.get_json("/").await;
    assert_eq!(home["storage"], "mongodb");

    let mut issued = Vec::new();
    for body in [
        json!({}),
        json!({"scope": ["orders:read"], "ttl_seconds": 120}),
    ] {
        let response: serde_json::Value = app.token(Some(body)).await.json().await.unwrap();
        issued.push(response);
    }
    let oauth: serde_json::Value = app
        .oauth("/oauth2/token", &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let oauth_id = app
        .introspect(oauth["access_token"].as_str().unwrap())
        .await["jti"]
        .clone();

    // Read the records back with the driver, behind the service's back.
    let raw = raw_client(&uri).await.database(&database);
    let tokens = raw.collection::<Document>("tokens");
    for response in &issued {
        let id = response["token_id"].as_str().unwrap();
        let record = tokens
            .find_one(doc! {"_id": id})
            .await
            .unwrap()
            .expect("record in MongoDB");
        assert_eq!(record.get_str("client_id").unwrap(), CLIENT_ID);
        let scopes: BTreeSet<String> = record
            .get_array("scopes")
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = response["scope"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(scopes, expected);
        let expires = record
            .get_datetime("expires_at")
            .unwrap()
            .timestamp_millis()
            / 1000;
        let issued_at = record.get_datetime("issued_at").unwrap().timestamp_millis() / 1000;
        assert_eq!(
            (expires - issued_at) as u64,
            response["expires_in"].as_u64().unwrap()
        );
        let text = format!("{record:?}");
        assert!(
            !text.contains(response["access_token"].as_str().unwrap()),
            "the bearer token is never stored"
        );
    }
    assert_eq!(tokens.count_documents(doc! {}).await.unwrap(), 3);
    assert!(tokens
        .find_one(doc! {"_id": oauth_id.as_str().unwrap()})
        .await
        .unwrap()
        .is_some());

    // Revoke one, then restart the service on the same database without the bootstrap client.
    let revoked = issued[0]["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.oauth("/oauth2/revoke", &[("token", &revoked)])
            .await
            .status(),
        200
    );
    app.stop().await;
    let mut vars = mongo_vars(&uri, &database, &keys);
    for k in [
        "TOKENER_BOOTSTRAP_CLIENT_ID",
        "TOKENER_BOOTSTRAP_CLIENT_SECRET",
        "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
        "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES",
    ] {
        vars.remove(k);
    }
    let restarted = spawn_app_with_vars(vars).await;
    // The client survived: it still authenticates, and the records are still there.
    let kept = issued[1]["access_token"].as_str().unwrap();
    let body = restarted.introspect(kept).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["jti"], issued[1]["token_id"]);
    assert_eq!(
        restarted.introspect(&revoked).await,
        json!({"active": false}),
        "the revocation survived"
    );
    let page = restarted.revocations_listed(1).await;
    assert_eq!(page["revocations"][0]["token_id"], issued[0]["token_id"]);
    assert_eq!(restarted.token(None).await.status(), 200);
    restarted.stop().await;
    let _ = raw.drop().await;
    let _ = std::fs::remove_file(keys);
}

async fn post_token_within(app: &TestApp, limit: Duration) -> reqwest::Response {
    tokio::time::timeout(limit, app.token(None))
        .await
        .expect("the service answered instead of hanging")
}

#[tokio::test]
async fn mongodb_outage_gives_503_then_issuance_recovers_without_restart() {
    let Some(mut server) = PrivateFerretDb::start().await else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let app = spawn_app_with_vars(mongo_vars(&server.uri(), &database, &keys)).await;
    assert_eq!(app.token(None).await.status(), 200);
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    server.kill().await;
    let response = post_token_within(&app, Duration::from_secs(15)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_ne!(ready["checks"]["mongodb"], "ok", "readiness names MongoDB");

    server.restart().await;
    let mut recovered = false;
    for _ in 0..60 {
        if post_token_within(&app, Duration::from_secs(15))
            .await
            .status()
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(recovered, "issuance recovered after MongoDB came back");
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
    let _ = std::fs::remove_file(keys);
}

/// Instances share the record: a revocation made on one is honoured by the other within its
/// revocation poll (200 ms).
#[tokio::test]
async fn a_revocation_on_one_instance_is_honoured_by_another() {
    let Some(uri) = service_var(MONGODB_URI) else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let a = spawn_app_with_vars(mongo_vars(&uri, &database, &keys)).await;
    let b = spawn_app_with_vars(mongo_vars(&uri, &database, &keys)).await;
    let token = a.bearer(json!({})).await;
    assert_eq!(
        b.introspect(&token).await["active"],
        true,
        "B verifies what A issued"
    );
    assert_eq!(
        b.oauth("/oauth2/revoke", &[("token", &token)])
            .await
            .status(),
        200
    );
    let delay = a.until_inactive(&token).await;
    println!("a revocation on B was honoured by A after {delay:?}");
    a.stop().await;
    b.stop().await;
    let _ = raw_client(&uri).await.database(&database).drop().await;
    let _ = std::fs::remove_file(keys);
}
