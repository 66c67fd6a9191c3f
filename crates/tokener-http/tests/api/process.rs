//! The real binary as an operator runs it: a TOML config, MongoDB, a full token flow, the logs
//! it writes, readiness through an outage, and a graceful stop.

use crate::helpers::until_all_in_mongodb;
use serde_json::json;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokener_mongo::testing::{free_port, wait_for_port, PrivateFerretDb};

const SECRET: &str = "smoke-test-secret-0123456789-abcdefghij";

pub(crate) struct Service {
    child: Child,
    pub(crate) base: String,
    log: std::path::PathBuf,
}

impl Service {
    /// `tokener serve` on a free port with a TOML config, logging JSON at debug level.
    fn start(config: &std::path::Path, log: std::path::PathBuf) -> Self {
        Self::start_with(
            &["--config", config.to_str().unwrap()],
            &[],
            log,
            free_port(),
        )
    }

    /// `tokener serve <args>` on `port` with only `env` (and JSON debug logs) in its environment.
    pub(crate) fn start_with(
        args: &[&str],
        env: &[(&str, String)],
        log: std::path::PathBuf,
        port: u16,
    ) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_tokener"))
            .arg("serve")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("TOKENER_LOG", "debug")
            .env("TOKENER_LOG_FORMAT", "json")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            )
            .spawn()
            .expect("tokener starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// SIGTERM, then the exit status (within 40 s, the longest graceful stop allowed).
    pub(crate) async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            assert!(Instant::now() < deadline, "tokener did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no goodbye.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }

    pub(crate) fn logs(&self) -> String {
        let mut text = String::new();
        std::fs::File::open(&self.log)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn status(http: &reqwest::Client, url: String) -> u16 {
    match tokio::time::timeout(Duration::from_secs(10), http.get(url).send()).await {
        Ok(Ok(r)) => r.status().as_u16(),
        _ => 0,
    }
}

pub(crate) async fn until_status(http: &reqwest::Client, url: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(http, url.to_string()).await != want {
        assert!(Instant::now() < deadline, "{url} never answered {want}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn operator_smoke_run() {
    let Some(mut mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let dir = mongo.dir.clone();
    let keys = dir.join("keys.json");
    std::fs::write(&keys, tokener_core::KeyRing::generate().to_json()).unwrap();
    let config = dir.join("tokener.toml");
    std::fs::write(
        &config,
        format!(
            "mongodb_uri = \"{}\"\nmongodb_database = \"smoke\"\nmongodb_timeout_ms = 1000\n\
             signing_key_file = \"{}\"\nbootstrap_client_id = \"smoke\"\n\
             bootstrap_client_secret = \"{SECRET}\"\nbootstrap_client_scopes = [\"orders:read\", \"tokener:admin\"]\n",
            mongo.uri(),
            keys.display()
        ),
    )
    .unwrap();
    let mut service = Service::start(&config, dir.join("tokener.log"));
    let http = reqwest::Client::new();
    let port: u16 = service.base.rsplit(':').next().unwrap().parse().unwrap();
    wait_for_port(port, Duration::from_secs(30)).await;
    until_status(&http, &format!("{}/readyz", service.base), 200).await;

    // A full token flow, with every secret-bearing header and body there is.
    let issued: serde_json::Value = http
        .post(format!("{}/token", service.base))
        .basic_auth("smoke", Some(SECRET))
        .json(&json!({"scope": ["orders:read", "tokener:admin"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["access_token"].as_str().unwrap().to_string();
    let form = [("token", token.as_str())];
    let introspected: serde_json::Value = http
        .post(format!("{}/oauth2/introspect", service.base))
        .basic_auth("smoke", Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    let created: serde_json::Value = http
        .post(format!("{}/admin/clients", service.base))
        .bearer_auth(&token)
        .json(&json!({"client_id": "other"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_secret = created["client_secret"].as_str().unwrap().to_string();
    http.post(format!("{}/oauth2/token", service.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "other"),
            ("client_secret", &other_secret),
        ])
        .send()
        .await
        .unwrap();
    http.post(format!("{}/oauth2/revoke", service.base))
        .basic_auth("smoke", Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();

    let metrics = http
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let issued_count: f64 = metrics
        .lines()
        .find(|l| l.starts_with("tokener_tokens_issued_total{outcome=\"issued\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the issued-token counter is exported");
    assert_eq!(issued_count, 2.0);

    // Readiness follows MongoDB.
    mongo.kill().await;
    until_status(&http, &format!("{}/readyz", service.base), 503).await;
    mongo.restart().await;
    until_status(&http, &format!("{}/readyz", service.base), 200).await;

    // A graceful stop: SIGTERM, exit 0.
    let exit = service.terminate().await;
    assert!(exit.success(), "graceful stop exits 0: {exit:?}");

    // Nothing secret reached the logs, though they ran at debug level.
    let logs = service.logs();
    assert!(logs.contains("request served"), "the log has request lines");
    assert!(logs.lines().all(|l| l.starts_with('{')), "JSON lines only");
    for secret in [token.as_str(), &token[..40], SECRET, other_secret.as_str()] {
        assert!(!logs.contains(secret), "a token or secret reached the logs");
    }
    for header in ["authorization", "Authorization", "Basic ", "Bearer "] {
        assert!(!logs.contains(header), "{header} reached the logs");
    }
}

/// Sustained issuance, SIGKILL of the service mid-run (with MongoDB down, so the queue holds a
/// backlog and the worker holds a batch), restart: every token that got a 2xx reaches MongoDB,
/// once.
#[tokio::test]
async fn crash_test_nothing_acknowledged_is_lost() {
    let Some(redis) = tokener_redis::testing::PrivateRedis::start().await else {
        return;
    };
    crash_test(vec![("TOKENER_REDIS_URL", redis.url())]).await;
}

/// The same on a Redis Cluster (3 primaries, 3 replicas), the queue in partitions.
#[tokio::test]
async fn crash_test_on_a_redis_cluster_nothing_acknowledged_is_lost() {
    use tokener_redis::testing::{cluster_seeds, unique_prefix};
    let Some(seeds) = cluster_seeds() else {
        return;
    };
    crash_test(vec![
        ("TOKENER_REDIS_CLUSTER_URLS", seeds.join(",")),
        ("TOKENER_REDIS_PREFIX", unique_prefix()),
        ("TOKENER_REDIS_STREAM_PARTITIONS", "6".to_string()),
    ])
    .await;
}

async fn crash_test(redis_env: Vec<(&'static str, String)>) {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    let Some(mut mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let dir = mongo.dir.clone();
    let keys = dir.join("keys.json");
    std::fs::write(&keys, tokener_core::KeyRing::generate().to_json()).unwrap();
    let mut env = redis_env;
    env.extend([
        ("TOKENER_MONGODB_URI", mongo.uri()),
        ("TOKENER_MONGODB_DATABASE", "crash".to_string()),
        ("TOKENER_MONGODB_TIMEOUT_MS", "1000".to_string()),
        ("TOKENER_INSTANCE_NAME", "crash".to_string()),
        ("TOKENER_SIGNING_KEY_FILE", keys.display().to_string()),
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "smoke".to_string()),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", SECRET.to_string()),
    ]);
    let port = free_port();
    let log = dir.join("tokener.log");
    let mut service = Service::start_with(&[], &env, log.clone(), port);
    let http = reqwest::Client::new();
    wait_for_port(port, Duration::from_secs(30)).await;
    until_status(&http, &format!("{}/readyz", service.base), 200).await;

    // Eight clients issue tokens as fast as they can until the service dies.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (http, url, acknowledged) = (
            http.clone(),
            format!("{}/token", service.base),
            acknowledged.clone(),
        );
        load.push(tokio::spawn(async move {
            loop {
                let response = match http
                    .post(&url)
                    .basic_auth("smoke", Some(SECRET))
                    .send()
                    .await
                {
                    Ok(r) => r,
                    Err(_) => return, // the service is gone
                };
                if response.status() == 200 {
                    if let Ok(body) = response.json::<serde_json::Value>().await {
                        if let Some(id) = body["token_id"].as_str() {
                            acknowledged.lock().unwrap().push(id.to_string());
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mongo.kill().await; // the backlog grows from here
    tokio::time::sleep(Duration::from_millis(1500)).await;
    service.child.kill().unwrap(); // SIGKILL: no drain, no goodbye
    let _ = service.child.wait();
    for task in load {
        let _ = task.await;
    }
    let acknowledged: Vec<String> = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "the load ran: {} tokens",
        acknowledged.len()
    );

    mongo.restart().await;
    let service = Service::start_with(&[], &env, log, port);
    wait_for_port(port, Duration::from_secs(30)).await;
    let documents = until_all_in_mongodb(
        &mongo.uri(),
        "crash",
        &acknowledged,
        Duration::from_secs(90),
    )
    .await;
    let unique: BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "no token id was acknowledged twice"
    );
    // Documents are keyed by token id, so a record written twice is still one document; more
    // documents than acknowledged tokens are records enqueued whose answer never left the
    // killed process.
    eprintln!(
        "crash test: {} tokens acknowledged, all found in MongoDB, {} documents",
        acknowledged.len(),
        documents
    );
    drop(service);
}

/// SIGTERM in write-behind mode: the service stops accepting, drains the queue into MongoDB,
/// and exits 0 with every acknowledged token recorded.
#[tokio::test]
async fn graceful_stop_drains_the_write_behind_queue() {
    use tokener_redis::testing::{service_var, REDIS_URL};

    let Some(mongo) = PrivateFerretDb::start().await else {
        return;
    };
    let Some(redis_url) = service_var(REDIS_URL) else {
        return;
    };
    let dir = mongo.dir.clone();
    let prefix = format!("drain{}", std::process::id());
    let env = vec![
        ("TOKENER_MONGODB_URI", mongo.uri()),
        ("TOKENER_MONGODB_DATABASE", "drain".to_string()),
        ("TOKENER_REDIS_URL", redis_url),
        ("TOKENER_REDIS_PREFIX", prefix),
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "smoke".to_string()),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", SECRET.to_string()),
        ("TOKENER_SHUTDOWN_TIMEOUT_SECONDS", "10".to_string()),
        // No key file: the keys are kept in MongoDB, sealed with this.
        ("TOKENER_KEY_ENCRYPTION_SECRET", format!("{SECRET}-keys")),
    ];
    let port = free_port();
    let mut service = Service::start_with(&[], &env, dir.join("tokener.log"), port);
    let http = reqwest::Client::new();
    wait_for_port(port, Duration::from_secs(30)).await;
    until_status(&http, &format!("{}/readyz", service.base), 200).await;
    let mut ids = Vec::new();
    for _ in 0..200 {
        let body: serde_json::Value = http
            .post(format!("{}/token", service.base))
            .basic_auth("smoke", Some(SECRET))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(body["token_id"].as_str().unwrap().to_string());
    }
    let exit = service.terminate().await;
    assert!(exit.success(), "{exit:?}");
    // Right after the exit, without any other instance running: everything is in MongoDB.
    until_all_in_mongodb(&mongo.uri(), "drain", &ids, Duration::ZERO).await;
    assert!(service.logs().contains("write-behind queue drained"));
}

/// A request's log line carries its latency as whole microseconds, an integer field (never a
/// float of milliseconds with binary noise in its last digits).
#[tokio::test]
async fn request_log_lines_carry_the_latency_in_whole_microseconds() {
    let port = free_port();
    let log = std::env::temp_dir().join(format!(
        "tokener-request-log-{}-{port}.log",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&log);
    let mut service = Service::start_with(&[], &[], log.clone(), port);
    wait_for_port(port, Duration::from_secs(30)).await;
    let http = reqwest::Client::new();
    until_status(&http, &format!("{}/healthz", service.base), 200).await;
    let exit = service.terminate().await;
    assert!(exit.success(), "graceful stop exits 0: {exit:?}");

    let logs = service.logs();
    let _ = std::fs::remove_file(&log);
    let line: serde_json::Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "request served")
        .expect("a request line in the log");
    assert!(
        line["latency_us"].is_u64(),
        "latency_us is an integer: {line}"
    );
    assert!(line.get("latency_ms").is_none(), "no float latency: {line}");
}
