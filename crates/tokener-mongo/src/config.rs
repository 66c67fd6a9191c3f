//! Where the store connects and how long it waits.

use crate::read_preference::ListingReadPreference;
use crate::write_concern::WriteConcernSetting;
use mongodb::options::ClientOptions;
use std::fmt;
use std::time::Duration;

/// How to reach MongoDB and how patient to be with it.
///
/// The timeouts are deliberately far shorter than the driver's defaults (30 s server selection,
/// 10 s connect, no operation bound): the store sits on the request path of a token service, and
/// a caller is better served by a quick `StoreError::Unavailable` (which the service turns into
/// a retryable answer) than by a request that hangs while the database is away.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoConfig {
    /// The connection string, e.g. `mongodb://user:pass@db1,db2/?replicaSet=rs0&tls=true`.
    /// Credentials, TLS, replica set and read preference come from here, and the write concern
    /// unless [`Self::write_concern`] overrides it.
    /// Never logged as is: `Debug` masks the password.
    ///
    /// Default: `mongodb://127.0.0.1:27017/`.
    pub uri: String,

    /// The database holding the `tokens` and `clients` collections. Independent of any database
    /// named in the URI's path (which MongoDB uses only as the default authentication database).
    ///
    /// Default: `tokener`.
    pub database: String,

    /// How long an operation waits for a suitable server (e.g. a primary for writes) before
    /// failing. Covers "nothing listens there" and a replica set without a primary.
    ///
    /// Default: 3 s. Long enough to ride out a dropped connection being re-established, short
    /// enough that requests fail fast during an outage (an election takes ~10 s; requests
    /// during one fail as `Unavailable` and are retried by their callers).
    pub server_selection_timeout: Duration,

    /// How long opening one connection may take (TCP connect and TLS handshake). Also the socket
    /// timeout of the driver's monitoring connections.
    ///
    /// Default: 2 s: ample for a LAN or a cloud region, and a server that cannot accept a
    /// connection in that time is not one to send requests to.
    pub connect_timeout: Duration,

    /// The hard upper bound on any single store operation, server selection included. The
    /// driver has no operation timeout of its own, so without this a server that accepts a
    /// connection and then stops answering would hang the request indefinitely.
    ///
    /// Default: 5 s. Keep it above `server_selection_timeout` so that selection failures are
    /// reported with the driver's explanation rather than as a bare timeout; keep it above the
    /// slowest expected operation (large `record_many` batches, index builds at connect).
    pub operation_timeout: Duration,

    /// How often the driver's monitor checks each server when all is well. After a failure the
    /// driver checks again as soon as an operation needs a server, so this does not delay
    /// recovery; it bounds how stale the driver's view of the topology may get.
    ///
    /// Default: 10 s (the driver's default; the minimum is 500 ms).
    pub heartbeat_frequency: Duration,

    /// The most connections this process opens to each server. Operations beyond that wait for
    /// a free connection (within `operation_timeout`).
    ///
    /// Default: 20: store operations take milliseconds, so 20 concurrent ones serve thousands
    /// of requests per second, while many service replicas times this stay well within a
    /// server's connection limit.
    pub max_pool_size: u32,

    /// Connections the driver keeps open even when idle, so the first requests after a quiet
    /// period do not pay for connection set-up.
    ///
    /// Default: 2.
    pub min_pool_size: u32,

    /// How long records of tokens are kept after the tokens expire; `None` keeps them forever.
    ///
    /// With a retention, [`crate::MongoStore::connect`] sets a TTL index on `expires_at` so the
    /// server deletes old records itself (MongoDB's TTL monitor runs about once a minute). A
    /// server without TTL indexes (FerretDB 1.x) is detected; then
    /// [`crate::MongoStore::ttl_index_supported`] is false and the service has to call
    /// `prune_expired` on a schedule. At most 2^31 - 1 seconds (68 years) is honoured.
    ///
    /// Default: `None`: nothing is deleted unless asked for.
    pub retention: Option<Duration>,

    /// The name this process reports to the server (visible in server logs and `currentOp`).
    ///
    /// Default: `tokener`.
    pub app_name: String,

    /// How many members must hold every write, journaled, before it counts as done: what a
    /// 2xx (write-through) and the write-behind worker's acknowledgement rest on. The server
    /// waits for the members at most `operation_timeout * 4/5`.
    ///
    /// Default: [`WriteConcernSetting::Auto`]: the connection string's `w=` if it gives one,
    /// else `majority` on a replica set or sharded cluster, so that an acknowledged record
    /// survives a primary failover.
    pub write_concern: WriteConcernSetting,

    /// Where the admin API's listings (clients, audit events) read from; see
    /// [`ListingReadPreference`]. Nothing on the request path follows it.
    ///
    /// Default: [`ListingReadPreference::Primary`].
    pub listing_read_preference: ListingReadPreference,
}

impl MongoConfig {
    /// The default configuration, for `uri` and `database`.
    pub fn new(uri: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            database: database.into(),
            ..Self::default()
        }
    }

    /// Checks what the driver would only reject later, or not at all.
    pub(crate) fn validate(&self) -> Result<(), String> {
        // MongoDB's rules for database names (plus a length bound well under its 64 bytes).
        let bad_db_char = |c: char| matches!(c, '/' | '\\' | '.' | ' ' | '"' | '$' | '\0');
        if self.database.is_empty() || self.database.len() > 63 {
            return Err("database name must be 1 to 63 bytes".into());
        }
        if self.database.chars().any(bad_db_char) {
            return Err("database name must not contain / \\ . space \" $ or NUL".into());
        }
        for (name, value) in [
            ("server_selection_timeout", self.server_selection_timeout),
            ("connect_timeout", self.connect_timeout),
            ("operation_timeout", self.operation_timeout),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.heartbeat_frequency < Duration::from_millis(500) {
            return Err("heartbeat_frequency must be at least 500 ms".into());
        }
        if self.max_pool_size == 0 {
            return Err("max_pool_size must be at least 1".into());
        }
        if self.min_pool_size > self.max_pool_size {
            return Err("min_pool_size must not exceed max_pool_size".into());
        }
        Ok(())
    }

    /// Applies the fields the driver enforces to options parsed from the URI; they override
    /// the same settings given in the URI, so the configuration is the one source of truth.
    pub(crate) fn apply_to(&self, options: &mut ClientOptions) {
        options.app_name = Some(self.app_name.clone());
        options.server_selection_timeout = Some(self.server_selection_timeout);
        options.connect_timeout = Some(self.connect_timeout);
        options.heartbeat_freq = Some(self.heartbeat_frequency);
        options.max_pool_size = Some(self.max_pool_size);
        options.min_pool_size = Some(self.min_pool_size);
    }

    /// How long the server may wait for the members a write concern asks for: less than the
    /// operation bound, so that a missing member is reported as the server's write concern
    /// error rather than as a bare timeout.
    pub(crate) fn write_concern_wait(&self) -> Duration {
        self.operation_timeout * 4 / 5
    }

    /// `uri` with its password (if any) masked.
    pub fn redacted_uri(&self) -> String {
        match password_span(&self.uri) {
            Some((start, end)) => format!("{}***{}", &self.uri[..start], &self.uri[end..]),
            None => self.uri.clone(),
        }
    }

    /// `text` with every occurrence of the URI's password (as written, and percent-decoded)
    /// masked; for driver messages that might echo parts of the connection string.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let Some((start, end)) = password_span(&self.uri) else {
            return text.to_owned();
        };
        let raw = &self.uri[start..end];
        let mut scrubbed = text.replace(raw, "***");
        let decoded = percent_decode(raw);
        if !decoded.is_empty() && decoded != raw {
            scrubbed = scrubbed.replace(&decoded, "***");
        }
        scrubbed
    }
}

impl Default for MongoConfig {
    fn default() -> Self {
        Self {
            uri: "mongodb://127.0.0.1:27017/".into(),
            database: "tokener".into(),
            server_selection_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(5),
            heartbeat_frequency: Duration::from_secs(10),
            max_pool_size: 20,
            min_pool_size: 2,
            retention: None,
            app_name: "tokener".into(),
            write_concern: WriteConcernSetting::Auto,
            listing_read_preference: ListingReadPreference::Primary,
        }
    }
}

impl fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoConfig")
            .field("uri", &self.redacted_uri())
            .field("database", &self.database)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("heartbeat_frequency", &self.heartbeat_frequency)
            .field("max_pool_size", &self.max_pool_size)
            .field("min_pool_size", &self.min_pool_size)
            .field("retention", &self.retention)
            .field("app_name", &self.app_name)
            .field("write_concern", &self.write_concern)
            .field("listing_read_preference", &self.listing_read_preference)
            .finish()
    }
}

/// Byte range of the password in `scheme://user:password@hosts/...`, if there is one.
fn password_span(uri: &str) -> Option<(usize, usize)> {
    let authority_start = uri.find("://")? + 3;
    let rest = &uri[authority_start..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    // The last '@' ends the user info: hosts cannot contain one, passwords (escaped) may not
    // either, but be lenient with unescaped ones.
    let at = rest[..authority_len].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((authority_start + colon + 1, authority_start + at))
}

fn percent_decode(s: &str) -> String {
    let hex = |b: &u8| (*b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                // Two hex digits make at most 255.
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_password() {
        let config = MongoConfig::new("mongodb://svc:s3cr%40t@db1:27017,db2/?tls=true", "t");
        let shown = format!("{config:?}");
        assert!(
            shown.contains("mongodb://svc:***@db1:27017,db2/?tls=true"),
            "{shown}"
        );
        assert!(!shown.contains("s3cr"), "{shown}");
    }

    #[test]
    fn uris_without_password_are_shown_unchanged() {
        for uri in [
            "mongodb://127.0.0.1:27017/",
            "mongodb://user@host/",
            "mongodb+srv://h/?a=b@c",
        ] {
            assert_eq!(MongoConfig::new(uri, "t").redacted_uri(), uri);
        }
    }

    #[test]
    fn scrub_masks_raw_and_decoded_password() {
        let config = MongoConfig::new("mongodb://svc:s3cr%40t@db1/", "t");
        assert_eq!(config.scrub("bad s3cr%40t and s3cr@t"), "bad *** and ***");
    }

    #[test]
    fn validation_rejects_nonsense() {
        assert!(MongoConfig::default().validate().is_ok());
        assert!(MongoConfig::new("mongodb://h/", "a.b").validate().is_err());
        assert!(MongoConfig::new("mongodb://h/", "").validate().is_err());
        let zero_timeout = MongoConfig {
            operation_timeout: Duration::ZERO,
            ..MongoConfig::default()
        };
        assert!(zero_timeout.validate().is_err());
        let inverted_pool = MongoConfig {
            min_pool_size: 50,
            ..MongoConfig::default()
        };
        assert!(inverted_pool.validate().is_err());
    }
}
