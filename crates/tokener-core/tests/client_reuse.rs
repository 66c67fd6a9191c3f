//! `ReusedClients`: a registry like any other, whose copies lapse.

use std::time::Duration;
use tokener_core::adapters::InMemoryClientRegistry;
use tokener_core::contract::sample_client;
use tokener_core::ClientRegistry;
use tokener_core::ReusedClients;

#[tokio::test]
async fn passes_the_client_registry_contract() {
    tokener_core::contract::client_registry(&ReusedClients::new(InMemoryClientRegistry::new()))
        .await;
}

#[tokio::test]
async fn a_change_is_seen_at_once_here_and_within_the_reuse_time_elsewhere() {
    // Two instances in front of one registry.
    let registry = InMemoryClientRegistry::new();
    let reuse_for = Duration::from_millis(300);
    let here = ReusedClients::reusing_for(registry.clone(), reuse_for);
    let there = ReusedClients::reusing_for(registry.clone(), reuse_for);
    let client = sample_client("billing");
    here.upsert(&client).await.unwrap();
    assert_eq!(there.get(&client.id).await.unwrap().as_ref(), Some(&client));

    let mut disabled = client.clone();
    disabled.disabled = true;
    here.upsert(&disabled).await.unwrap();
    assert_eq!(
        here.get(&client.id).await.unwrap().as_ref(),
        Some(&disabled),
        "the instance that made the change sees it at once"
    );
    assert_eq!(
        there.get(&client.id).await.unwrap().as_ref(),
        Some(&client),
        "another instance keeps its copy until it lapses"
    );
    tokio::time::sleep(reuse_for + Duration::from_millis(50)).await;
    assert_eq!(
        there.get(&client.id).await.unwrap().as_ref(),
        Some(&disabled),
        "and then reads the change"
    );
}

#[tokio::test]
async fn unknown_ids_are_asked_every_time() {
    let registry = InMemoryClientRegistry::new();
    let reused = ReusedClients::new(registry.clone());
    let client = sample_client("billing");
    assert_eq!(reused.get(&client.id).await.unwrap(), None);
    registry.upsert(&client).await.unwrap();
    assert_eq!(
        reused.get(&client.id).await.unwrap(),
        Some(client),
        "a client created elsewhere is found at once"
    );
}
