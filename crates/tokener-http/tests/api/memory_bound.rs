//! The embedded in-memory store holds at most `TOKENER_MEMORY_MAX_TOKENS` token records: past
//! the bound (and with none of them expired) issuance answers 503 with `Retry-After`, and no
//! token is handed out that was not recorded.

use crate::helpers::{assert_error, spawn_app_with};

#[tokio::test]
async fn a_full_memory_store_answers_503_with_retry_after() {
    let app = spawn_app_with(&[("TOKENER_MEMORY_MAX_TOKENS", "3")]).await;
    let mut tokens = Vec::new();
    for n in 1..=3 {
        let response = app.token(None).await;
        assert_eq!(response.status(), 200, "token {n} of 3 is issued");
        let body: serde_json::Value = response.json().await.unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_string());
    }

    let response = app.token(None).await;
    assert_eq!(response.headers()["retry-after"], "2");
    let body = assert_error(response, 503, "temporarily_unavailable").await;
    assert!(body.get("access_token").is_none(), "no token handed out");

    // The OAuth2 grant is refused the same way.
    let response = app
        .oauth("/oauth2/token", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.headers()["retry-after"], "2");
    assert_error(response, 503, "temporarily_unavailable").await;

    // The tokens it holds stay valid.
    for token in &tokens {
        assert_eq!(app.introspect(token).await["active"], true);
    }
    app.stop().await;
}
