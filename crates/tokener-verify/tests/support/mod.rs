//! A fake Tokener served in process: metadata, keys (with ETag), the revocation feed and its
//! stream, with counters and switches for the tests.

#![allow(dead_code)] // each test file uses a part

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokener_core::token::{mint, MintInput, SigningKey};
use tokener_core::{
    feed, ClientRevocation, KeyId, Revocation, RevocationEntry, Timestamp, TokenClaims,
};
use tokio::sync::{broadcast, mpsc, watch};

pub mod front;

/// How often the fake's stream sends a heartbeat (the real server: every 5 s).
pub const HEARTBEAT: Duration = Duration::from_millis(100);

pub struct FakeTokener {
    pub url: String,
    pub state: Arc<FakeState>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

pub struct FakeState {
    keys: Mutex<Vec<(u32, String, &'static str)>>,
    key_generation: AtomicU64,
    revocations: Mutex<Vec<RevocationEntry>>,
    live: broadcast::Sender<RevocationEntry>,
    pub key_fetches: AtomicUsize,
    pub polls: AtomicUsize,
    pub stream_connects: AtomicUsize,
    pub stream_enabled: AtomicBool,
    gone: watch::Receiver<bool>,
}

impl FakeTokener {
    /// Serves on a free loopback port, publishing `keys` as active.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let (shutdown, gone) = watch::channel(false);
        let state = Arc::new(FakeState {
            keys: Mutex::new(Vec::new()),
            key_generation: AtomicU64::new(0),
            revocations: Mutex::new(Vec::new()),
            live: broadcast::channel(1024).0,
            key_fetches: AtomicUsize::new(0),
            polls: AtomicUsize::new(0),
            stream_connects: AtomicUsize::new(0),
            stream_enabled: AtomicBool::new(true),
            gone: gone.clone(),
        });
        for key in keys {
            state.publish(key, "active");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr: SocketAddr = listener.local_addr().expect("bound address");
        let url = format!("http://{addr}");
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/keys", get(keys_route))
            .route("/revocations", get(revocations_route))
            .route("/revocations/stream", get(stream_route))
            .with_state(state.clone());
        let mut stop = gone;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|gone| *gone).await;
                })
                .await;
        });
        Self {
            url,
            state,
            shutdown,
            server,
        }
    }

    /// Stops serving: streams end, the port is closed.
    /// Serves as [`FakeTokener::start`] does, from a runtime of its own (one worker thread) so
    /// it stays off the thread a bench measures. The runtime must outlive the fake's use.
    pub fn start_apart(keys: &[&SigningKey]) -> (tokio::runtime::Runtime, Self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("fake Tokener runtime");
        let fake = runtime.block_on(Self::start(keys));
        (runtime, fake)
    }

    /// Whether a verifier connects to the revocation stream within `within`.
    pub async fn streams_within(&self, within: Duration) -> bool {
        eventually(within, || {
            self.state.stream_connects.load(Ordering::SeqCst) >= 1
        })
        .await
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
    }
}

impl FakeState {
    pub fn publish(&self, key: &SigningKey, status: &'static str) {
        self.keys
            .lock()
            .expect("keys lock")
            .push((key.id().0, key.public().to_string(), status));
        self.key_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Revokes the token of `claims` (listed by the feed and sent on live streams).
    pub fn revoke(&self, claims: &TokenClaims) {
        let entry = RevocationEntry::Token(Revocation {
            token_id: claims.token_id.clone(),
            revoked_at: now(),
            expires_at: claims.expires_at,
        });
        self.revocations
            .lock()
            .expect("revocations lock")
            .push(entry.clone());
        let _ = self.live.send(entry);
    }

    /// Revokes every token `client` holds now (a client-wide entry, as when it is disabled).
    pub fn revoke_client(&self, client: &str) {
        let client_id = client.parse().expect("client id");
        let entry = RevocationEntry::Client(ClientRevocation::at(client_id, now(), 3600));
        self.revocations
            .lock()
            .expect("revocations lock")
            .push(entry.clone());
        let _ = self.live.send(entry);
    }

    fn entries_after(&self, since: Option<&str>) -> Vec<RevocationEntry> {
        let all = self.revocations.lock().expect("revocations lock").clone();
        let start = since
            .and_then(|c| all.iter().position(|e| e.cursor().to_string() == c))
            .map_or(0, |i| i + 1);
        all[start..].to_vec()
    }
}

pub fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// A token signed by `key`, valid for an hour.
pub fn token(key: &SigningKey, scopes: &[&str], audiences: &[&str]) -> (String, TokenClaims) {
    let issued_at = Timestamp::from_unix(now().unix());
    token_between(key, scopes, audiences, issued_at, issued_at.plus_secs(3600))
}

/// A token signed by `key` that expired an hour ago.
pub fn expired_token(key: &SigningKey) -> String {
    let issued_at = Timestamp::from_unix(now().unix() - 7200);
    token_between(key, &[], &[], issued_at, issued_at.plus_secs(3600)).0
}

fn token_between(
    key: &SigningKey,
    scopes: &[&str],
    audiences: &[&str],
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> (String, TokenClaims) {
    let scopes: BTreeSet<_> = scopes.iter().map(|n| n.parse().expect("scope")).collect();
    let audiences: BTreeSet<_> = audiences
        .iter()
        .map(|n| n.parse().expect("audience"))
        .collect();
    let minted = mint(
        key,
        MintInput {
            client_id: "billing".parse().expect("client id"),
            audiences,
            scopes,
            issued_at,
            expires_at,
        },
    )
    .expect("mint");
    (minted.bearer, minted.claims)
}

pub fn signing_key(id: u32) -> SigningKey {
    SigningKey::generate(KeyId(id))
}

/// Polls `condition` every 20 ms for up to `within`.
pub async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

/// Whether `verifier` learns within `within` that `claims` are revoked.
pub async fn learns_revoked(
    verifier: &tokener_verify::RemoteVerifier,
    claims: &TokenClaims,
    within: Duration,
) -> bool {
    eventually(within, || verifier.revocations().is_revoked(claims)).await
}

async fn metadata(headers: HeaderMap) -> Json<serde_json::Value> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    Json(serde_json::json!({
        "issuer": base,
        "keys_uri": format!("{base}/keys"),
        "revocations_uri": format!("{base}/revocations"),
        "revocations_stream_uri": format!("{base}/revocations/stream"),
    }))
}

async fn keys_route(State(state): State<Arc<FakeState>>, headers: HeaderMap) -> Response {
    state.key_fetches.fetch_add(1, Ordering::SeqCst);
    let etag = format!("\"g{}\"", state.key_generation.load(Ordering::SeqCst));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let keys: Vec<_> = state
        .keys
        .lock()
        .expect("keys lock")
        .iter()
        .map(|(id, key, status)| {
            serde_json::json!({"id": id, "algorithm": "ed25519", "public_key": key,
                               "public_key_hex": key.trim_start_matches("ed25519/"),
                               "status": status})
        })
        .collect();
    (
        [(header::ETAG, etag)],
        Json(serde_json::json!({ "keys": keys })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct FeedQuery {
    since: Option<String>,
}

async fn revocations_route(
    State(state): State<Arc<FakeState>>,
    Query(query): Query<FeedQuery>,
) -> Response {
    state.polls.fetch_add(1, Ordering::SeqCst);
    let entries = state.entries_after(query.since.as_deref());
    let next = entries
        .last()
        .map(|e| e.cursor().to_string())
        .or(query.since);
    let body = format!(
        r#"{{"revocations":[{}],"next":{}}}"#,
        entries
            .iter()
            .map(feed::encode)
            .collect::<Vec<_>>()
            .join(","),
        serde_json::to_string(&next).expect("cursor json")
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn stream_route(
    State(state): State<Arc<FakeState>>,
    Query(query): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    if !state.stream_enabled.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    state.stream_connects.fetch_add(1, Ordering::SeqCst);
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.since);
    let (tx, rx) = mpsc::channel::<String>(64);
    let mut live = state.live.subscribe();
    let replay = state.entries_after(since.as_deref());
    let mut gone = state.gone.clone();
    let stream_state = state.clone();
    tokio::spawn(async move {
        let event = |e: &RevocationEntry| {
            format!(
                "id: {}\nevent: revocation\ndata: {}\n\n",
                e.cursor(),
                feed::encode(e)
            )
        };
        if tx.send("retry: 1000\n\n".to_owned()).await.is_err() {
            return;
        }
        for entry in &replay {
            if tx.send(event(entry)).await.is_err() {
                return;
            }
        }
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            let chunk = tokio::select! {
                Ok(entry) = live.recv() => event(&entry),
                _ = heartbeat.tick() => ": keep-alive\n\n".to_owned(),
                _ = gone.wait_for(|g| *g) => return,
            };
            if !stream_state.stream_enabled.load(Ordering::SeqCst) || tx.send(chunk).await.is_err()
            {
                return;
            }
        }
    });
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(body),
    )
        .into_response()
}
