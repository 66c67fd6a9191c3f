//! The seam where driver errors become [`StoreError`]s, and the hard time bound every operation
//! runs under. No `mongodb` error type leaves this crate.

use mongodb::error::{Error, ErrorKind, WriteFailure};
use std::future::IntoFuture;
use std::time::Duration;
use tokener_core::StoreError;

/// The server's code for a duplicate key (here: a token id recorded before).
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// Server error codes meaning "not now": the node is shutting down, stepping down, unreachable
/// or out of time. Taken from the driver specifications' retryable-error lists.
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// Runs a driver operation under `limit`, mapping its error at the seam.
///
/// The driver bounds server selection and connection establishment itself, but nothing bounds
/// a server that accepted the connection and then stopped answering (the 3.x driver has no
/// client-side operation timeout). Dropping the future on expiry makes the driver discard the
/// connection, so a hung server costs one pooled connection, never a hung request.
pub(crate) async fn bounded<T>(
    limit: Duration,
    operation: &'static str,
    future: impl IntoFuture<Output = Result<T, Error>>,
) -> Result<T, StoreError> {
    within(limit, operation, future)
        .await?
        .map_err(|error| to_store_error(operation, &error))
}

/// Like [`bounded`], but hands a driver error back as is, for callers that react to particular
/// server answers (a refused index option, a missing collection); only the timeout is mapped.
pub(crate) async fn within<T>(
    limit: Duration,
    operation: &'static str,
    future: impl IntoFuture<Output = Result<T, Error>>,
) -> Result<Result<T, Error>, StoreError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_elapsed| {
            StoreError::unavailable(format!(
                "{operation}: MongoDB did not answer within {limit:?}"
            ))
        })
}

/// Maps a driver error to the port's error.
///
/// Unreadable answers (documents that do not decode, malformed replies) are `Corrupt`: retrying
/// would read the same bytes again. Everything else — network, server selection, timeouts,
/// authentication, and commands the server refused — is `Unavailable`: the store could not do
/// what was asked, and a retry (after the server or its operator recovers) may succeed. The
/// detail is for logs: the operation and the driver's message, which may name a token or client
/// id but never a secret (none is stored) nor a document's contents.
pub(crate) fn to_store_error(operation: &'static str, error: &Error) -> StoreError {
    match error.kind.as_ref() {
        ErrorKind::BsonDeserialization(_) | ErrorKind::InvalidResponse { .. } => {
            StoreError::corrupt(format!("{operation}: {}", error.kind))
        }
        ErrorKind::BsonSerialization(_) => {
            // Only our own documents are serialized, and they are plain strings, numbers and
            // dates, so this means a bug rather than bad data; it is still nothing a retry fixes.
            StoreError::corrupt(format!(
                "{operation}: could not encode the document: {}",
                error.kind
            ))
        }
        _ => StoreError::unavailable(format!("{operation}: {}", describe(error))),
    }
}

/// The driver's message, prefixed with the server's error code when there is one and flagged
/// when the error is known to be transient.
fn describe(error: &Error) -> String {
    match server_code(error) {
        Some(code) if TRANSIENT_CODES.contains(&code) => {
            format!("transient server error {code}: {}", error.kind)
        }
        Some(code) => format!("server error {code}: {}", error.kind),
        None => error.kind.to_string(),
    }
}

/// The server's error code, for command and single-write failures.
pub(crate) fn server_code(error: &Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => Some(concern.code),
        _ => None,
    }
}

/// Whether the error is the server refusing a command it understood to be ours (rather than a
/// network, selection or decoding failure): the signal that a feature is not supported.
pub(crate) fn is_command_refusal(error: &Error) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Command(_))
}

/// Whether an `insert_many` failed only because some documents were already there: every write
/// error is a duplicate key and the write concern was met. `_id` is the only unique index, so a
/// duplicate key means "this token is already recorded", which is what idempotency asks for.
pub(crate) fn only_duplicate_keys(error: &Error) -> bool {
    match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure.write_errors.as_ref().is_some_and(|errors| {
                    !errors.is_empty() && errors.iter().all(|e| e.code == DUPLICATE_KEY)
                })
        }
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        _ => false,
    }
}
