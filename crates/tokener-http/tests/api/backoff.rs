//! Failed client authentication is slowed down, then refused, per (client, source) and per
//! source; a client's quota is spent only by requests that authenticated as it.

use crate::helpers::{assert_error, spawn_app_with, TestApp};
use crate::helpers::{CLIENT_ID, CLIENT_SECRET};
use std::time::{Duration, Instant};
use tokener_core::{Clock, SystemClock};

/// Seconds a test needs inside one counting window (the counters are per clock minute).
const TEST_SECONDS: u64 = 20;

/// Waits for the next minute if this one has less than [`TEST_SECONDS`] left.
async fn fresh_window() {
    let second = SystemClock.now().unix() % 60;
    if second + TEST_SECONDS >= 60 {
        tokio::time::sleep(Duration::from_secs(60 - second)).await;
    }
}

/// `POST /token` as the test client, from `source` (the app trusts 127.0.0.1 as a proxy).
async fn token_from(app: &TestApp, source: &str, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(secret))
        .header("x-forwarded-for", source)
        .send()
        .await
        .unwrap()
}

const WRONG: &str = "a-wrong-secret-of-at-least-32-characters";

#[tokio::test]
async fn bogus_requests_cost_the_client_no_quota_and_are_throttled() {
    fresh_window().await;
    let app = spawn_app_with(&[
        ("TOKENER_TRUSTED_PROXIES", "127.0.0.1"),
        ("TOKENER_RATE_LIMIT_PER_MINUTE", "50"),
        ("TOKENER_AUTH_FAILURES_PER_MINUTE", "8"),
    ])
    .await;
    // 50 guesses from one address: the first 8 answer 401 (the later ones held back), the rest
    // 429 without their secret being compared.
    let mut statuses = Vec::new();
    let mut eighth = Duration::ZERO;
    for i in 0..50 {
        let start = Instant::now();
        let response = token_from(&app, "198.51.100.66", WRONG).await;
        if i == 7 {
            eighth = start.elapsed();
        }
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses[..8], [401; 8]);
    assert!(statuses[8..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(
        eighth >= Duration::from_millis(300),
        "the 8th failure waited {eighth:?}"
    );
    // Even the right secret from the guessing address is refused, unchecked...
    let refused = token_from(&app, "198.51.100.66", CLIENT_SECRET).await;
    assert_error(refused, 429, "rate_limited").await;
    // ...while the client's own host gets its tokens: the 50 guesses spent none of its quota.
    for _ in 0..3 {
        assert_eq!(
            token_from(&app, "198.51.100.7", CLIENT_SECRET)
                .await
                .status(),
            200
        );
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("tokener_auth_backoff_refusals_total 43"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_source_trying_many_client_ids_is_refused_for_every_id() {
    fresh_window().await;
    let app = spawn_app_with(&[
        ("TOKENER_TRUSTED_PROXIES", "127.0.0.0/8"),
        ("TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE", "6"),
    ])
    .await;
    for i in 0..6 {
        let response = app
            .http
            .post(app.url("/oauth2/token"))
            .header("x-forwarded-for", "203.0.113.50")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &format!("guess-{i}")),
                ("client_secret", WRONG),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let refused = token_from(&app, "203.0.113.50", CLIENT_SECRET).await;
    assert_error(refused, 429, "rate_limited").await;
    assert_eq!(
        token_from(&app, "203.0.113.51", CLIENT_SECRET)
            .await
            .status(),
        200
    );
    // A client that sends X-Forwarded-For itself, not through a trusted proxy, is its peer.
    app.stop().await;
    let direct = spawn_app_with(&[("TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE", "6")]).await;
    assert_eq!(
        token_from(&direct, "203.0.113.50", CLIENT_SECRET)
            .await
            .status(),
        200
    );
    direct.stop().await;
}

#[tokio::test]
async fn instances_sharing_redis_count_failures_together() {
    use tokener_mongo::testing::{service_var, unique_database, MONGODB_URI};
    use tokener_redis::testing::REDIS_URL;
    let (Some(mongo), Some(redis)) = (service_var(MONGODB_URI), service_var(REDIS_URL)) else {
        return;
    };
    fresh_window().await;
    let database = unique_database();
    let prefix = format!("backoff{}", std::process::id());
    let instance = |name: &'static str| {
        [
            ("TOKENER_MONGODB_URI", mongo.as_str()),
            ("TOKENER_MONGODB_DATABASE", database.as_str()),
            ("TOKENER_REDIS_URL", redis.as_str()),
            ("TOKENER_REDIS_PREFIX", prefix.as_str()),
            ("TOKENER_INSTANCE_NAME", name),
            (
                "TOKENER_KEY_ENCRYPTION_SECRET",
                "the back-off test's secret: 32+ characters",
            ),
            ("TOKENER_TRUSTED_PROXIES", "127.0.0.1"),
            ("TOKENER_AUTH_FAILURES_PER_MINUTE", "6"),
        ]
    };
    let a = spawn_app_with(&instance("a")).await;
    let b = spawn_app_with(&instance("b")).await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(token_from(app, "198.51.100.66", WRONG).await.status(), 401);
    }
    for app in [&a, &b] {
        let refused = token_from(app, "198.51.100.66", CLIENT_SECRET).await;
        assert_error(refused, 429, "rate_limited").await;
        assert_eq!(
            token_from(app, "198.51.100.7", CLIENT_SECRET)
                .await
                .status(),
            200
        );
    }
    a.stop().await;
    b.stop().await;
    tokener_mongo::testing::raw_client(&mongo)
        .await
        .database(&database)
        .drop()
        .await
        .unwrap();
}
