//! A verifier while Tokener is down: it goes on verifying with what it holds, and once Tokener
//! is back (restarted on the same address, the one URL the verifier follows) it catches up on
//! the revocations made meanwhile (through another instance on the same store), losing none
//! and holding each once.
//!
//! The restarted instance binds the port the first one had (`TOKENER_LISTEN`), so the verifier
//! reconnects to "the same Tokener".

use super::{issue, revoke, until_rejected, SharedStore};
use crate::helpers::{spawn_app_with_vars, TestApp};
use std::time::{Duration, Instant};
use tokener_http::configuration::Settings;
use tokener_http::startup::Application;
use tokener_verify::{RemoteVerifier, RemoteVerifyError, VerifyError, VerifyOptions};

#[tokio::test]
async fn a_verifier_rides_out_an_outage_and_catches_up_after() {
    let Some(store) = SharedStore::new() else {
        return;
    };
    let first = spawn_app_with_vars(store.vars()).await;
    let port: u16 = first
        .address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the app's port");
    let verifier = RemoteVerifier::discover(&first.address)
        .await
        .expect("a verifier attached");
    let options = VerifyOptions::default();
    let valid = issue(&first).await;
    let revoked_before = issue(&first).await;
    let during = [issue(&first).await, issue(&first).await];
    for t in [&valid, &revoked_before, &during[0], &during[1]] {
        verifier
            .verify(&t.bearer, &options)
            .await
            .expect("accepted at first");
    }
    revoke(&first, &revoked_before.bearer).await;
    until_rejected(
        &verifier,
        &revoked_before.bearer,
        Instant::now(),
        Duration::from_secs(3),
    )
    .await;

    first.stop().await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "Tokener is down"
    );
    verifier
        .verify(&valid.bearer, &options)
        .await
        .expect("a valid token still verifies while Tokener is down");
    assert_eq!(
        verifier
            .verify(&revoked_before.bearer, &options)
            .await
            .err(),
        Some(RemoteVerifyError::Token(VerifyError::Revoked)),
        "a token revoked before still fails"
    );

    // Meanwhile, another instance on the same store revokes two more.
    let other = spawn_app_with_vars(store.vars()).await;
    for t in &during {
        revoke(&other, &t.bearer).await;
    }
    other.stop().await;
    for t in &during {
        verifier
            .verify(&t.bearer, &options)
            .await
            .expect("the verifier cannot know yet");
    }

    // Tokener is back at the same address.
    let back = restart_on(&store, port).await;
    let restarted = Instant::now();
    for t in &during {
        until_rejected(&verifier, &t.bearer, restarted, Duration::from_secs(30)).await;
    }
    println!(
        "outage: both revocations made while down were rejected {:?} after the restart",
        restarted.elapsed()
    );
    verifier
        .verify(&valid.bearer, &options)
        .await
        .expect("the valid token still verifies");
    // Give the stream a moment to replay anything it would replay twice.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = verifier.stats();
    assert_eq!(stats.revocations, 3, "each revocation held once: {stats:?}");
    assert_eq!(verifier.revocations().len(), 3);
    assert!(stats.stream_reconnects >= 1, "{stats:?}");
    assert!(!stats.stale, "{stats:?}");

    verifier.shutdown();
    back.stop().await;
    store.cleanup().await;
}

/// Starts an instance on the store bound to `port` (which the stopped instance held), trying
/// again for a moment should the port not be free yet.
async fn restart_on(store: &SharedStore, port: u16) -> TestApp {
    let mut vars = store.vars();
    vars.insert("TOKENER_LISTEN".into(), format!("127.0.0.1:{port}"));
    let settings =
        || Settings::from_lookup(|name| vars.get(name).cloned()).expect("valid settings");
    let deadline = Instant::now() + Duration::from_secs(5);
    let app = loop {
        match Application::build(settings()).await {
            Ok(app) => break app,
            Err(error) if Instant::now() < deadline => {
                println!("outage: port {port} not free yet ({error:#}); trying again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot restart on port {port}: {error:#}"),
        }
    };
    assert_eq!(app.port(), port, "restarted on the same port");
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        metrics_address: None,
        http: reqwest::Client::new(),
        handle,
    }
}
