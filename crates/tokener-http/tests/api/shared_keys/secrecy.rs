//! No private key material, nor the encryption secret, in any log line, answer or metric.

use super::ENCRYPTION_SECRET;
use crate::process::{until_status, Service};
use serde_json::json;
use std::time::Duration;
use tokener_core::token::KeySealer;
use tokener_core::KeyRing;
use tokener_mongo::testing::{free_port, unique_database, wait_for_port, PrivateFerretDb};

const CLIENT_SECRET: &str = "secrecy-test-secret-0123456789-abcdefghij";

#[tokio::test]
async fn private_keys_appear_in_no_log_answer_or_metric() {
    let Some(mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let database = unique_database();
    let env = vec![
        ("TOKENER_MONGODB_URI", mongo.uri()),
        ("TOKENER_MONGODB_DATABASE", database.clone()),
        (
            "TOKENER_KEY_ENCRYPTION_SECRET",
            ENCRYPTION_SECRET.to_string(),
        ),
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "ops".to_string()),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", CLIENT_SECRET.to_string()),
        (
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
            "tokener:admin".to_string(),
        ),
    ];
    let port = free_port();
    let mut service = Service::start_with(&[], &env, mongo.dir.join("secrecy.log"), port);
    wait_for_port(port, Duration::from_secs(30)).await;
    let http = reqwest::Client::new();
    let base = service.base.clone();
    until_status(&http, &format!("{base}/readyz"), 200).await;

    let issued: serde_json::Value = http
        .post(format!("{base}/token"))
        .basic_auth("ops", Some(CLIENT_SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = issued["access_token"].as_str().unwrap().to_string();
    let mut answers = String::new();
    let calls = [
        (reqwest::Method::GET, "/admin/keys", None),
        (reqwest::Method::POST, "/admin/keys", Some(json!({}))),
        (
            reqwest::Method::POST,
            "/admin/keys",
            Some(json!({"activates_at": "soon"})),
        ),
        (reqwest::Method::POST, "/admin/keys/1/retire", None),
        (reqwest::Method::POST, "/admin/keys/2/retire", None),
        (reqwest::Method::POST, "/admin/keys/77/retire", None),
        (reqwest::Method::GET, "/admin/keys", None),
        (reqwest::Method::GET, "/keys", None),
        (reqwest::Method::GET, "/metrics", None),
    ];
    for (method, path, body) in calls {
        let request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&admin);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        answers.push_str(&request.send().await.unwrap().text().await.unwrap());
    }
    assert!(service.terminate().await.success());

    // The private keys, as the test opens them from MongoDB with the secret.
    let documents = tokener_mongo::testing::raw_client(&mongo.uri())
        .await
        .database(&database)
        .collection::<mongodb::bson::Document>("keys")
        .find(mongodb::bson::doc! {})
        .await
        .unwrap();
    let documents: Vec<_> = futures_util::TryStreamExt::try_collect(documents)
        .await
        .unwrap();
    assert_eq!(documents.len(), 2, "the ring and the added key");
    let sealer = KeySealer::new([ENCRYPTION_SECRET]).unwrap();
    let mut private_keys = Vec::new();
    for document in &documents {
        let id = tokener_core::KeyId(document.get_i64("_id").unwrap() as u32);
        let (key, _) = sealer
            .open(
                id,
                document.get_str("public_key").unwrap(),
                document.get_str("sealed_private_key").unwrap(),
            )
            .unwrap();
        let file: serde_json::Value =
            serde_json::from_str(&KeyRing::single(key).to_json()).unwrap();
        let private = file["keys"][0]["private_key"].as_str().unwrap().to_string();
        private_keys.push(private["ed25519-private/".len()..].to_string());
    }

    let logs = service.logs();
    // The log and the answers could have shown them: they hold the calls and the public keys.
    assert!(
        logs.contains("signing key added") && logs.contains("/admin/keys"),
        "{logs}"
    );
    assert!(answers.contains(documents[1].get_str("public_key").unwrap()));
    for private in &private_keys {
        assert!(!logs.contains(private.as_str()), "a private key in the log");
        assert!(
            !answers.contains(private.as_str()),
            "a private key in an answer"
        );
    }
    assert!(!logs.contains(ENCRYPTION_SECRET) && !answers.contains(ENCRYPTION_SECRET));
    for document in &documents {
        let sealed = document.get_str("sealed_private_key").unwrap();
        assert!(
            !logs.contains(sealed) && !answers.contains(sealed),
            "no sealed key either"
        );
    }
}
