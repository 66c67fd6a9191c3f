//! One way to start the application for a test: on a random port, with a known client.

use mongodb::bson::{doc, Document};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokener_http::configuration::Settings;
use tokener_http::startup::Application;
use tokener_mongo::testing::raw_client;

pub const CLIENT_ID: &str = "billing";
pub const CLIENT_SECRET: &str = "billing-secret-of-at-least-32-characters";

pub struct TestApp {
    pub address: String,
    /// The metrics listener, when `TOKENER_METRICS_LISTEN` is set.
    pub metrics_address: Option<String>,
    pub http: reqwest::Client,
    pub handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Stops the server (gracefully: in-flight requests finish).
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// `POST /token` with the test client's credentials and an optional JSON body.
    pub async fn token(&self, body: Option<serde_json::Value>) -> reqwest::Response {
        let request = self
            .http
            .post(self.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.expect("request sent")
    }
}

/// The settings of the test app: random port, the test client (scopes `orders:read`,
/// `orders:write`; audience `orders`), in-memory store.
pub fn base_vars() -> HashMap<String, String> {
    [
        ("TOKENER_LISTEN", "127.0.0.1:0"),
        ("TOKENER_BOOTSTRAP_CLIENT_ID", CLIENT_ID),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", CLIENT_SECRET),
        (
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
            "orders:read orders:write",
        ),
        ("TOKENER_BOOTSTRAP_CLIENT_AUDIENCES", "orders"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Starts the app configured by exactly `vars`.
pub async fn spawn_app_with_vars(vars: HashMap<String, String>) -> TestApp {
    let settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("valid settings");
    let app = Application::build(settings).await.expect("app builds");
    started(app)
}

fn started(app: Application) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        http: reqwest::Client::new(),
        handle,
    }
}

/// Starts the app with the base settings plus `extra`.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = base_vars();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    spawn_app_with_vars(vars).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Asserts the response is a JSON error with this status and code; returns the body.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = content_type(&response);
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    body
}

/// Starts the app on the given adapters.
pub async fn spawn_app_on(storage: tokener_http::storage::Storage) -> TestApp {
    let vars = base_vars();
    let settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("valid settings");
    started(
        Application::build_with(settings, storage)
            .await
            .expect("app builds"),
    )
}

/// A second client, `shipping` (scope `shipping:read`), beside the test client.
pub const OTHER_ID: &str = "shipping";

/// Starts the app on the in-memory store with the test client and `shipping`; returns the
/// app and `shipping`'s generated secret.
pub async fn spawn_app_with_two_clients() -> (TestApp, String) {
    use std::sync::Arc;
    use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
    use tokener_core::{ClientService, Grants, SystemClock};
    let registry = InMemoryClientRegistry::new();
    let (_, secret) = ClientService::new(registry.clone(), Arc::new(SystemClock))
        .create(
            OTHER_ID.parse().unwrap(),
            Grants {
                scopes: ["shipping:read".parse().unwrap()].into(),
                ..Grants::default()
            },
        )
        .await
        .unwrap();
    let app = spawn_app_on(tokener_http::storage::Storage::in_memory(
        Arc::new(InMemoryTokenStore::new()),
        Arc::new(registry),
        "in-memory",
    ))
    .await;
    (app, secret.expose().to_string())
}

impl TestApp {
    /// `GET path` with `Accept: application/json`, as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON body")
    }

    /// The `GET /metrics` exposition text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("a text body")
    }

    /// A form POST to an OAuth2 endpoint, authenticated as the test client by HTTP Basic.
    pub async fn oauth(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    /// A bearer token for the test client, from `POST /token` with `body`.
    pub async fn bearer(&self, body: serde_json::Value) -> String {
        let response: serde_json::Value = self.token(Some(body)).await.json().await.unwrap();
        response["access_token"]
            .as_str()
            .expect("a token")
            .to_string()
    }

    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        let response = self.oauth("/oauth2/introspect", &[("token", token)]).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Introspects until the token is inactive (a revocation made on another instance reaches
    /// this one within its revocation poll); returns how long that took. Fails after 3 s.
    pub async fn until_inactive(&self, token: &str) -> Duration {
        let start = Instant::now();
        while self.introspect(token).await != json!({"active": false}) {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "the token is still active 3 s after its revocation"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        start.elapsed()
    }

    /// `GET /revocations`, once it lists at least `count` entries (the feed hands an entry out
    /// about 0.5 s after the revocation, so entries appear in order). Fails after 3 s.
    pub async fn revocations_listed(&self, count: usize) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let page = self.get_json("/revocations").await;
            if page["revocations"].as_array().map_or(0, Vec::len) >= count {
                return page;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "fewer than {count} revocations listed after 3 s: {page}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A request to an admin route with a bearer token.
pub fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.http.request(method, app.url(path)).bearer_auth(token)
}

/// The response's `Content-Type`, or empty.
pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The app with the test client allowed `tokener:admin`, and an admin token of that client.
pub async fn spawn_admin_app() -> (TestApp, String) {
    let app = spawn_app_with(&[(
        "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
        "orders:read tokener:admin",
    )])
    .await;
    let token = app
        .bearer(serde_json::json!({"scope": ["tokener:admin"], "ttl_seconds": 300}))
        .await;
    (app, token)
}

/// A key file with one fresh key, in the temporary directory, named after `name`; so that
/// instances sharing it (or a restarted one) verify each other's tokens.
pub fn key_file(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{name}-keys.json"));
    std::fs::write(&path, tokener_core::KeyRing::generate().to_json()).unwrap();
    path
}

/// Waits until MongoDB holds every id (and returns how many documents there are).
pub async fn until_all_in_mongodb(
    uri: &str,
    database: &str,
    ids: &[String],
    within: Duration,
) -> u64 {
    let tokens = raw_client(uri)
        .await
        .database(database)
        .collection::<Document>("tokens");
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let deadline = Instant::now() + within;
    loop {
        let found: BTreeSet<String> = tokens
            .distinct("_id", doc! {})
            .await
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let missing = wanted.iter().filter(|id| !found.contains(**id)).count();
        if missing == 0 {
            return tokens.count_documents(doc! {}).await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{missing} acknowledged tokens never reached MongoDB"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
