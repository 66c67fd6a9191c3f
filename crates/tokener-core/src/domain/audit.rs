//! Audit events: who did what to what, and how it ended. Never a secret or a token.

use super::clock::Timestamp;
use rand::RngCore;
use std::sync::atomic::{AtomicU32, Ordering};

/// Orders the events one process makes within the same millisecond.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `<13-digit Unix milliseconds>-<8 hex digits: this process's sequence>-<8 random hex
    /// digits>`: in time order when compared as text (events of one process in the same
    /// millisecond in the order they were made), unique, and the cursor a listing resumes
    /// after.
    pub id: String,
    pub at: Timestamp,
    /// The client id that acted (`-` when no client authenticated).
    pub actor: String,
    /// What was done: `client.created`, `client.updated`, `client.disabled`,
    /// `client.secret_rotated`, `client.tokens_revoked`, `token.revoked`, `key.added`,
    /// `key.retired`, `auth.refused`.
    pub action: String,
    /// What it was done to: `client:<id>`, `token:<id>`, `key:<id>`, `source:<address>`.
    pub target: String,
    /// `ok`, or what it ended as (`already_revoked`...).
    pub outcome: String,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// For a burst counted as one event: how many.
    pub count: Option<u64>,
}

impl AuditEvent {
    pub fn new(
        at: Timestamp,
        actor: impl Into<String>,
        action: &str,
        target: impl Into<String>,
        outcome: &str,
    ) -> Self {
        let mut suffix = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut suffix);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        Self {
            id: format!(
                "{:013}-{sequence:08x}-{}",
                at.unix_millis(),
                hex::encode(suffix)
            ),
            at,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            outcome: outcome.into(),
            request_id: None,
            count: None,
        }
    }

    pub fn request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_one_millisecond_sort_in_the_order_they_were_made() {
        let at = Timestamp::from_unix_millis(1_800_000_000_123);
        let ids: Vec<String> = (0..50)
            .map(|_| AuditEvent::new(at, "ops", "key.added", "key:2", "ok").id)
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let later = AuditEvent::new(at.plus_millis(1), "ops", "key.added", "key:3", "ok");
        assert!(later.id > ids[49]);
    }
}
