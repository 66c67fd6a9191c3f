//! Request ids, metrics, and what reaches the logs.

use crate::helpers::{spawn_app, CLIENT_ID};
use serde_json::json;

#[tokio::test]
async fn request_ids_are_returned_and_taken_from_the_caller() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42.a_b");
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id\twith junk")
        .send()
        .await
        .unwrap();
    assert_ne!(
        response.headers()["x-request-id"],
        "bad id\twith junk",
        "unsafe ids are replaced"
    );
    let errors = app.http.get(app.url("/nope")).send().await.unwrap();
    assert!(
        errors.headers().contains_key("x-request-id"),
        "errors carry the id too"
    );
}

fn counter(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.contains(labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_and_token_outcomes() {
    let app = spawn_app().await;
    let token = app.bearer(json!({})).await;
    app.oauth("/oauth2/token", &[("grant_type", "client_credentials")])
        .await;
    app.http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .send()
        .await
        .unwrap();
    app.introspect(&token).await;
    app.introspect("garbage").await;
    app.oauth("/oauth2/revoke", &[("token", &token)]).await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    assert_eq!(
        counter(&text, "tokener_tokens_issued_total", "outcome=\"issued\""),
        2.0,
        "{text}"
    );
    assert_eq!(
        counter(
            &text,
            "tokener_tokens_issued_total",
            "outcome=\"invalid_client\""
        ),
        1.0
    );
    assert_eq!(
        counter(&text, "tokener_client_auth_failures_total", ""),
        1.0
    );
    assert_eq!(
        counter(&text, "tokener_tokens_verified_total", "outcome=\"active\""),
        1.0
    );
    assert_eq!(
        counter(
            &text,
            "tokener_tokens_verified_total",
            "outcome=\"inactive\""
        ),
        1.0
    );
    assert_eq!(
        counter(&text, "tokener_tokens_revoked_total", "outcome=\"revoked\""),
        1.0
    );
    assert_eq!(
        counter(
            &text,
            "tokener_http_requests_total",
            "method=\"POST\",route=\"/token\",status=\"200\""
        ),
        1.0
    );
    assert!(text.contains("tokener_http_request_duration_seconds_bucket"));
    assert!(!text.contains(&token[..20]), "no token in the metrics");
}

#[tokio::test]
async fn a_metrics_listener_takes_metrics_off_the_main_address() {
    let app = crate::helpers::spawn_app_with(&[("TOKENER_METRICS_LISTEN", "127.0.0.1:0")]).await;
    assert_eq!(app.token(None).await.status(), 200);
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    let scraped = app
        .http
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains("tokener_tokens_issued_total{outcome=\"issued\"} 1"),
        "{text}"
    );
    for path in ["/healthz", "/readyz"] {
        let health = app
            .http
            .get(format!("{metrics}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "{path} on the metrics listener");
        assert_eq!(
            app.http.get(app.url(path)).send().await.unwrap().status(),
            200
        );
    }
    // The main address no longer serves them, nor does the metrics address serve the API.
    let main = app.http.get(app.url("/metrics")).send().await.unwrap();
    crate::helpers::assert_error(main, 404, "not_found").await;
    let api = app
        .http
        .post(format!("{metrics}/token"))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(api, 404, "not_found").await;
    app.stop().await;
}
