//! `GET /revocations`: token and client entries, each with its `kind` and `cursor`; `next`.

use super::{admin, create_client, eventually, issue, issue_as, revocations_page, revoke};
use crate::helpers::{assert_error, spawn_admin_app};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn the_feed_lists_token_and_client_entries_and_next_resumes() {
    let (app, token) = spawn_admin_app().await;
    let secret = create_client(&app, &token, "shipping", &["shipping:read"]).await;
    let revoked = issue(&app).await;
    revoke(&app, &revoked.bearer).await;
    let shipping = issue_as(&app, "shipping", &secret, json!({})).await;
    let response = admin(
        &app,
        reqwest::Method::POST,
        "/admin/clients/shipping/revoke-tokens",
        &token,
    )
    .send()
    .await
    .expect("request sent");
    assert_eq!(response.status(), 200);
    let made: Value = response.json().await.expect("JSON body");
    assert_eq!(made["client_id"], "shipping");
    let issued_before = made["issued_before"].as_u64().expect("issued_before");

    let entries = eventually(Duration::from_secs(5), "both entries listed", || async {
        let page = revocations_page(&app, "").await;
        let entries = page["revocations"].as_array().expect("a list").clone();
        (entries.len() == 2).then_some(entries)
    })
    .await;
    let (token_entry, client_entry) = (&entries[0], &entries[1]);
    assert_eq!(token_entry["kind"], "token");
    assert_eq!(token_entry["token_id"], revoked.id.as_str());
    assert!(token_entry["revoked_at"].as_u64().is_some());
    assert!(token_entry["expires_at"].as_u64() > token_entry["revoked_at"].as_u64());
    assert!(token_entry.get("client_id").is_none(), "{token_entry}");
    assert_eq!(client_entry["kind"], "client");
    assert_eq!(client_entry["client_id"], "shipping");
    assert_eq!(client_entry["issued_before"], issued_before);
    assert!(client_entry["expires_at"].as_u64() > Some(issued_before));
    assert!(client_entry.get("token_id").is_none(), "{client_entry}");
    let cursors: Vec<&str> = entries
        .iter()
        .map(|e| e["cursor"].as_str().expect("a cursor"))
        .collect();
    assert!(
        cursors[0].ends_with(&format!(".{}", revoked.id)),
        "{}",
        cursors[0]
    );
    assert!(cursors[1].ends_with(".c:shipping"), "{}", cursors[1]);
    assert!(
        !super::is_active(&app, &shipping.bearer).await,
        "the client entry covers the shipping token"
    );

    // One at a time: `next` is the last entry's cursor; past the end it stays put.
    let first = revocations_page(&app, "?limit=1").await;
    assert_eq!(first["revocations"], json!([entries[0]]));
    assert_eq!(first["next"], cursors[0]);
    let second = revocations_page(&app, &format!("?limit=1&since={}", cursors[0])).await;
    assert_eq!(second["revocations"], json!([entries[1]]));
    assert_eq!(second["next"], cursors[1]);
    let end = revocations_page(&app, &format!("?since={}", cursors[1])).await;
    assert_eq!(end["revocations"], json!([]));
    assert_eq!(
        end["next"], cursors[1],
        "nothing new: next is the request's since"
    );
    let empty_start = revocations_page(&app, "?limit=1&since=0.c:nobody").await;
    assert_eq!(
        empty_start["revocations"],
        json!([entries[0]]),
        "any cursor resumes"
    );

    for query in ["?limit=0", "?limit=10001", "?since=garbage"] {
        let response = app
            .http
            .get(app.url(&format!("/revocations{query}")))
            .send()
            .await
            .expect("request sent");
        assert_error(response, 400, "invalid_request").await;
    }
    app.stop().await;
}
