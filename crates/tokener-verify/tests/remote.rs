//! RemoteVerifier against the fake Tokener: discovery, keys, revocations, outages, staleness.

mod support;

use biscuit_auth::builder::BlockBuilder;
use biscuit_auth::Biscuit;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::{eventually, learns_revoked, signing_key, token, FakeTokener};
use tokener_core::{TokenClaims, VerifyError, VerifyOptions};
use tokener_verify::{DiscoverError, RemoteVerifier, RemoteVerifyError, Requirements};
use tokio::task::JoinHandle;

fn quick(url: &str) -> tokener_verify::RemoteVerifierBuilder {
    RemoteVerifier::builder(url)
        .revocation_poll_interval(Duration::from_millis(100))
        .http_timeout(Duration::from_secs(2))
}

/// `count` verifications of `bearer`, spawned at once: their handles, in order.
fn verify_at_once(
    verifier: &RemoteVerifier,
    bearer: String,
    count: usize,
) -> Vec<JoinHandle<Result<TokenClaims, RemoteVerifyError>>> {
    let bearer = Arc::new(bearer);
    (0..count)
        .map(|_| {
            let (verifier, bearer) = (verifier.clone(), bearer.clone());
            tokio::spawn(async move { verifier.verify(&bearer, &VerifyOptions::default()).await })
        })
        .collect()
}

#[tokio::test]
async fn discovers_and_verifies() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = RemoteVerifier::discover(&format!("{}/", fake.url))
        .await
        .expect("discover");
    let (bearer, claims) = token(&key, &["orders:read"], &["orders"]);
    let options = VerifyOptions::default()
        .audience("orders".parse().expect("audience"))
        .scope("orders:read".parse().expect("scope"));
    assert_eq!(verifier.verify(&bearer, &options).await, Ok(claims));
    let wrong = VerifyOptions::default().scope("orders:write".parse().expect("scope"));
    assert_eq!(
        verifier.verify(&bearer, &wrong).await,
        Err(RemoteVerifyError::Token(VerifyError::MissingScope))
    );
    assert_eq!(
        verifier.verify("garbage", &options).await,
        Err(RemoteVerifyError::Token(VerifyError::Malformed))
    );
    let stats = verifier.stats();
    assert_eq!((stats.verified, stats.rejected), (1, 2));
    assert!(verifier.is_ready());
}

#[tokio::test]
async fn discovery_fails_clearly_without_tokener() {
    let fake = FakeTokener::start(&[&signing_key(1)]).await;
    let url = fake.url.clone();
    fake.stop().await;
    let error = RemoteVerifier::discover(&url).await.map(|_| ());
    assert!(
        matches!(error, Err(DiscoverError::Fetch { .. })),
        "{error:?}"
    );
    assert!(matches!(
        RemoteVerifier::discover("ftp://x").await.map(|_| ()),
        Err(DiscoverError::InvalidUrl { .. })
    ));
}

#[tokio::test]
async fn next_keys_verify_before_they_sign() {
    let active = signing_key(1);
    let next = signing_key(2);
    let fake = FakeTokener::start(&[&active]).await;
    fake.state.publish(&next, "next");
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");
    let (bearer, _) = token(&next, &[], &[]);
    assert!(verifier
        .verify(&bearer, &VerifyOptions::default())
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_with_a_new_key_cause_one_shared_refetch() {
    let old = signing_key(1);
    let new = signing_key(2);
    let fake = FakeTokener::start(&[&old]).await;
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");
    let fetches_before = fake.state.key_fetches.load(Ordering::SeqCst);
    // The key is published after discovery: only a refetch can learn it.
    fake.state.publish(&new, "active");
    let (bearer, _) = token(&new, &[], &[]);
    for request in verify_at_once(&verifier, bearer, 1000) {
        assert!(matches!(request.await, Ok(Ok(_))));
    }
    let fetches = fake.state.key_fetches.load(Ordering::SeqCst) - fetches_before;
    assert!(fetches <= 3, "{fetches} key fetches for 1,000 requests");
    assert!(verifier.stats().unknown_key_refetches >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_id_nobody_publishes_is_refetched_at_most_once_per_interval() {
    let known = signing_key(1);
    let fake = FakeTokener::start(&[&known]).await;
    let verifier = RemoteVerifier::discover(&fake.url).await.expect("discover");
    let fetches_before = fake.state.key_fetches.load(Ordering::SeqCst);
    let (bearer, _) = token(&signing_key(7), &[], &[]);
    for _ in 0..3 {
        for request in verify_at_once(&verifier, bearer.clone(), 300) {
            assert!(matches!(
                request.await,
                Ok(Err(RemoteVerifyError::Token(VerifyError::UnknownKey)))
            ));
        }
    }
    let fetches = fake.state.key_fetches.load(Ordering::SeqCst) - fetches_before;
    assert!(fetches <= 2, "{fetches} key fetches");
}

#[tokio::test]
async fn keys_are_refreshed_on_the_timer_with_etag_revalidation() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url)
        .key_refresh_interval(Duration::from_millis(100))
        .unknown_key_refetch_interval(Duration::from_secs(3600))
        .discover()
        .await
        .expect("discover");
    let rotated = signing_key(3);
    fake.state.publish(&rotated, "next");
    let (bearer, _) = token(&rotated, &[], &[]);
    // The first verification may spend the one refetch allowed; after it only the timer can
    // bring the key.
    let _ = verifier.verify(&bearer, &VerifyOptions::default()).await;
    assert!(
        eventually(Duration::from_secs(3), || verifier.stats().key_fetches >= 4).await,
        "timer refreshes"
    );
    assert!(verifier
        .verify(&bearer, &VerifyOptions::default())
        .await
        .is_ok());
}

#[tokio::test]
async fn revocations_known_at_start_and_streamed_later_are_applied() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let (early, early_claims) = token(&key, &[], &[]);
    fake.state.revoke(&early_claims);
    let verifier = quick(&fake.url).discover().await.expect("discover");
    let revoked = Err(RemoteVerifyError::Token(VerifyError::Revoked));
    let any = VerifyOptions::default();
    assert_eq!(verifier.verify(&early, &any).await, revoked);

    let (late, late_claims) = token(&key, &[], &[]);
    assert!(verifier.verify(&late, &any).await.is_ok());
    assert!(fake.streams_within(Duration::from_secs(2)).await);
    let polls = fake.state.polls.load(Ordering::SeqCst);
    fake.state.revoke(&late_claims);
    assert!(
        learns_revoked(&verifier, &late_claims, Duration::from_secs(2)).await,
        "streamed revocation applied"
    );
    assert_eq!(verifier.verify(&late, &any).await, revoked);
    assert_eq!(
        fake.state.polls.load(Ordering::SeqCst),
        polls,
        "the stream, not polling, brought it"
    );
}

#[tokio::test]
async fn revocations_are_polled_while_the_stream_is_down() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    fake.state.stream_enabled.store(false, Ordering::SeqCst);
    let verifier = quick(&fake.url).discover().await.expect("discover");
    let (bearer, claims) = token(&key, &[], &[]);
    fake.state.revoke(&claims);
    assert!(
        learns_revoked(&verifier, &claims, Duration::from_secs(3)).await,
        "polled revocation applied"
    );
    assert_eq!(
        verifier.verify(&bearer, &VerifyOptions::default()).await,
        Err(RemoteVerifyError::Token(VerifyError::Revoked))
    );
    assert!(verifier.stats().stream_reconnects >= 1);

    // The stream is retried with backoff and taken up again once it is back.
    fake.state.stream_enabled.store(true, Ordering::SeqCst);
    assert!(
        fake.streams_within(Duration::from_secs(5)).await,
        "stream resumed"
    );
}

#[tokio::test]
async fn verification_goes_on_while_tokener_is_gone() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url).discover().await.expect("discover");
    let (revoked, revoked_claims) = token(&key, &[], &[]);
    fake.state.revoke(&revoked_claims);
    assert!(learns_revoked(&verifier, &revoked_claims, Duration::from_secs(2)).await);
    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (bearer, _) = token(&key, &[], &[]);
    let any = VerifyOptions::default();
    assert!(verifier.verify(&bearer, &any).await.is_ok());
    assert_eq!(
        verifier.verify(&revoked, &any).await,
        Err(RemoteVerifyError::Token(VerifyError::Revoked))
    );
}

#[tokio::test]
async fn past_the_allowed_staleness_it_fails_closed_by_default() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url)
        .max_staleness(Duration::from_millis(600))
        .discover()
        .await
        .expect("discover");
    let (bearer, _) = token(&key, &[], &[]);
    let any = VerifyOptions::default();
    // Heartbeats keep a live verifier fresh well past the allowed staleness.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(verifier.verify(&bearer, &any).await.is_ok());

    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(matches!(
        verifier.verify(&bearer, &any).await,
        Err(RemoteVerifyError::Stale { .. })
    ));
    // A token that is invalid anyway is still called so.
    assert_eq!(
        verifier.verify("garbage", &any).await,
        Err(RemoteVerifyError::Token(VerifyError::Malformed))
    );
    let stats = verifier.stats();
    assert!(stats.stale);
    assert!(!verifier.is_ready());
}

#[tokio::test]
async fn past_the_allowed_staleness_it_can_fail_open() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url)
        .max_staleness(Duration::from_millis(300))
        .fail_open_when_stale(true)
        .discover()
        .await
        .expect("discover");
    fake.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (bearer, _) = token(&key, &[], &[]);
    assert!(verifier
        .verify(&bearer, &VerifyOptions::default())
        .await
        .is_ok());
    assert!(verifier.stats().stale);
}

#[tokio::test]
async fn background_tasks_stop_with_the_last_clone() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url)
        .key_refresh_interval(Duration::from_millis(50))
        .discover()
        .await
        .expect("discover");
    let clone = verifier.clone();
    drop(verifier);
    assert!(
        eventually(Duration::from_secs(2), || fake
            .state
            .key_fetches
            .load(Ordering::SeqCst)
            >= 3)
        .await,
        "a clone keeps the tasks running"
    );
    drop(clone);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fetches = fake.state.key_fetches.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fake.state.key_fetches.load(Ordering::SeqCst), fetches);
}

#[tokio::test]
async fn the_cache_serves_plain_tokens_and_leaves_attenuated_ones_to_full_verification() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url)
        .verification_cache(100)
        .discover()
        .await
        .expect("discover");
    let needs = Requirements::new().scope("orders:read");
    let (plain, claims) = token(&key, &["orders:read"], &[]);
    for _ in 0..3 {
        let got = verifier
            .authorize(&plain, &needs)
            .await
            .expect("authorized");
        assert_eq!(*got, claims);
    }
    assert_eq!(verifier.stats().cache_hits, 2);
    // Requirements are judged on hits too.
    let more = Requirements::new().scope("orders:write");
    assert_eq!(
        verifier.authorize(&plain, &more).await.map(|_| ()),
        Err(RemoteVerifyError::Token(VerifyError::MissingScope))
    );

    // A holder narrowed this one to the next second: a cached verdict would outlive that.
    let deadline = SystemTime::now() + Duration::from_secs(1);
    let block = BlockBuilder::new()
        .check(rule_check(deadline).as_str())
        .expect("check");
    let narrowed = Biscuit::from_base64(&plain, key.public())
        .and_then(|t| t.append(block))
        .and_then(|t| t.to_base64())
        .expect("attenuated");
    assert!(verifier.authorize(&narrowed, &needs).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        verifier.authorize(&narrowed, &needs).await.map(|_| ()),
        Err(RemoteVerifyError::Token(VerifyError::CheckFailed))
    );
    assert_eq!(verifier.stats().cache_hits, 3, "only the plain token hit");
}

fn rule_check(deadline: SystemTime) -> String {
    let secs = deadline
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let rfc3339 = tokener_core::Timestamp::from_unix(secs).to_rfc3339();
    format!("check if time($t), $t <= {rfc3339}")
}

#[tokio::test]
async fn a_client_wide_revocation_covers_every_token_issued_before_it() {
    let key = signing_key(1);
    let fake = FakeTokener::start(&[&key]).await;
    let verifier = quick(&fake.url).discover().await.expect("discover");
    let (before, claims) = token(&key, &[], &[]);
    assert!(fake.streams_within(Duration::from_secs(2)).await);
    fake.state.revoke_client("billing");
    assert!(
        learns_revoked(&verifier, &claims, Duration::from_secs(2)).await,
        "client entry streamed"
    );
    assert_eq!(
        verifier.verify(&before, &VerifyOptions::default()).await,
        Err(RemoteVerifyError::Token(VerifyError::Revoked))
    );
}
