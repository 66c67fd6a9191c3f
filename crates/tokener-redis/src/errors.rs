//! The seam where Redis errors become [`StoreError`]s. No `redis` or `deadpool` type leaves
//! this crate.

use deadpool_redis::redis::{ErrorKind, RedisError};
use tokener_core::StoreError;

/// The server's error code for a consumer group that does not exist (the stream or the group
/// was deleted, e.g. by a flush): the adapter recreates the group and retries.
pub(crate) const NO_GROUP: &str = "NOGROUP";

/// The server's error code for creating a consumer group that exists already.
pub(crate) const BUSY_GROUP: &str = "BUSYGROUP";

/// Maps a Redis error to the port's error.
///
/// Replies the adapter cannot read (a parse failure, an unexpected type) are `Corrupt`:
/// reading again returns the same thing. Everything else — connection failures, timeouts,
/// authentication, and refusals by the server (`LOADING` while it replays its AOF, `MISCONF`
/// when it cannot persist, `READONLY` on a replica, `OOM`) — is `Unavailable`: a retry, once
/// Redis or its operator recovered, may succeed.
pub(crate) fn to_store_error(operation: &str, error: &RedisError) -> StoreError {
    match error.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
            StoreError::corrupt(format!("{operation}: unreadable Redis reply: {error}"))
        }
        _ => StoreError::unavailable(format!("{operation}: {error}")),
    }
}

/// Whether the server answered with this error code.
pub(crate) fn has_code(error: &RedisError, code: &str) -> bool {
    error.code() == Some(code)
}

/// A reply that does not have the shape the command documents.
pub(crate) fn malformed(operation: &str, what: &str) -> StoreError {
    StoreError::corrupt(format!("{operation}: malformed Redis reply: {what}"))
}
