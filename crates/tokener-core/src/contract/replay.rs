//! The contract of the replay-cache port.

use crate::ports::ReplayCache;
use std::time::Duration;

/// The first use of a key is told apart from its replays, keys are apart, and a key is
/// forgotten once its time has passed. Keys are random so that runs sharing a server do not
/// meet.
pub async fn replay_cache<R: ReplayCache>(cache: &R) {
    let prefix = format!("contract-{:016x}", rand::random::<u64>());
    let key = format!("{prefix}:a");
    let keep = Duration::from_secs(60);
    assert!(cache.first_use(&key, keep).await.unwrap(), "first use");
    assert!(!cache.first_use(&key, keep).await.unwrap(), "a replay");
    assert!(
        !cache.first_use(&key, keep).await.unwrap(),
        "still a replay"
    );
    assert!(
        cache.first_use(&format!("{prefix}:b"), keep).await.unwrap(),
        "keys are apart"
    );
    let brief = format!("{prefix}:brief");
    assert!(cache
        .first_use(&brief, Duration::from_millis(50))
        .await
        .unwrap());
    assert!(!cache
        .first_use(&brief, Duration::from_millis(50))
        .await
        .unwrap());
    // A blocking sleep: the contract runs under any executor, and 150 ms is nothing to a test.
    std::thread::sleep(Duration::from_millis(150));
    assert!(
        cache
            .first_use(&brief, Duration::from_millis(50))
            .await
            .unwrap(),
        "forgotten after its time"
    );
}
