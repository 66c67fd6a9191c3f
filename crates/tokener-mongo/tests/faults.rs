//! A dead, silent or restarting server: operations fail fast with `Unavailable`, never hang,
//! and the same store recovers on its own when the server is back.

mod common;

use common::{free_port, PrivateFerretDb};
use std::time::{Duration, Instant};
use tokener_core::contract::{sample_client, sample_record};
use tokener_core::{ClientRegistry, RevokeOutcome, StoreError, Timestamp, TokenStore};
use tokener_mongo::{MongoConfig, MongoStore};

/// Short enough for a quick test, each bound distinct so a hang shows.
fn fast_config(uri: &str) -> MongoConfig {
    MongoConfig {
        server_selection_timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(500),
        operation_timeout: Duration::from_secs(2),
        heartbeat_frequency: Duration::from_millis(500),
        min_pool_size: 0,
        ..MongoConfig::new(uri, "tokener_faults")
    }
}

/// The hard bound every failing operation must meet: the operation timeout plus scheduling
/// slack.
const BOUND: Duration = Duration::from_secs(4);

fn assert_unavailable<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    started: Instant,
    what: &str,
) {
    let elapsed = started.elapsed();
    match result {
        Err(StoreError::Unavailable { detail }) => {
            eprintln!("{what}: Unavailable after {elapsed:?}: {detail}");
            assert!(
                elapsed < BOUND,
                "{what} took {elapsed:?} to fail ({detail})"
            );
        }
        other => panic!("{what}: expected Unavailable, got {other:?} after {elapsed:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_unavailable_within_bounds() {
    let uri = format!("mongodb://127.0.0.1:{}/", free_port());
    let started = Instant::now();
    let result = MongoStore::connect(fast_config(&uri)).await;
    assert_unavailable(result, started, "connect to a closed port");
}

#[tokio::test]
async fn a_server_that_never_answers_does_not_hang_connect() {
    // Accepts connections and reads nothing back: the worst kind of dead server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let result = MongoStore::connect(fast_config(&format!("mongodb://127.0.0.1:{port}/"))).await;
    assert_unavailable(result, started, "connect to a silent server");
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_fail_fast_while_the_server_is_down_and_recover_after_restart() {
    let Some(mut server) = PrivateFerretDb::start().await else {
        return;
    };
    let store = MongoStore::connect(fast_config(&server.uri()))
        .await
        .expect("connect");
    let tokens = store.tokens();
    let clients = store.clients();
    let before = sample_record("survivor", 1_900_000_000);
    let client = sample_client("survivor");
    tokens.record(&before).await.expect("record");
    clients.upsert(&client).await.expect("upsert");

    // A crash: pooled connections break, then no server is found.
    server.kill().await;
    for attempt in 0..3 {
        let started = Instant::now();
        assert_unavailable(
            tokens.get(before.id()).await,
            started,
            &format!("get #{attempt}"),
        );
        let started = Instant::now();
        assert_unavailable(store.ping().await, started, &format!("ping #{attempt}"));
    }
    let started = Instant::now();
    assert_unavailable(
        tokens.record(&sample_record("lost", 1_900_000_000)).await,
        started,
        "record",
    );

    // Back on the same port with the same files; the same store object must recover by itself.
    server.restart().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Err(error) = store.ping().await {
        assert!(
            Instant::now() < deadline,
            "no recovery within 20 s: {error}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        tokens.get(before.id()).await.expect("get after restart"),
        Some(before.clone())
    );
    assert_eq!(
        clients.get(&client.id).await.expect("client after restart"),
        Some(client)
    );
    assert_eq!(
        tokens
            .revoke(before.id(), Timestamp::from_unix(1_800_000_100))
            .await
            .expect("revoke after restart"),
        RevokeOutcome::Revoked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_times_out_instead_of_hanging() {
    let Some(server) = PrivateFerretDb::start().await else {
        return;
    };
    let store = MongoStore::connect(MongoConfig {
        // Slow monitoring, so the driver does not notice the freeze by itself first: what ends
        // the request must be the store's own operation timeout.
        connect_timeout: Duration::from_secs(10),
        heartbeat_frequency: Duration::from_secs(30),
        ..fast_config(&server.uri())
    })
    .await
    .expect("connect");
    let tokens = store.tokens();
    let record = sample_record("frozen", 1_900_000_000);
    tokens.record(&record).await.expect("record");

    // SIGSTOP: the kernel still accepts connections, the server answers nothing. Only the
    // operation timeout can end a request sent on an open connection.
    let pid = server.pid().expect("running");
    signal(pid, "STOP");
    for attempt in 0..2 {
        let started = Instant::now();
        assert_unavailable(
            tokens.is_revoked(record.id()).await,
            started,
            &format!("is_revoked #{attempt}"),
        );
    }
    signal(pid, "CONT");

    let deadline = Instant::now() + Duration::from_secs(20);
    while let Err(error) = store.ping().await {
        assert!(
            Instant::now() < deadline,
            "no recovery within 20 s: {error}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        tokens.get(record.id()).await.expect("get after thaw"),
        Some(record)
    );
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}
