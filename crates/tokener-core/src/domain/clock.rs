//! Instants since the Unix epoch, and the clock port that reads them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, millisecond precision.
///
/// Token claims are whole seconds (what Biscuit dates and `exp`/`iat` carry; minting truncates),
/// but revocations keep their milliseconds: the revocation feed is ordered by revocation time,
/// and a second is too coarse to tell apart revocations made on several instances.
///
/// Serialized as whole seconds, as it always was, so queued records written by any version read
/// back the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_unix(seconds: u64) -> Self {
        Self(seconds.saturating_mul(1000))
    }

    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Whole seconds (rounded down).
    pub fn unix(self) -> u64 {
        self.0 / 1000
    }

    pub fn unix_millis(self) -> u64 {
        self.0
    }

    /// The same instant with its milliseconds dropped.
    pub fn whole_seconds(self) -> Self {
        Self::from_unix(self.unix())
    }

    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        Self(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    pub fn plus_secs(self, seconds: u64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    pub fn plus_millis(self, millis: u64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    pub fn minus_millis(self, millis: u64) -> Self {
        Self(self.0.saturating_sub(millis))
    }

    /// RFC 3339 in UTC, whole seconds, e.g. `2026-11-25T12:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = i64::try_from(self.unix()).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.unix().to_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.unix())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Self::from_unix)
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
        Self(std::sync::atomic::AtomicU64::new(t.unix_millis()))
    }

    pub fn advance(&self, seconds: u64) {
        self.advance_millis(seconds.saturating_mul(1000));
    }

    pub fn advance_millis(&self, millis: u64) {
        self.0
            .fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
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
    fn seconds_and_milliseconds() {
        let t = Timestamp::from_unix_millis(1_800_000_000_999);
        assert_eq!(t.unix(), 1_800_000_000);
        assert_eq!(t.whole_seconds(), Timestamp::from_unix(1_800_000_000));
        assert!(Timestamp::from_unix(1_800_000_000) < t);
        // Serialized as whole seconds, so records queued by any version read back the same.
        assert_eq!(serde_json::to_string(&t).unwrap(), "1800000000");
        let back: Timestamp = serde_json::from_str("1800000000").unwrap();
        assert_eq!(back, t.whole_seconds());
    }

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(
            Timestamp::from_unix(1_800_000_000).to_rfc3339(),
            "2027-01-15T08:00:00Z"
        );
    }
}
