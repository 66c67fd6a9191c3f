//! Audit events: who did what to what, and how it ended. Never a secret or a token.

use super::clock::Timestamp;
use rand::RngCore;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `<13-digit Unix milliseconds>-<16 hex digits>`: in time order when compared as text,
    /// unique, and the cursor a listing resumes after.
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
        let mut suffix = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut suffix);
        Self {
            id: format!("{:013}-{}", at.unix_millis(), hex::encode(suffix)),
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
