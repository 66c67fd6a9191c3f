//! Reading the stream commands' replies, which nest arrays several levels deep.

use crate::errors::malformed;
use deadpool_redis::redis::Value;
use tokener_core::StoreError;

/// The payload field of a queue entry.
pub(crate) const RECORD_FIELD: &str = "record";

/// A bulk or simple string as bytes.
pub(crate) fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

pub(crate) fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

/// An integer, sent as an integer or as a string of digits.
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        other => text(other).and_then(|t| t.parse().ok()),
    }
}

fn items(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

/// One stream entry: its id and the raw value of its `record` field (`None` when the field is
/// missing, or the entry was deleted while pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub(crate) id: String,
    pub(crate) payload: Option<Vec<u8>>,
}

/// `[[id, [field, value, ...]], ...]` (what `XRANGE`, `XAUTOCLAIM` and each stream of
/// `XREADGROUP` hold).
pub(crate) fn entries(operation: &str, value: &Value) -> Result<Vec<RawEntry>, StoreError> {
    let Some(list) = items(value) else {
        return match value {
            Value::Nil => Ok(Vec::new()),
            _ => Err(malformed(operation, "entries are not an array")),
        };
    };
    list.iter()
        .map(|entry| {
            let parts =
                items(entry).ok_or_else(|| malformed(operation, "entry is not an array"))?;
            let id = parts
                .first()
                .and_then(text)
                .ok_or_else(|| malformed(operation, "entry without an id"))?;
            let payload = parts.get(1).and_then(items).and_then(|fields| {
                fields
                    .chunks(2)
                    .find(|pair| pair.first().and_then(bytes) == Some(RECORD_FIELD.as_bytes()))
                    .and_then(|pair| pair.get(1))
                    .and_then(bytes)
                    .map(<[u8]>::to_vec)
            });
            Ok(RawEntry { id, payload })
        })
        .collect()
}

/// `XREADGROUP` on one stream: nil (nothing arrived) or `[[key, entries]]` (RESP2), or a map
/// from key to entries (RESP3).
pub(crate) fn read_group(operation: &str, value: &Value) -> Result<Vec<RawEntry>, StoreError> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Map(pairs) => match pairs.first() {
            Some((_, stream)) => entries(operation, stream),
            None => Ok(Vec::new()),
        },
        other => {
            let streams = items(other).ok_or_else(|| malformed(operation, "not an array"))?;
            match streams.first() {
                None => Ok(Vec::new()),
                Some(stream) => {
                    let parts = items(stream)
                        .ok_or_else(|| malformed(operation, "stream is not an array"))?;
                    match parts.get(1) {
                        Some(list) => entries(operation, list),
                        None => Err(malformed(operation, "stream without entries")),
                    }
                }
            }
        }
    }
}

/// `XAUTOCLAIM`: `[next cursor, entries, deleted ids]` (the last since Redis 7).
pub(crate) fn auto_claim(
    operation: &str,
    value: &Value,
) -> Result<(String, Vec<RawEntry>), StoreError> {
    let parts = items(value).ok_or_else(|| malformed(operation, "not an array"))?;
    let cursor = parts
        .first()
        .and_then(text)
        .ok_or_else(|| malformed(operation, "no cursor"))?;
    let claimed = match parts.get(1) {
        Some(list) => entries(operation, list)?,
        None => return Err(malformed(operation, "no entries")),
    };
    Ok((cursor, claimed))
}

/// Extended `XPENDING`: `[[id, consumer, idle ms, deliveries], ...]`, as (id, deliveries).
pub(crate) fn pending_counts(
    operation: &str,
    value: &Value,
) -> Result<Vec<(String, u64)>, StoreError> {
    let Some(list) = items(value) else {
        return match value {
            Value::Nil => Ok(Vec::new()),
            _ => Err(malformed(operation, "pending list is not an array")),
        };
    };
    list.iter()
        .map(|row| {
            let parts = items(row).ok_or_else(|| malformed(operation, "pending row"))?;
            let id = parts.first().and_then(text);
            let count = parts.get(3).and_then(integer);
            match (id, count) {
                (Some(id), Some(count)) => Ok((id, u64::try_from(count).unwrap_or(0))),
                _ => Err(malformed(operation, "pending row without id or count")),
            }
        })
        .collect()
}

/// Summary `XPENDING`: `[count, smallest id, greatest id, consumers]`; the count.
pub(crate) fn pending_total(operation: &str, value: &Value) -> Result<u64, StoreError> {
    items(value)
        .and_then(|parts| parts.first())
        .and_then(integer)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| malformed(operation, "pending summary"))
}

/// The millisecond part of a stream id (`<ms>-<seq>`).
pub(crate) fn id_millis(id: &str) -> Option<u64> {
    id.split('-').next().and_then(|ms| ms.parse().ok())
}

/// `TIME`: `[seconds, microseconds]`, in milliseconds.
pub(crate) fn time_millis(operation: &str, value: &Value) -> Result<u64, StoreError> {
    let parts = items(value).ok_or_else(|| malformed(operation, "TIME"))?;
    let seconds = parts.first().and_then(integer);
    let micros = parts.get(1).and_then(integer);
    match (seconds, micros) {
        (Some(s), Some(us)) if s >= 0 && us >= 0 => Ok(s as u64 * 1000 + us as u64 / 1000),
        _ => Err(malformed(operation, "TIME")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_entries_with_and_without_payload() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("s"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![bulk("other"), bulk("x"), bulk("record"), bulk("{}")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let read = read_group("t", &reply).unwrap();
        assert_eq!(
            read,
            vec![
                RawEntry {
                    id: "1-0".into(),
                    payload: Some(b"{}".to_vec())
                },
                RawEntry {
                    id: "2-0".into(),
                    payload: None
                },
            ]
        );
        assert!(read_group("t", &Value::Nil).unwrap().is_empty());
    }

    #[test]
    fn reads_autoclaim_pending_and_time() {
        let reply = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![Value::Array(vec![
                bulk("5-1"),
                Value::Array(vec![bulk("record"), bulk("r")]),
            ])]),
            Value::Array(vec![]),
        ]);
        let (cursor, claimed) = auto_claim("t", &reply).unwrap();
        assert_eq!(cursor, "0-0");
        assert_eq!(claimed[0].id, "5-1");
        let pending = Value::Array(vec![Value::Array(vec![
            bulk("5-1"),
            bulk("c"),
            Value::Int(10),
            Value::Int(3),
        ])]);
        assert_eq!(
            pending_counts("t", &pending).unwrap(),
            vec![("5-1".into(), 3)]
        );
        assert_eq!(
            time_millis("t", &Value::Array(vec![bulk("12"), bulk("345678")])).unwrap(),
            12_345
        );
        assert_eq!(id_millis("1700000000000-7"), Some(1_700_000_000_000));
        assert!(read_group("t", &Value::Int(1)).is_err());
    }
}
