//! The receiving side: what services verifying Tokener tokens depend on. The revocation feed
//! (`GET /revocations`, the SSE `GET /revocations/stream`), client-wide revocations, the admin
//! re-check of the calling client, propagation to a `RemoteVerifier` attached to another
//! instance, a verifier riding out a Tokener outage, and `/keys` (hex keys, `ETag`, `next` keys).

mod admin_recheck;
mod client_wide;
mod feed;
mod jwt;
mod keys;
mod outage;
mod propagation;
mod stream;

use crate::helpers::{base_vars, TestApp, CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokener_mongo::testing::{raw_client, service_var, unique_database, MONGODB_URI};
use tokener_verify::{RemoteVerifier, RemoteVerifyError, VerifyError, VerifyOptions};

/// The test client's grants with the admin scope added.
pub const ADMIN_SCOPES: &str = "orders:read orders:write tokener:admin";

pub use crate::helpers::admin;

/// An admin token of the test client (which must hold `tokener:admin`).
pub async fn admin_token(app: &TestApp) -> String {
    app.bearer(json!({"scope": ["tokener:admin"], "ttl_seconds": 600}))
        .await
}

/// Registers a client through the admin API; returns its secret.
pub async fn create_client(app: &TestApp, token: &str, id: &str, scopes: &[&str]) -> String {
    let response = admin(app, reqwest::Method::POST, "/admin/clients", token)
        .json(&json!({"client_id": id, "scopes": scopes}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201, "client {id} registered");
    let body: Value = response.json().await.expect("JSON body");
    body["client_secret"]
        .as_str()
        .expect("a client secret")
        .to_string()
}

/// A token as `POST /token` hands it out.
#[derive(Debug, Clone)]
pub struct Issued {
    pub bearer: String,
    pub id: String,
}

/// `POST /token` as `client` with `body`; the response must be 200.
pub async fn issue_as(app: &TestApp, client: &str, secret: &str, body: Value) -> Issued {
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(client, Some(secret))
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, 200, "token for {client}: {body}");
    Issued {
        bearer: body["access_token"].as_str().expect("a token").to_string(),
        id: body["token_id"].as_str().expect("a token id").to_string(),
    }
}

/// A token of the test client.
pub async fn issue(app: &TestApp) -> Issued {
    issue_as(app, CLIENT_ID, CLIENT_SECRET, json!({})).await
}

/// Revokes a token of the test client (RFC 7009).
pub async fn revoke(app: &TestApp, bearer: &str) {
    let response = app.oauth("/oauth2/revoke", &[("token", bearer)]).await;
    assert_eq!(response.status(), 200, "revocation accepted");
}

/// Whether introspection (asked as the test client) says the token is active.
pub async fn is_active(app: &TestApp, bearer: &str) -> bool {
    let body = app.introspect(bearer).await;
    match body["active"].as_bool() {
        Some(active) => active,
        None => panic!("introspection without `active`: {body}"),
    }
}

/// One page of `GET /revocations` with this query.
pub async fn revocations_page(app: &TestApp, query: &str) -> Value {
    let response = app
        .http
        .get(app.url(&format!("/revocations{query}")))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200, "GET /revocations{query}");
    response.json().await.expect("JSON body")
}

/// Every entry of the feed, following `next` until nothing is new.
pub async fn all_revocations(app: &TestApp) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut since: Option<String> = None;
    loop {
        let query = match &since {
            Some(cursor) => format!("?limit=100&since={cursor}"),
            None => "?limit=100".to_string(),
        };
        let page = revocations_page(app, &query).await;
        let batch = page["revocations"].as_array().expect("a list").clone();
        if batch.is_empty() {
            return entries;
        }
        entries.extend(batch);
        since = Some(page["next"].as_str().expect("a next cursor").to_string());
    }
}

/// Polls `probe` every 50 ms until it gives a value; fails after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Verifies `bearer` with the verifier until it is refused as revoked; returns the time from
/// `since`. Any other refusal fails the test; so does still accepting it after `within`.
pub async fn until_rejected(
    verifier: &RemoteVerifier,
    bearer: &str,
    since: Instant,
    within: Duration,
) -> Duration {
    let options = VerifyOptions::default();
    loop {
        match verifier.verify(bearer, &options).await {
            Err(RemoteVerifyError::Token(VerifyError::Revoked)) => return since.elapsed(),
            Ok(_) => {}
            Err(other) => panic!("expected the token refused as revoked, got: {other}"),
        }
        assert!(
            since.elapsed() < within,
            "the verifier still accepts the revoked token after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A fresh database on the shared MongoDB-wire server and a key file, for instances that
/// share the record (`None`: the test is skipped).
pub struct SharedStore {
    pub uri: String,
    pub database: String,
    pub keys: PathBuf,
}

impl SharedStore {
    pub fn new() -> Option<Self> {
        let uri = service_var(MONGODB_URI)?;
        let database = unique_database();
        let keys = crate::helpers::key_file(&database);
        Some(Self {
            uri,
            database,
            keys,
        })
    }

    /// The settings of an instance on this store: write-through MongoDB, the shared key file,
    /// the test client with the admin scope, a short shutdown (open streams end at once).
    pub fn vars(&self) -> HashMap<String, String> {
        mongo_vars(&self.uri, &self.database, &self.keys)
    }

    pub async fn cleanup(self) {
        let _ = raw_client(&self.uri)
            .await
            .database(&self.database)
            .drop()
            .await;
        let _ = std::fs::remove_file(&self.keys);
    }
}

fn mongo_vars(uri: &str, database: &str, keys: &Path) -> HashMap<String, String> {
    let mut vars = base_vars();
    for (k, v) in [
        ("TOKENER_MONGODB_URI", uri),
        ("TOKENER_MONGODB_DATABASE", database),
        ("TOKENER_MONGODB_TIMEOUT_MS", "3000"),
        ("TOKENER_BOOTSTRAP_CLIENT_SCOPES", ADMIN_SCOPES),
        ("TOKENER_SHUTDOWN_TIMEOUT_SECONDS", "1"),
    ] {
        vars.insert(k.into(), v.into());
    }
    vars.insert(
        "TOKENER_SIGNING_KEY_FILE".into(),
        keys.display().to_string(),
    );
    vars
}

/// One item of a `text/event-stream`.
#[derive(Debug, Clone, PartialEq)]
pub enum SseItem {
    Retry(u64),
    Comment(String),
    Event {
        id: String,
        event: String,
        data: String,
    },
}

/// A minimal reader of a server-sent event stream, over reqwest's chunks.
pub struct Sse {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Sse {
    /// `GET /revocations/stream` with an optional query and `Last-Event-ID`.
    pub async fn request(
        app: &TestApp,
        query: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut request = app
            .http
            .get(app.url(&format!("/revocations/stream{query}")))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send().await.expect("request sent")
    }

    /// Opens the stream; it must answer 200 with `text/event-stream`.
    pub async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let response = Self::request(app, query, last_event_id).await;
        assert_eq!(response.status(), 200, "the stream opens");
        let content_type = crate::helpers::content_type(&response);
        assert!(
            content_type.starts_with("text/event-stream"),
            "content-type {content_type}"
        );
        Self {
            response,
            buffer: Vec::new(),
        }
    }

    /// The next item, or `None` if none arrives within `within`. Fails if the stream ends.
    pub async fn next_within(&mut self, within: Duration) -> Option<SseItem> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                return Some(parse_block(&String::from_utf8_lossy(&block[..end])));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) => panic!("the server ended the stream"),
                Ok(Err(e)) => panic!("reading the stream failed: {e}"),
            }
        }
    }

    pub async fn next(&mut self, within: Duration) -> SseItem {
        match self.next_within(within).await {
            Some(item) => item,
            None => panic!("nothing on the stream within {within:?}"),
        }
    }

    /// The next event (comments skipped): its id and parsed data.
    pub async fn next_event(&mut self, within: Duration) -> (String, Value) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                SseItem::Event { id, event, data } => {
                    assert_eq!(event, "revocation", "event type");
                    let data = serde_json::from_str(&data).expect("event data is JSON");
                    return (id, data);
                }
                SseItem::Comment(_) => {}
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }
}

fn parse_block(block: &str) -> SseItem {
    let (mut id, mut event, mut data, mut retry, mut comment) =
        (None, None, Vec::new(), None, None);
    for line in block.lines() {
        if let Some(text) = line.strip_prefix(':') {
            comment = Some(text.trim().to_string());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "id" => id = Some(value),
                "event" => event = Some(value),
                "data" => data.push(value),
                "retry" => retry = Some(value.parse().expect("retry is a number")),
                other => panic!("unknown field {other:?} in {block:?}"),
            }
        } else {
            panic!("unexpected line {line:?} in {block:?}");
        }
    }
    match (id, event, retry, comment) {
        (None, None, Some(retry), None) if data.is_empty() => SseItem::Retry(retry),
        (None, None, None, Some(comment)) if data.is_empty() => SseItem::Comment(comment),
        (Some(id), Some(event), None, None) => SseItem::Event {
            id,
            event,
            data: data.join("\n"),
        },
        _ => panic!("not an item this feed sends: {block:?}"),
    }
}
