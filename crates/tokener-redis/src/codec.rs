//! How a token record travels through the write-behind stream: as JSON. Encoding happens on
//! the request path (inside the group commit's batch), decoding in the worker; both are
//! measured on their own by `cargo bench -p tokener-redis --bench record_codec`.

use tokener_core::{StoreError, TokenRecord};

/// An entry's payload.
pub fn encode_record(record: &TokenRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record)
        .map_err(|e| StoreError::corrupt(format!("enqueue: cannot encode the record: {e}")))
}

/// The record in an entry's payload; `None` for a payload that is not one (a poison entry,
/// which the worker dead-letters).
pub fn decode_record(payload: &[u8]) -> Option<TokenRecord> {
    serde_json::from_slice(payload).ok()
}
