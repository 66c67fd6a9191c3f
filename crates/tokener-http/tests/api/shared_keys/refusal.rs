//! What refuses to start: a MongoDB mode with no way to share keys, a secret that does not open
//! the stored keys, a stored key that was altered. Nothing in MongoDB is changed by a refusal.

use super::{SharedStore, ENCRYPTION_SECRET};
use mongodb::bson::{doc, Document};
use std::collections::HashMap;
use tokener_http::configuration::Settings;
use tokener_http::startup::Application;
use tokener_mongo::testing::raw_client;

/// The error an instance with `vars` refuses to start with.
async fn refusal(vars: HashMap<String, String>) -> String {
    match Settings::from_lookup(|name| vars.get(name).cloned()) {
        Err(error) => error.to_string(),
        Ok(settings) => match Application::build(settings).await {
            Ok(_) => panic!("the instance started"),
            Err(error) => format!("{error:#}"),
        },
    }
}

#[tokio::test]
async fn a_mongodb_mode_without_key_file_or_secret_names_both_options() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let mut vars = store.vars(ENCRYPTION_SECRET);
    vars.remove("TOKENER_KEY_ENCRYPTION_SECRET");
    let message = refusal(vars.clone()).await;
    assert!(
        message.contains("TOKENER_SIGNING_KEY_FILE")
            && message.contains("TOKENER_KEY_ENCRYPTION_SECRET"),
        "{message}"
    );
    vars.insert(
        "TOKENER_KEY_ENCRYPTION_SECRET".into(),
        "tiny-secret-xyz".into(),
    );
    let message = refusal(vars).await;
    assert!(message.contains("at least 32 characters"), "{message}");
    assert!(
        !message.contains("tiny-secret-xyz"),
        "the secret is not echoed: {message}"
    );
    // The embedded mode keeps its generated key and starts.
    crate::helpers::spawn_app().await.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_or_an_altered_key_refuses_to_start_and_changes_nothing() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    store.spawn(&[]).await.stop().await;
    let before = store.key_documents().await;
    assert_eq!(before.len(), 1);

    let wrong = store.vars("another secret of at least thirty-two characters");
    let message = refusal(wrong).await;
    assert!(
        message.contains("TOKENER_KEY_ENCRYPTION_SECRET") && message.contains("does not open"),
        "{message}"
    );
    assert_eq!(store.key_documents().await, before, "nothing overwritten");

    // The old secret after a comma: opens, and seals the key again under the new one.
    let rotated = format!("another secret of at least thirty-two characters,{ENCRYPTION_SECRET}");
    let app = crate::helpers::spawn_app_with_vars(store.vars(&rotated)).await;
    app.stop().await;
    let resealed = store.key_documents().await;
    assert_eq!(resealed[0].get("public_key"), before[0].get("public_key"));
    assert_ne!(
        resealed[0].get("sealed_private_key"),
        before[0].get("sealed_private_key")
    );
    let only_new = store.vars("another secret of at least thirty-two characters");
    crate::helpers::spawn_app_with_vars(only_new)
        .await
        .stop()
        .await;

    // One character of the sealed key changed, then the public key swapped: both detected.
    let keys = raw_client(&store.uri)
        .await
        .database(&store.database)
        .collection::<Document>("keys");
    let sealed = resealed[0]
        .get_str("sealed_private_key")
        .unwrap()
        .to_string();
    let mut altered = sealed.clone().into_bytes();
    let i = altered.len() - 3;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    keys.update_one(
        doc! {"_id": 1_i64},
        doc! {"$set": {"sealed_private_key": &altered}},
    )
    .await
    .unwrap();
    let vars = store.vars("another secret of at least thirty-two characters");
    let message = refusal(vars.clone()).await;
    assert!(message.contains("does not open"), "{message}");
    let stranger = tokener_core::KeyRing::generate()
        .active()
        .public()
        .to_string();
    keys.update_one(
        doc! {"_id": 1_i64},
        doc! {"$set": {"sealed_private_key": &sealed, "public_key": &stranger}},
    )
    .await
    .unwrap();
    let message = refusal(vars).await;
    assert!(message.contains("does not open"), "{message}");
    let after = store.key_documents().await;
    assert_eq!(after.len(), 1, "no key was added beside the altered one");
    assert_eq!(after[0].get_str("public_key").unwrap(), stranger);
    store.drop().await;
}
