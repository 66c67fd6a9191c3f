//! Group commit against a real MongoDB-wire server: concurrent issuances share writes, and a
//! server killed while batches are in flight costs no acknowledged token.

use crate::helpers::{key_file, spawn_app_with_vars, until_all_in_mongodb, TestApp};
use crate::mongodb::mongo_vars;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokener_mongo::testing::{unique_database, PrivateFerretDb};

/// What the issuing loops saw: the ids answered 200, every other status, and how many 200s
/// came after `restarted` turned true.
#[derive(Default)]
struct Seen {
    ids: Vec<String>,
    others: Vec<u16>,
    after_restart: usize,
}

/// `loops` clients issuing tokens back to back until `stop` turns true.
fn issue_concurrently(
    app: &Arc<TestApp>,
    loops: usize,
    restarted: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Seen>> {
    (0..loops)
        .map(|_| {
            let (app, restarted, stop) = (app.clone(), restarted.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Seen::default();
                while !stop.load(Ordering::Relaxed) {
                    let response = tokio::time::timeout(Duration::from_secs(15), app.token(None))
                        .await
                        .expect("the service answered instead of hanging");
                    if response.status() == 200 {
                        seen.after_restart += usize::from(restarted.load(Ordering::Relaxed));
                        let body: serde_json::Value = response.json().await.unwrap();
                        seen.ids
                            .push(body["token_id"].as_str().unwrap().to_string());
                    } else {
                        seen.others.push(response.status().as_u16());
                    }
                }
                seen
            })
        })
        .collect()
}

/// The value of an unlabelled metric in the exposition text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_kill_during_batches_loses_no_acknowledged_token() {
    let Some(mut server) = PrivateFerretDb::start().await else {
        return;
    };
    let database = unique_database();
    let keys = key_file(&database);
    let app = Arc::new(spawn_app_with_vars(mongo_vars(&server.uri(), &database, &keys)).await);
    let (restarted, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
    let loops = issue_concurrently(&app, 16, &restarted, &stop);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_kill = app.metrics().await;
    let (batches, records) = (
        metric(&before_kill, "tokener_group_commit_batches_total"),
        metric(&before_kill, "tokener_group_commit_records_total"),
    );
    assert!(
        records > batches,
        "16 concurrent clients share batches: {records} records in {batches} batches"
    );
    server.kill().await; // SIGKILL, with batches in flight
    tokio::time::sleep(Duration::from_millis(2000)).await;
    server.restart().await;
    restarted.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Seen::default();
    for handle in loops {
        let loop_seen = handle.await.unwrap();
        seen.ids.extend(loop_seen.ids);
        seen.others.extend(loop_seen.others);
        seen.after_restart += loop_seen.after_restart;
    }

    assert!(
        seen.others.iter().all(|&status| status == 503),
        "an unwritten batch answers 503, nothing else: {:?}",
        seen.others
    );
    assert!(
        !seen.others.is_empty(),
        "the kill was seen: batches failed while MongoDB was down"
    );
    assert!(
        seen.after_restart > 0,
        "issuance recovered after the restart"
    );
    let documents = until_all_in_mongodb(&server.uri(), &database, &seen.ids, Duration::ZERO).await;
    println!(
        "group commit: {records} records in {batches} batches before the kill; {} tokens \
         acknowledged, {} answered 503, all acknowledged found among {documents} documents",
        seen.ids.len(),
        seen.others.len()
    );
    let _ = std::fs::remove_file(keys);
}
