//! Contract-test suite of the write-behind cache ([`TokenCache`]), run by every adapter crate
//! against its own adapter (re-exported from [`crate::contract`]). Expects a fresh, empty cache
//! of its own.

use super::fixtures::{sample_client, sample_record};
use crate::domain::{Clock, Revocation, SystemClock, Timestamp, TokenId, TokenRecord};
use crate::ports::TokenCache;

/// Runs every token-cache contract on `cache` (fresh and empty). Expiry is judged by the
/// system clock, as a cache server's is.
pub async fn token_cache<C: TokenCache>(cache: &C) {
    records_are_cached_until_expiry(cache).await;
    a_batch_is_cached_at_once(cache).await;
    revocation_markers_and_authority(cache).await;
    clients_are_cached_and_evicted(cache).await;
}

fn now() -> Timestamp {
    SystemClock.now()
}

fn expiring(client: &str, at: Timestamp) -> TokenRecord {
    sample_record(client, at.unix())
}

fn unknown_id() -> TokenId {
    sample_record("unknown", 0).claims.token_id
}

async fn records_are_cached_until_expiry<C: TokenCache>(cache: &C) {
    let live = expiring("cached", now().plus_secs(3600));
    assert_eq!(cache.get_record(live.id()).await.expect("get"), None);
    cache.put_record(&live).await.expect("put");
    assert_eq!(
        cache.get_record(live.id()).await.expect("get").as_ref(),
        Some(&live),
        "a cached record reads back unchanged"
    );

    let mut revoked = live.clone();
    // Whole seconds: a cache keeps record times as records travel (JSON, seconds); the
    // milliseconds that order the revocation feed live in the permanent store.
    revoked.revoked_at = Some(now().whole_seconds());
    cache.put_record(&revoked).await.expect("replace");
    assert_eq!(
        cache.get_record(live.id()).await.expect("get"),
        Some(revoked),
        "put replaces"
    );
    cache.evict_record(live.id()).await.expect("evict");
    assert_eq!(cache.get_record(live.id()).await.expect("get"), None);
    cache
        .evict_record(live.id())
        .await
        .expect("evicting twice is harmless");

    let expired = expiring("cached", Timestamp::from_unix(now().unix() - 10));
    cache.put_record(&expired).await.expect("put expired");
    assert_eq!(
        cache.get_record(expired.id()).await.expect("get"),
        None,
        "an expired token's record is not cached"
    );
}

async fn a_batch_is_cached_at_once<C: TokenCache>(cache: &C) {
    cache.put_records(&[]).await.expect("caching nothing");
    let live: Vec<TokenRecord> = (0..3)
        .map(|_| expiring("batched", now().plus_secs(3600)))
        .collect();
    let mut stale = expiring("batched", now().plus_secs(3600));
    cache.put_record(&stale).await.expect("put");
    // The same token again, now expired: a batch replaces like `put_record` does.
    stale.claims.expires_at = Timestamp::from_unix(now().unix() - 10);
    let mut batch = live.clone();
    batch.push(stale.clone());
    cache.put_records(&batch).await.expect("put_records");
    for record in &live {
        assert_eq!(
            cache.get_record(record.id()).await.expect("get").as_ref(),
            Some(record),
            "every record of the batch reads back unchanged"
        );
    }
    assert_eq!(
        cache.get_record(stale.id()).await.expect("get"),
        None,
        "an expired record in a batch leaves nothing cached"
    );
}

async fn revocation_markers_and_authority<C: TokenCache>(cache: &C) {
    let later = now().plus_secs(3600);
    let revoked = unknown_id();
    let other = unknown_id();
    assert!(!cache.is_complete().await.expect("is_complete"));
    assert_eq!(
        cache.revoked(&other).await.expect("revoked"),
        None,
        "a cache never warmed is not authoritative"
    );
    cache.mark_revoked(&revoked, later).await.expect("mark");
    assert_eq!(
        cache.revoked(&revoked).await.expect("revoked"),
        Some(true),
        "a marker counts even without authority"
    );
    assert_eq!(cache.revoked(&other).await.expect("revoked"), None);

    cache.mark_complete().await.expect("mark_complete");
    assert!(cache.is_complete().await.expect("is_complete"));
    assert_eq!(cache.revoked(&other).await.expect("revoked"), Some(false));
    assert_eq!(cache.revoked(&revoked).await.expect("revoked"), Some(true));

    let expired = unknown_id();
    cache
        .mark_revoked(&expired, Timestamp::from_unix(now().unix() - 10))
        .await
        .expect("mark expired");
    assert_eq!(
        cache.revoked(&expired).await.expect("revoked"),
        Some(false),
        "no marker outlives its token"
    );

    let many = [
        Revocation {
            token_id: unknown_id(),
            revoked_at: now(),
            expires_at: later,
        },
        Revocation {
            token_id: unknown_id(),
            revoked_at: now(),
            expires_at: later.plus_secs(10),
        },
        Revocation {
            token_id: unknown_id(),
            revoked_at: Timestamp::from_unix(now().unix() - 100),
            expires_at: Timestamp::from_unix(now().unix() - 10),
        },
    ];
    cache.mark_revoked_many(&many).await.expect("mark many");
    cache.mark_revoked_many(&[]).await.expect("mark none");
    let seen = [
        cache.revoked(&many[0].token_id).await.expect("revoked"),
        cache.revoked(&many[1].token_id).await.expect("revoked"),
        cache.revoked(&many[2].token_id).await.expect("revoked"),
    ];
    assert_eq!(seen, [Some(true), Some(true), Some(false)]);

    cache.mark_incomplete().await.expect("mark_incomplete");
    assert!(!cache.is_complete().await.expect("is_complete"));
    assert_eq!(cache.revoked(&other).await.expect("revoked"), None);
    assert_eq!(cache.revoked(&revoked).await.expect("revoked"), Some(true));
    cache.mark_complete().await.expect("mark_complete again");
    assert_eq!(cache.revoked(&other).await.expect("revoked"), Some(false));
}

async fn clients_are_cached_and_evicted<C: TokenCache>(cache: &C) {
    let client = sample_client("cached-client");
    assert_eq!(cache.get_client(&client.id).await.expect("get"), None);
    cache.put_client(&client).await.expect("put");
    assert_eq!(
        cache.get_client(&client.id).await.expect("get").as_ref(),
        Some(&client)
    );
    let mut changed = client.clone();
    changed.disabled = true;
    cache.put_client(&changed).await.expect("replace");
    assert_eq!(
        cache.get_client(&client.id).await.expect("get"),
        Some(changed)
    );
    cache.evict_client(&client.id).await.expect("evict");
    assert_eq!(cache.get_client(&client.id).await.expect("get"), None);
    cache
        .evict_client(&client.id)
        .await
        .expect("evicting twice is harmless");
}
