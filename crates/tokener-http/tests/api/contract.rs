//! Inputs the published contract allows are accepted, and inputs it excludes are refused:
//! the edge cases an OpenAPI-driven fuzzer found.

use crate::helpers::{admin, assert_error, spawn_admin_app};
use reqwest::Method;

#[tokio::test]
async fn edge_inputs_are_answered_as_the_document_says() {
    let (app, token) = spawn_admin_app().await;
    // A JSON null body on /token asks for nothing in particular, as an empty body does.
    let null = app
        .http
        .post(app.url("/token"))
        .basic_auth(
            crate::helpers::CLIENT_ID,
            Some(crate::helpers::CLIENT_SECRET),
        )
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(null.status(), 200);
    // An empty cursor counts as omitted; a cursor outside the documented pattern is refused.
    assert_eq!(
        app.http
            .get(app.url("/revocations?since="))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = app
        .http
        .get(app.url("/revocations?since=null"))
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "invalid_request").await;
    let header = app
        .http
        .get(app.url("/revocations/stream"))
        .header(
            "last-event-id",
            reqwest::header::HeaderValue::from_bytes(b"\xc2\x84").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_error(header, 400, "invalid_request").await;
    // A whole number written with a fraction or an exponent is that integer.
    let decimal: serde_json::Value = app
        .token(Some(serde_json::json!({"ttl_seconds": 600.0})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decimal["expires_in"], 600, "{decimal}");
    let exponent = admin(&app, Method::PATCH, "/admin/clients/billing", &token)
        .json(&serde_json::json!({"max_ttl_seconds": 3.6e3}))
        .send()
        .await
        .unwrap();
    assert_eq!(exponent.status(), 200);
    // A null body where the body is optional means the defaults; an array is never a body.
    let null_key = admin(&app, Method::POST, "/admin/keys", &token)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(null_key.status(), 201);
    let array = admin(&app, Method::POST, "/admin/clients/billing/secret", &token)
        .header("content-type", "application/json")
        .body("[true]")
        .send()
        .await
        .unwrap();
    assert_error(array, 400, "invalid_request").await;
    // activates_at is bounded as documented (the end of year 9999).
    let far = admin(&app, Method::POST, "/admin/keys", &token)
        .json(&serde_json::json!({"activates_at": 253402300800_u64}))
        .send()
        .await
        .unwrap();
    assert_error(far, 400, "invalid_request").await;
    // Admin bodies that are not JSON: 415, as documented.
    let text = admin(&app, Method::POST, "/admin/clients", &token)
        .body("client_id=x")
        .send()
        .await
        .unwrap();
    assert_error(text, 415, "unsupported_media_type").await;
    app.stop().await;
}
