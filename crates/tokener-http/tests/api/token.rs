use crate::helpers::{assert_error, spawn_app, spawn_app_with, CLIENT_ID, CLIENT_SECRET};
use serde_json::json;

#[tokio::test]
async fn token_with_no_body_gets_the_defaults() {
    let app = spawn_app().await;
    let response = app.token(None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["scope"], json!(["orders:read", "orders:write"]));
    assert_eq!(body["audience"], json!(["orders"]));
    assert_eq!(body["token_id"].as_str().unwrap().len(), 128);
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(body["access_token"].as_str().unwrap().len() > 100);
}

#[tokio::test]
async fn token_narrowed_by_the_body() {
    let app = spawn_app().await;
    let response = app
        .token(Some(
            json!({"scope": ["orders:read"], "audience": [], "ttl_seconds": 60}),
        ))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], json!(["orders:read"]));
    assert_eq!(body["audience"], json!([]));
    assert_eq!(body["expires_in"], 60);
}

#[tokio::test]
async fn each_token_is_distinct() {
    let app = spawn_app().await;
    let a: serde_json::Value = app.token(None).await.json().await.unwrap();
    let b: serde_json::Value = app.token(None).await.json().await.unwrap();
    assert_ne!(a["token_id"], b["token_id"]);
    assert_ne!(a["access_token"], b["access_token"]);
}

#[tokio::test]
async fn wrong_missing_or_malformed_credentials_are_401_with_challenge() {
    let app = spawn_app().await;
    let url = app.url("/token");
    let attempts = [
        app.http.post(&url).basic_auth(CLIENT_ID, Some("wrong")),
        app.http
            .post(&url)
            .basic_auth("nobody", Some(CLIENT_SECRET)),
        app.http
            .post(&url)
            .basic_auth("bad id!", Some(CLIENT_SECRET)),
        app.http.post(&url).basic_auth(CLIENT_ID, None::<&str>),
        app.http
            .post(&url)
            .header("authorization", "Basic !!!not-base64"),
        app.http.post(&url).header("authorization", "Bearer abc"),
        app.http.post(&url),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic "));
        let body = assert_error(response, 401, "invalid_client").await;
        assert!(!body.to_string().contains(CLIENT_SECRET));
    }
}

#[tokio::test]
async fn scope_or_audience_not_granted_is_403() {
    let app = spawn_app().await;
    let body = assert_error(
        app.token(Some(json!({"scope": ["orders:admin"]}))).await,
        403,
        "scope_not_allowed",
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("orders:admin"));
    assert_error(
        app.token(Some(json!({"audience": ["payments"]}))).await,
        403,
        "audience_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn ttl_out_of_range_is_400() {
    let app = spawn_app_with(&[
        ("TOKENER_MAX_TTL_SECONDS", "3600"),
        ("TOKENER_DEFAULT_TTL_SECONDS", "600"),
    ])
    .await;
    let body = assert_error(
        app.token(Some(json!({"ttl_seconds": 3601}))).await,
        400,
        "invalid_ttl",
    )
    .await;
    assert!(body["error_description"].as_str().unwrap().contains("3600"));
    assert_error(
        app.token(Some(json!({"ttl_seconds": 0}))).await,
        400,
        "invalid_ttl",
    )
    .await;
    let ok: serde_json::Value = app.token(None).await.json().await.unwrap();
    assert_eq!(ok["expires_in"], 600, "configured default TTL");
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_problem() {
    let app = spawn_app().await;
    let cases: Vec<(&str, &str)> = vec![
        ("{not json", "malformed JSON"),
        ("{\"scope\": \"orders:read\"}", "malformed JSON"),
        ("{\"ttl_seconds\": -5}", "malformed JSON"),
        ("{\"surprise\": 1}", "unknown field"),
        ("{\"scope\": [\"has space\"]}", "scope[0]"),
        ("{\"audience\": [\"ok\", \"\"]}", "audience[1]"),
        ("[]", "must be an object"),
        // An array is not an object, even one serde could read as the struct's fields.
        ("[null, null, null]", "must be an object"),
        ("{\"ttl_seconds\": 600.5}", "malformed JSON"),
    ];
    for (body, needle) in cases {
        let response = app
            .http
            .post(app.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 400, "invalid_request").await;
        let description = error["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{body}: {description}");
    }
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversize_is_413() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "text/plain")
        .body("{\"scope\": []}")
        .send()
        .await
        .unwrap();
    assert_error(response, 415, "unsupported_media_type").await;
    let huge = json!({"scope": vec!["orders:read"; 1000]});
    let response = app.token(Some(huge)).await;
    assert_error(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/json; charset=utf-8")
        .body("{\"ttl_seconds\": 30}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let app = spawn_app_with(&[
        ("TOKENER_RATE_LIMIT_PER_MINUTE", "1000"),
        ("TOKENER_RATE_LIMITS", "billing=2"),
    ])
    .await;
    assert_eq!(app.token(None).await.status(), 200);
    assert_eq!(
        app.oauth("/oauth2/token", &[("grant_type", "client_credentials")])
            .await
            .status(),
        200
    );
    let response = app.token(None).await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(response, 429, "rate_limited").await;
    let response = app
        .oauth("/oauth2/token", &[("grant_type", "client_credentials")])
        .await;
    assert_error(response, 429, "rate_limited").await;
    // Wrong secrets count too: the limit also slows down guessing.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("tokener_rate_limited_total 2"),
        "{metrics}"
    );
}
