//! The contract of the hit-counter port.

use crate::ports::HitCounter;

/// Counts per key and window; `count` reads without adding; a new window starts at zero.
pub async fn hit_counter<H: HitCounter>(counter: &H) {
    assert_eq!(
        counter.count("billing", 7).await.unwrap(),
        0,
        "nothing counted yet"
    );
    assert_eq!(counter.hit("billing", 7).await.unwrap(), 1);
    assert_eq!(counter.hit("billing", 7).await.unwrap(), 2);
    assert_eq!(
        counter.count("billing", 7).await.unwrap(),
        2,
        "count adds nothing"
    );
    assert_eq!(counter.count("billing", 7).await.unwrap(), 2);
    assert_eq!(
        counter.hit("other", 7).await.unwrap(),
        1,
        "keys count apart"
    );
    assert_eq!(
        counter.hit("billing", 8).await.unwrap(),
        1,
        "a new window starts at zero"
    );
    assert_eq!(counter.count("billing", 8).await.unwrap(), 1);
}
