//! Three instances of the real binary sharing one Redis and one MongoDB-wire server: tokens
//! issued on all three, a revocation on one honoured by the others within the stated second,
//! and one instance SIGKILLed under load while MongoDB is down, whose pending queue entries
//! the other two write: every acknowledged token ends up in MongoDB, once. Run on a single
//! Redis and on a Redis Cluster.

use crate::helpers::until_all_in_mongodb;
use crate::process::{until_status, Service};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokener_mongo::testing::{free_port, wait_for_port, PrivateFerretDb};
use tokener_redis::testing::{
    cluster_config, cluster_seeds, pending_by_consumer, test_config, unique_prefix, PrivateRedis,
    CLUSTER_TEST_PARTITIONS,
};
use tokener_redis::{RedisConfig, RedisStore};

pub(crate) const CLIENT: &str = "fleet";
pub(crate) const SECRET: &str = "fleet-test-secret-0123456789-abcdefghij";
const DATABASE: &str = "fleet";
/// What the README promises: a verification never misses a revocation older than a second.
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

/// Clients issuing tokens on `base` as fast as they can until `stop` is set or the instance
/// is gone; the ids of the tokens answered 200 go to `acknowledged`.
pub(crate) fn issue_until(
    base: &str,
    clients: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = reqwest::Client::new();
    (0..clients)
        .map(|_| {
            let (http, url, stop, acknowledged) = (
                http.clone(),
                format!("{base}/token"),
                stop.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(response) = http
                        .post(&url)
                        .basic_auth(CLIENT, Some(SECRET))
                        .send()
                        .await
                    else {
                        return; // the instance is gone
                    };
                    if response.status() == 200 {
                        if let Ok(body) = response.json::<serde_json::Value>().await {
                            if let Some(id) = body["token_id"].as_str() {
                                acknowledged.lock().unwrap().push(id.to_string());
                            }
                        }
                    }
                }
            })
        })
        .collect()
}

async fn active_on(http: &reqwest::Client, base: &str, token: &str) -> bool {
    let response = http
        .post(format!("{base}/oauth2/introspect"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status(), 200, "introspection on {base}");
    let body: serde_json::Value = response.json().await.unwrap();
    body["active"].as_bool().expect("active")
}

#[tokio::test]
async fn three_instances_share_tokens_revocations_and_a_dead_ones_queue() {
    let Some(redis) = PrivateRedis::start().await else {
        return;
    };
    let env = vec![("TOKENER_REDIS_URL", redis.url())];
    three_instances(env, test_config(&redis.url(), "tokener")).await;
}

#[tokio::test]
async fn three_instances_on_a_redis_cluster() {
    let Some(seeds) = cluster_seeds() else {
        return;
    };
    let prefix = unique_prefix();
    let env = vec![
        ("TOKENER_REDIS_CLUSTER_URLS", seeds.join(",")),
        ("TOKENER_REDIS_PREFIX", prefix.clone()),
        (
            "TOKENER_REDIS_STREAM_PARTITIONS",
            CLUSTER_TEST_PARTITIONS.to_string(),
        ),
    ];
    three_instances(env, cluster_config(&seeds, &prefix)).await;
}

/// `redis_env` points the instances at the shared Redis, which `redis` reaches too.
async fn three_instances(redis_env: Vec<(&'static str, String)>, redis: RedisConfig) {
    let Some(mut mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let dir = mongo.dir.clone();
    let keys = dir.join("keys.json");
    std::fs::write(&keys, tokener_core::KeyRing::generate().to_json()).unwrap();
    let http = reqwest::Client::new();
    let mut instances = Vec::new();
    for name in ["a", "b", "c"] {
        let mut env = redis_env.clone();
        env.extend([
            ("TOKENER_MONGODB_URI", mongo.uri()),
            ("TOKENER_MONGODB_DATABASE", DATABASE.to_string()),
            ("TOKENER_MONGODB_TIMEOUT_MS", "1000".to_string()),
            ("TOKENER_INSTANCE_NAME", name.to_string()),
            ("TOKENER_SIGNING_KEY_FILE", keys.display().to_string()),
            ("TOKENER_BOOTSTRAP_CLIENT_ID", CLIENT.to_string()),
            ("TOKENER_BOOTSTRAP_CLIENT_SECRET", SECRET.to_string()),
        ]);
        let port = free_port();
        let service = Service::start_with(&[], &env, dir.join(format!("{name}.log")), port);
        wait_for_port(port, Duration::from_secs(30)).await;
        until_status(&http, &format!("{}/readyz", service.base), 200).await;
        instances.push(service);
    }
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));

    // Tokens issued on all three.
    let stop = Arc::new(AtomicBool::new(false));
    let mut per_instance = Vec::new();
    for service in &instances {
        let mine = Arc::new(Mutex::new(Vec::new()));
        let load = issue_until(&service.base, 3, stop.clone(), mine.clone());
        per_instance.push((load, mine));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for (load, mine) in per_instance {
        for task in load {
            task.await.unwrap();
        }
        let mine = mine.lock().unwrap().clone();
        assert!(mine.len() > 20, "each instance issued: {}", mine.len());
        acknowledged.lock().unwrap().extend(mine);
    }

    // A token issued on b, revoked on a: active on b and c before, refused by both once the
    // bound has passed.
    let issued: serde_json::Value = http
        .post(format!("{}/token", instances[1].base))
        .basic_auth(CLIENT, Some(SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["access_token"].as_str().unwrap().to_string();
    acknowledged
        .lock()
        .unwrap()
        .push(issued["token_id"].as_str().unwrap().to_string());
    for other in &instances[1..] {
        assert!(active_on(&http, &other.base, &token).await);
    }
    let revoked = http
        .post(format!("{}/oauth2/revoke", instances[0].base))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let revoked_at = Instant::now();
    for other in &instances[1..] {
        while active_on(&http, &other.base, &token).await {
            assert!(
                revoked_at.elapsed() < REVOCATION_BOUND,
                "{} still accepted a token revoked on a {:?} ago",
                other.base,
                revoked_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "three instances: revocation on a refused by {} after {:?} at most",
            other.base,
            revoked_at.elapsed()
        );
    }

    // Load on all three; MongoDB goes down, so the queue and each worker's pending entries
    // grow; c is SIGKILLed holding some; MongoDB comes back.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = instances
        .iter()
        .flat_map(|service| issue_until(&service.base, 3, stop.clone(), acknowledged.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    mongo.kill().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queue = RedisStore::connect(redis).await.expect("the shared Redis");
    instances[2].kill();
    let pending = pending_by_consumer(&queue).await;
    let left_by_c: u64 = pending
        .iter()
        .filter(|(consumer, _)| *consumer == "c" || consumer.starts_with("c."))
        .map(|(_, count)| count)
        .sum();
    assert!(
        left_by_c > 0,
        "c held pending entries when it died: {pending:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    mongo.restart().await;

    let acknowledged = acknowledged.lock().unwrap().clone();
    let unique: BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "no token id acknowledged twice"
    );
    // c's pending entries are claimed by a and b once they have been idle for 30 s.
    let documents = until_all_in_mongodb(
        &mongo.uri(),
        DATABASE,
        &acknowledged,
        Duration::from_secs(120),
    )
    .await;
    // Documents are keyed by token id: a record written twice is still one document, and
    // more documents than acknowledged tokens are records c enqueued but never answered.
    assert!(documents >= acknowledged.len() as u64);
    let after = pending_by_consumer(&queue).await;
    let still_c: u64 = after
        .iter()
        .filter(|(consumer, _)| *consumer == "c" || consumer.starts_with("c."))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(still_c, 0, "c's entries were taken over: {after:?}");
    eprintln!(
        "three instances: {} tokens acknowledged, all in MongoDB ({documents} documents); c died \
         holding {left_by_c} pending entries",
        acknowledged.len()
    );
}
