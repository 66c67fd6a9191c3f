//! `GET /revocations/stream`: replay, push, resume after a cursor, heartbeat, bad cursors.

use super::{all_revocations, eventually, issue, revoke, Issued, Sse, SseItem};
use crate::helpers::{assert_error, spawn_app};
use std::time::{Duration, Instant};

/// Revokes `count` fresh tokens of the test client, oldest first.
async fn revoked_tokens(app: &crate::helpers::TestApp, count: usize) -> Vec<Issued> {
    let mut revoked = Vec::new();
    for _ in 0..count {
        let token = issue(app).await;
        revoke(app, &token.bearer).await;
        revoked.push(token);
    }
    revoked
}

#[tokio::test]
async fn the_stream_replays_pushes_and_resumes_after_a_cursor() {
    let app = spawn_app().await;
    let revoked = revoked_tokens(&app, 3).await;
    let listed = eventually(
        Duration::from_secs(5),
        "three revocations listed",
        || async {
            let entries = all_revocations(&app).await;
            (entries.len() == 3).then_some(entries)
        },
    )
    .await;
    let cursors: Vec<String> = listed
        .iter()
        .map(|e| e["cursor"].as_str().expect("a cursor").to_string())
        .collect();

    // From the start: `retry`, then every revocation in feed order, the cursor as the id.
    let mut stream = Sse::open(&app, "", None).await;
    assert_eq!(
        stream.next(Duration::from_secs(5)).await,
        SseItem::Retry(1000)
    );
    for (i, token) in revoked.iter().enumerate() {
        let (id, data) = stream.next_event(Duration::from_secs(5)).await;
        assert_eq!(id, cursors[i], "event {i} carries its cursor as id");
        assert_eq!(data["cursor"], cursors[i]);
        assert_eq!(data["kind"], "token");
        assert_eq!(data["token_id"], token.id.as_str(), "replayed in order");
    }

    // A new revocation is pushed on the open stream.
    let fourth = issue(&app).await;
    let revoked_at = Instant::now();
    revoke(&app, &fourth.bearer).await;
    let (id, data) = stream.next_event(Duration::from_secs(5)).await;
    println!(
        "stream: a revocation was pushed {:?} after the request",
        revoked_at.elapsed()
    );
    assert_eq!(
        data["token_id"],
        fourth.id.as_str(),
        "the new one is pushed"
    );
    assert_eq!(data["cursor"], id.as_str());
    let mut cursors = cursors;
    cursors.push(id);
    let listed: Vec<String> = all_revocations(&app)
        .await
        .iter()
        .map(|e| e["cursor"].as_str().expect("a cursor").to_string())
        .collect();
    assert_eq!(listed, cursors, "the stream and the list agree");
    drop(stream);

    // Resuming after the second: exactly the third and the fourth, then only heartbeats.
    let mut resumed = Sse::open(&app, "", Some(&cursors[1])).await;
    assert_eq!(
        resumed.next(Duration::from_secs(5)).await,
        SseItem::Retry(1000)
    );
    for expected in &cursors[2..] {
        let (id, _) = resumed.next_event(Duration::from_secs(5)).await;
        assert_eq!(&id, expected, "no gap");
    }
    let quiet_since = Instant::now();
    match resumed.next(Duration::from_secs(7)).await {
        SseItem::Comment(text) => assert_eq!(text, "keep-alive"),
        other => panic!("expected the heartbeat and no duplicate, got {other:?}"),
    }
    println!(
        "stream: heartbeat after {:?} of quiet",
        quiet_since.elapsed()
    );

    // `?since=` resumes too, and `Last-Event-ID` wins over it.
    let mut by_query = Sse::open(&app, &format!("?since={}", cursors[2]), None).await;
    by_query.next(Duration::from_secs(5)).await;
    assert_eq!(
        by_query.next_event(Duration::from_secs(5)).await.0,
        cursors[3]
    );
    let mut both = Sse::open(&app, &format!("?since={}", cursors[0]), Some(&cursors[2])).await;
    both.next(Duration::from_secs(5)).await;
    assert_eq!(
        both.next_event(Duration::from_secs(5)).await.0,
        cursors[3],
        "the header wins"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_empty_stream_sends_heartbeats() {
    let app = spawn_app().await;
    let mut stream = Sse::open(&app, "", None).await;
    assert_eq!(
        stream.next(Duration::from_secs(5)).await,
        SseItem::Retry(1000)
    );
    let opened = Instant::now();
    assert_eq!(
        stream.next(Duration::from_secs(7)).await,
        SseItem::Comment("keep-alive".into())
    );
    println!("stream: first heartbeat after {:?}", opened.elapsed());
    app.stop().await;
}

#[tokio::test]
async fn a_bad_cursor_is_refused() {
    let app = spawn_app().await;
    for (query, header) in [
        ("", Some("not-a-cursor")),
        ("", Some("123.nothex")),
        ("?since=garbage", None),
    ] {
        let response = Sse::request(&app, query, header).await;
        assert_error(response, 400, "invalid_request").await;
    }
    app.stop().await;
}
