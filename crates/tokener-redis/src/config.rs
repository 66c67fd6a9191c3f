//! Where the adapters connect, what they name their keys, and how long they wait.

use std::fmt;
use std::time::Duration;

/// The most replicas an enqueue can wait for: more than any Redis deployment keeps per primary.
pub const MAX_WAIT_REPLICAS: u32 = 16;

/// The most streams the write-behind queue may be spread over: far more than the primaries of
/// any cluster, and every worker pass visits each of them.
pub const MAX_STREAM_PARTITIONS: u16 = 1024;

/// The streams of one queue partition: the queue and its dead letters, in one hash slot (the
/// dead-letter script moves an entry from one to the other atomically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionKeys {
    pub(crate) stream: String,
    pub(crate) dead_letters: String,
}

/// How to reach Redis, the key layout, and how patient to be.
///
/// Every key this crate touches starts with `key_prefix` followed by `:`, so several
/// deployments (or test runs) can share one Redis:
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `{prefix}:wb:{stream}` | stream | the write-behind queue: field `record` = JSON of a token record; consumer group `{group}` |
/// | `{prefix}:wb:{dead_letter_stream}` | stream | dead letters: `entry` (original id), `record` (payload as it was), `reason`, `deliveries` |
///
/// A partitioned queue (cluster mode, or `stream_partitions` above 1) has, for each partition
/// `n`, the stream `{prefix}:wb:{{stream}.{n}}` and its dead letters
/// `{prefix}:wb:{{stream}.{n}}:{dead_letter_stream}`: the braces are a Redis Cluster hash tag,
/// so a partition's two streams share a slot. Every other key is read and written one key per
/// command, so it may live on any slot.
/// | `{prefix}:cache:token:{token id}` | string | JSON of a token record, expiring with the token (`EXAT`) |
/// | `{prefix}:cache:revoked:{token id}` | string | a revocation marker (`1`), expiring with the token |
/// | `{prefix}:cache:revocations-complete` | string | the authority marker: set once every revocation was loaded; no expiry |
/// | `{prefix}:cache:client:{client id}` | string | JSON of a client, for `client_ttl` |
/// | `{prefix}:cache:rate:{key}:{window}` | string | a rate-limit or back-off counter, for two windows |
/// | `{prefix}:cache:jti:{client id}:{SHA-256 of the jti}` | string | a used `private_key_jwt` assertion id (`1`), until the assertion could no longer be accepted |
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`. Never logged as is: `Debug` masks the
    /// password. (`rediss://`, TLS, is refused: this build has no TLS support.)
    ///
    /// Default: `redis://127.0.0.1:6379/`.
    pub url: String,

    /// The first part of every key.
    ///
    /// Default: `tokener`.
    pub key_prefix: String,

    /// The queue's stream, under `{key_prefix}:wb:`.
    ///
    /// Default: `records`.
    pub stream: String,

    /// The consumer group every instance's worker joins.
    ///
    /// Default: `writers`.
    pub group: String,

    /// The dead-letter stream, under `{key_prefix}:wb:`.
    ///
    /// Default: `dead`.
    pub dead_letter_stream: String,

    /// The most connections this process opens. A blocking queue read holds one for up to the
    /// worker's block time; everything else holds one for a single round trip.
    ///
    /// Default: 16: Redis answers in well under a millisecond, so 16 connections carry tens of
    /// thousands of operations a second, and many instances times 16 stays far below Redis's
    /// default limit of 10,000 clients.
    pub pool_size: usize,

    /// How long opening a connection may take, and how long an operation waits for a free one.
    ///
    /// Default: 1 s: a Redis on the same network accepts a connection in milliseconds; one
    /// that does not within a second is not one to wait for on a request path.
    pub connect_timeout: Duration,

    /// The hard upper bound on one operation (getting a connection included), on top of the
    /// blocking time a queue read asks for. A dead or hung Redis fails operations with
    /// `StoreError::Unavailable` after this long, never hangs them.
    ///
    /// Default: 2 s: Redis commands take microseconds and a round trip milliseconds; even an
    /// fsync per write (`appendfsync always`) on a slow disk stays far below this, so hitting
    /// it means Redis is away, and callers learn so quickly.
    pub command_timeout: Duration,

    /// How long a client stays cached. A cached client may be stale by up to this long after
    /// a change (see `tokener_core::CachedClientRegistry`): a disabled client can authenticate
    /// for at most this long.
    ///
    /// Default: 60 s.
    pub client_ttl: Duration,

    /// Refuse to connect (with `StoreError::Unavailable`) when the server is not configured to
    /// keep acknowledged writes: `appendonly yes`, `appendfsync always` and
    /// `maxmemory-policy noeviction`. When false, such a server is only warned about.
    ///
    /// Default: false (a warning), so that development set-ups work; set it in production.
    pub require_durability: bool,

    /// How many replicas must hold an enqueued record before it counts as enqueued (Redis
    /// `WAIT`, in the same round trip as the records): with 1 or more, a write-behind 2xx
    /// means the record is on two machines, so a primary lost with its disk loses no token.
    /// Replicas that do not confirm within `command_timeout` fail the enqueue (the caller then
    /// writes the records to MongoDB itself). Each waiting enqueue holds a connection of its own
    /// for that round trip, so the other operations never queue behind a `WAIT`.
    ///
    /// Default: 0: the primary's own acknowledgement (its AOF, under `appendfsync always`).
    pub wait_replicas: u32,

    /// The seed nodes of a Redis Cluster (`redis://host:port`). When not empty, the adapters
    /// talk to the cluster through the `redis` crate's cluster client (which follows `MOVED`
    /// and `ASK` and learns the new primaries after a failover) and `url` is not used.
    ///
    /// Default: empty (the single Redis at `url`).
    pub cluster_urls: Vec<String>,

    /// How many streams the write-behind queue is spread over; each batch of records goes to
    /// one, chosen by the first record's token id, and every worker reads them all. On a
    /// cluster the partitions spread over the primaries, so no single stream bounds the
    /// queue's throughput.
    ///
    /// Default: 1 (one stream, the layout of a single Redis). Cluster mode should use more
    /// (the service defaults to 16 there).
    pub stream_partitions: u16,
}

impl RedisConfig {
    /// The default configuration, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Checks what would otherwise fail later, or silently misbehave.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let urls = if self.cluster_urls.is_empty() {
            std::slice::from_ref(&self.url)
        } else {
            self.cluster_urls.as_slice()
        };
        for url in urls {
            if url.starts_with("rediss://") {
                // TLS would pull a TLS stack and a crypto provider into the build; not done yet.
                return Err("rediss:// (TLS) is not supported by this build; use redis://".into());
            }
            if !url.starts_with("redis://") {
                return Err("url must start with redis://".into());
            }
        }
        if !(1..=MAX_STREAM_PARTITIONS).contains(&self.stream_partitions) {
            return Err(format!(
                "stream_partitions must be between 1 and {MAX_STREAM_PARTITIONS}"
            ));
        }
        for (name, value) in [
            ("key_prefix", &self.key_prefix),
            ("stream", &self.stream),
            ("group", &self.group),
            ("dead_letter_stream", &self.dead_letter_stream),
        ] {
            // Braces would start a hash tag of their own and put keys in unexpected slots.
            if value.is_empty()
                || value
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
            {
                return Err(format!(
                    "{name} must be non-empty, without spaces or braces"
                ));
            }
        }
        if self.stream == self.dead_letter_stream {
            return Err("stream and dead_letter_stream must differ".into());
        }
        if self.pool_size == 0 {
            return Err("pool_size must be at least 1".into());
        }
        if self.wait_replicas > MAX_WAIT_REPLICAS {
            return Err(format!("wait_replicas must be at most {MAX_WAIT_REPLICAS}"));
        }
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("command_timeout", self.command_timeout),
            ("client_ttl", self.client_ttl),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be positive"));
            }
        }
        Ok(())
    }

    pub(crate) fn is_cluster(&self) -> bool {
        !self.cluster_urls.is_empty()
    }

    /// The queue's partitions. One stream on a single Redis keeps the names it always had;
    /// partitioned streams carry a hash tag each (see the key table above).
    pub(crate) fn partition_keys(&self) -> Vec<PartitionKeys> {
        let prefix = &self.key_prefix;
        if !self.is_cluster() && self.stream_partitions == 1 {
            return vec![PartitionKeys {
                stream: format!("{prefix}:wb:{}", self.stream),
                dead_letters: format!("{prefix}:wb:{}", self.dead_letter_stream),
            }];
        }
        (0..self.stream_partitions)
            .map(|n| {
                let stream = format!("{prefix}:wb:{{{}.{n}}}", self.stream);
                PartitionKeys {
                    dead_letters: format!("{stream}:{}", self.dead_letter_stream),
                    stream,
                }
            })
            .collect()
    }

    pub(crate) fn cache_prefix(&self) -> String {
        format!("{}:cache:", self.key_prefix)
    }

    /// Where the adapters connect (`url`, or the cluster's seed nodes), passwords masked.
    pub fn redacted_url(&self) -> String {
        if self.is_cluster() {
            let seeds: Vec<String> = self.cluster_urls.iter().map(|u| redact(u)).collect();
            format!("cluster {}", seeds.join(","))
        } else {
            redact(&self.url)
        }
    }

    /// `text` with the URLs' passwords masked, for driver messages that might echo them.
    pub(crate) fn scrub(&self, text: &str) -> String {
        std::iter::once(&self.url)
            .chain(&self.cluster_urls)
            .fold(text.to_owned(), |text, url| match password_span(url) {
                Some((start, end)) if end > start => text.replace(&url[start..end], "***"),
                _ => text,
            })
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/".into(),
            key_prefix: "tokener".into(),
            stream: "records".into(),
            group: "writers".into(),
            dead_letter_stream: "dead".into(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(2),
            client_ttl: Duration::from_secs(60),
            require_durability: false,
            wait_replicas: 0,
            cluster_urls: Vec::new(),
            stream_partitions: 1,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("key_prefix", &self.key_prefix)
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("dead_letter_stream", &self.dead_letter_stream)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("client_ttl", &self.client_ttl)
            .field("require_durability", &self.require_durability)
            .field("wait_replicas", &self.wait_replicas)
            .field(
                "cluster_urls",
                &self
                    .cluster_urls
                    .iter()
                    .map(|u| redact(u))
                    .collect::<Vec<_>>(),
            )
            .field("stream_partitions", &self.stream_partitions)
            .finish()
    }
}

/// `url` with its password (if any) masked.
fn redact(url: &str) -> String {
    match password_span(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_owned(),
    }
}

/// Byte range of the password in `scheme://[user]:password@host/...`, if there is one.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let at = rest[..authority_len].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((authority_start + colon + 1, authority_start + at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_password() {
        let config = RedisConfig::new("redis://svc:s3cret@cache:6379/2");
        let shown = format!("{config:?}");
        assert!(shown.contains("redis://svc:***@cache:6379/2"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let only_password = RedisConfig::new("rediss://:s3cret@cache/");
        assert_eq!(only_password.redacted_url(), "rediss://:***@cache/");
        assert_eq!(only_password.scrub("auth s3cret failed"), "auth *** failed");
        assert_eq!(
            RedisConfig::new("redis://cache:6379/").redacted_url(),
            "redis://cache:6379/"
        );
    }

    #[test]
    fn keys_share_the_prefix() {
        let config = RedisConfig {
            key_prefix: "t1".into(),
            ..RedisConfig::default()
        };
        assert_eq!(
            config.partition_keys(),
            vec![PartitionKeys {
                stream: "t1:wb:records".into(),
                dead_letters: "t1:wb:dead".into()
            }]
        );
        assert_eq!(config.cache_prefix(), "t1:cache:");
        let partitioned = RedisConfig {
            stream_partitions: 3,
            ..config
        };
        let keys = partitioned.partition_keys();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[2].stream, "t1:wb:{records.2}");
        assert_eq!(keys[2].dead_letters, "t1:wb:{records.2}:dead");
    }

    #[test]
    fn validation_rejects_nonsense() {
        assert!(RedisConfig::default().validate().is_ok());
        assert!(RedisConfig::new("http://x").validate().is_err());
        assert!(RedisConfig::new("rediss://x/").validate().is_err());
        let same = RedisConfig {
            dead_letter_stream: "records".into(),
            ..RedisConfig::default()
        };
        assert!(same.validate().is_err());
        let spaced = RedisConfig {
            key_prefix: "a b".into(),
            ..RedisConfig::default()
        };
        assert!(spaced.validate().is_err());
        let no_pool = RedisConfig {
            pool_size: 0,
            ..RedisConfig::default()
        };
        assert!(no_pool.validate().is_err());
        let no_timeout = RedisConfig {
            command_timeout: Duration::ZERO,
            ..RedisConfig::default()
        };
        assert!(no_timeout.validate().is_err());
        let too_many_replicas = RedisConfig {
            wait_replicas: MAX_WAIT_REPLICAS + 1,
            ..RedisConfig::default()
        };
        assert!(too_many_replicas.validate().is_err());
        let braced = RedisConfig {
            key_prefix: "a{b}".into(),
            ..RedisConfig::default()
        };
        assert!(braced.validate().is_err());
        let no_partitions = RedisConfig {
            stream_partitions: 0,
            ..RedisConfig::default()
        };
        assert!(no_partitions.validate().is_err());
        let bad_seed = RedisConfig {
            cluster_urls: vec!["redis://a:7000".into(), "http://b:7001".into()],
            ..RedisConfig::default()
        };
        assert!(bad_seed.validate().is_err());
    }

    #[test]
    fn cluster_seeds_are_masked_too() {
        let config = RedisConfig {
            cluster_urls: vec!["redis://:pw1@a:7000".into(), "redis://b:7001".into()],
            ..RedisConfig::default()
        };
        assert_eq!(
            config.redacted_url(),
            "cluster redis://:***@a:7000,redis://b:7001"
        );
        assert_eq!(config.scrub("auth pw1 refused"), "auth *** refused");
        assert!(!format!("{config:?}").contains("pw1"));
    }
}
