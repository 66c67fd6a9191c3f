//! Instants as whole seconds since the Unix epoch, and the clock port that reads them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, second precision (what Biscuit dates and `exp`/`iat` claims carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_unix(seconds: u64) -> Self {
        Self(seconds)
    }

    pub fn unix(self) -> u64 {
        self.0
    }

    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    pub fn plus_secs(self, seconds: u64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// RFC 3339 in UTC, e.g. `2026-11-25T12:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Where services read the current time; a port so tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A clock that stays where a test puts it.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(std::sync::atomic::AtomicU64::new(t.unix()))
    }

    pub fn advance(&self, seconds: u64) {
        self.0
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(
            Timestamp::from_unix(1_800_000_000).to_rfc3339(),
            "2027-01-15T08:00:00Z"
        );
    }
}
