//! Settings from the `TOKENER_*` environment variables, validated at start: every problem is
//! reported at once, each with the variable it concerns.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokener_core::token::KeySealer;
use tokener_core::{Audience, ClientId, ClientSecret, Scope, Ttl, TtlPolicy};
use tokener_core::{BackoffLimits, RateLimits, TokenFormat};
use tokener_mongo::{ListingReadPreference, WriteConcernSetting};

/// The client created or updated at start.
#[derive(Debug, Clone)]
pub struct BootstrapClient {
    pub id: ClientId,
    pub secret: ClientSecret,
    pub scopes: BTreeSet<Scope>,
    pub audiences: BTreeSet<Audience>,
    /// `TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT`: `biscuit` (default) or `jwt`.
    pub token_format: TokenFormat,
}

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: String,
    pub database: String,
    /// Upper bound of every MongoDB operation (`TOKENER_MONGODB_TIMEOUT_MS`, default 5000):
    /// past it the request answers 503 instead of waiting.
    pub timeout: Duration,
    /// How long records of expired tokens are kept (`TOKENER_RETENTION_SECONDS`); unset: forever.
    pub retention: Option<Duration>,
    /// How many members hold a write before it counts (`TOKENER_MONGODB_WRITE_CONCERN`).
    pub write_concern: WriteConcernSetting,
    /// Where the admin listings read from (`TOKENER_MONGODB_LISTING_READ_PREFERENCE`).
    pub listing_read_preference: ListingReadPreference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// A second address serving only `/metrics`, `/healthz` and `/readyz`
    /// (`TOKENER_METRICS_LISTEN`); when set, `/metrics` leaves the main listener.
    pub metrics_listen: Option<SocketAddr>,
    /// HTTPS on the main listener (`TOKENER_TLS_CERT_FILE` and `TOKENER_TLS_KEY_FILE`, PEM).
    pub tls: Option<crate::tls::TlsFiles>,
    /// The base URL clients reach this service at (`TOKENER_PUBLIC_URL`): the issuer of the
    /// RFC 8414 metadata. Unset: taken from the request's `Host` header.
    pub public_url: Option<String>,
    pub mongodb: Option<MongoSettings>,
    pub redis_url: Option<String>,
    /// The prefix of every Redis key (`TOKENER_REDIS_PREFIX`, default `tokener`): instances
    /// sharing a prefix share one queue, cache and rate counters.
    pub redis_prefix: String,
    /// How many Redis replicas must hold an enqueued token record before its 2xx
    /// (`TOKENER_REDIS_WAIT_REPLICAS`, default 0: the primary's acknowledgement).
    pub redis_wait_replicas: u32,
    /// The seed nodes of a Redis Cluster (`TOKENER_REDIS_CLUSTER_URLS`, comma-separated
    /// `redis://host:port`): write-behind on a cluster instead of the single Redis of
    /// `TOKENER_REDIS_URL` (set one or the other).
    pub redis_cluster_urls: Vec<String>,
    /// How many streams the write-behind queue is spread over
    /// (`TOKENER_REDIS_STREAM_PARTITIONS`; default 16 on a cluster, 1 on a single Redis).
    pub redis_stream_partitions: u16,
    /// This instance's name in the write-behind consumer group (`TOKENER_INSTANCE_NAME`;
    /// default `<hostname>-<port>`): unique per instance, stable across its restarts, so a
    /// restarted instance resumes its own pending entries at once.
    pub instance_name: Option<String>,
    /// `/readyz` answers 503 while more records than this wait for MongoDB
    /// (`TOKENER_MAX_BACKLOG`, default 100000).
    pub max_backlog: u64,
    /// The most token records the embedded in-memory store holds (`TOKENER_MEMORY_MAX_TOKENS`,
    /// default [`DEFAULT_MEMORY_MAX_TOKENS`]); past it, records of expired tokens are dropped,
    /// and if none has expired issuance answers 503. Embedded mode only.
    pub memory_max_tokens: usize,
    pub ttl: TtlPolicy,
    pub signing_key_file: Option<PathBuf>,
    /// Seals the signing keys kept in MongoDB when there is no key file
    /// (`TOKENER_KEY_ENCRYPTION_SECRET`: comma-separated secrets, the first seals).
    pub key_encryption: Option<KeySealer>,
    /// How long a key added through the admin API is published as `next` before it signs
    /// (`TOKENER_KEY_ANNOUNCE_SECONDS`, default 600).
    pub key_announce: Duration,
    pub bootstrap: Option<BootstrapClient>,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// How long in-flight requests get to finish after SIGTERM/SIGINT
    /// (`TOKENER_SHUTDOWN_TIMEOUT_SECONDS`, default 30).
    pub shutdown_timeout: Duration,
    /// Token requests per client and minute (`TOKENER_RATE_LIMIT_PER_MINUTE`, default: none)
    /// and per-client overrides (`TOKENER_RATE_LIMITS`, e.g. `billing=1000,batch=50`).
    pub rate_limits: RateLimits,
    /// Failed client authentications a minute before refusal, per (client id, source) and per
    /// source (`TOKENER_AUTH_FAILURES_PER_MINUTE`, default 20;
    /// `TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE`, default 100).
    pub auth_backoff: BackoffLimits,
    /// Proxies whose `X-Forwarded-For` names the source address (`TOKENER_TRUSTED_PROXIES`,
    /// comma-separated addresses or CIDR blocks; default none: the peer address is the source).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The default bound of the embedded in-memory store, in token records.
///
/// Measured: a record (one audience, two scopes) takes about 1.3 KB of resident memory in the
/// store (record, id key and B-tree nodes), more with more scopes and audiences. 500,000 records
/// are then about 650 MB: room on a small machine (1 to 2 GB) for the process and the system
/// beside it, where 1,000,000 (about 1.3 GB) would not be. Expired records are dropped to make
/// room, so the bound counts the tokens still live: with the default 24-hour TTL, 500,000 is
/// about 5.8 tokens a second around the clock, plenty for what the embedded store is for (a
/// demo, development, a single small instance); beyond that, configure MongoDB.
pub const DEFAULT_MEMORY_MAX_TOKENS: usize = 500_000;

/// Every problem found in the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings from, in order of precedence: `overrides` (command-line flags), the
    /// TOML file at `file`, the environment.
    pub fn load(
        file: Option<&std::path::Path>,
        overrides: &[(&'static str, String)],
    ) -> Result<Self, ConfigError> {
        let from_file = match file {
            Some(path) => read_toml(path).map_err(|e| ConfigError(vec![e]))?,
            None => std::collections::HashMap::new(),
        };
        Self::from_lookup(|name| {
            overrides
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| from_file.get(name).cloned())
                .or_else(|| std::env::var(name).ok())
        })
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let metrics_listen = var("TOKENER_METRICS_LISTEN").and_then(|text| {
            text.parse::<SocketAddr>()
                .map_err(|_| {
                    problems.push(
                        "TOKENER_METRICS_LISTEN must be an address like 127.0.0.1:9090".into(),
                    )
                })
                .ok()
        });
        let listen = var("TOKENER_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse::<SocketAddr>()
            .map_err(|_| {
                problems.push("TOKENER_LISTEN must be an address like 127.0.0.1:8080".into())
            })
            .ok();

        let mut number = |name: &str, range: std::ops::RangeInclusive<u64>| -> Option<u64> {
            let text = var(name)?;
            match text.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => Some(n),
                _ => {
                    problems.push(format!(
                        "{name} must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ));
                    None
                }
            }
        };
        let timeout_ms = number("TOKENER_MONGODB_TIMEOUT_MS", 100..=60_000).unwrap_or(5_000);
        let auth_backoff = BackoffLimits {
            per_pair: number("TOKENER_AUTH_FAILURES_PER_MINUTE", 1..=1_000_000)
                .unwrap_or(BackoffLimits::default().per_pair),
            per_source: number("TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE", 1..=1_000_000)
                .unwrap_or(BackoffLimits::default().per_source),
        };
        let key_announce = number("TOKENER_KEY_ANNOUNCE_SECONDS", 0..=30 * 86_400).unwrap_or(600);
        let shutdown_seconds = number("TOKENER_SHUTDOWN_TIMEOUT_SECONDS", 1..=600).unwrap_or(30);
        let default_per_minute = number("TOKENER_RATE_LIMIT_PER_MINUTE", 1..=100_000_000);
        let max_backlog = number("TOKENER_MAX_BACKLOG", 1..=1_000_000_000).unwrap_or(100_000);
        let redis_wait_replicas = number(
            "TOKENER_REDIS_WAIT_REPLICAS",
            0..=u64::from(tokener_redis::MAX_WAIT_REPLICAS),
        )
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        let redis_cluster_urls: Vec<String> = var("TOKENER_REDIS_CLUSTER_URLS")
            .map(|urls| {
                urls.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let redis_stream_partitions = number(
            "TOKENER_REDIS_STREAM_PARTITIONS",
            1..=u64::from(tokener_redis::MAX_STREAM_PARTITIONS),
        )
        .map_or(if redis_cluster_urls.is_empty() { 1 } else { 16 }, |n| {
            u16::try_from(n).unwrap_or(u16::MAX)
        });
        let memory_max_tokens = number("TOKENER_MEMORY_MAX_TOKENS", 1..=1_000_000_000)
            .map_or(DEFAULT_MEMORY_MAX_TOKENS, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            });
        let retention = number("TOKENER_RETENTION_SECONDS", 0..=100 * 366 * 86_400);
        let write_concern = var("TOKENER_MONGODB_WRITE_CONCERN")
            .map_or(Ok(WriteConcernSetting::Auto), |text| text.parse())
            .unwrap_or_else(|problem| {
                problems.push(format!("TOKENER_MONGODB_WRITE_CONCERN {problem}"));
                WriteConcernSetting::Auto
            });
        let listing_read_preference = var("TOKENER_MONGODB_LISTING_READ_PREFERENCE")
            .map_or(Ok(ListingReadPreference::Primary), |text| text.parse())
            .unwrap_or_else(|problem| {
                problems.push(format!("TOKENER_MONGODB_LISTING_READ_PREFERENCE {problem}"));
                ListingReadPreference::Primary
            });
        let mongodb = var("TOKENER_MONGODB_URI").and_then(|uri| {
            if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                problems.push(
                    "TOKENER_MONGODB_URI must start with mongodb:// or mongodb+srv://".into(),
                );
                return None;
            }
            Some(MongoSettings {
                uri,
                database: var("TOKENER_MONGODB_DATABASE").unwrap_or_else(|| "tokener".into()),
                timeout: Duration::from_millis(timeout_ms),
                retention: retention.map(Duration::from_secs),
                write_concern,
                listing_read_preference,
            })
        });

        let public_url = var("TOKENER_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                problems.push("TOKENER_PUBLIC_URL must start with https:// or http://".into());
            }
        }

        let redis_url = var("TOKENER_REDIS_URL");
        if redis_url.is_some() && !redis_cluster_urls.is_empty() {
            problems.push(
                "TOKENER_REDIS_URL and TOKENER_REDIS_CLUSTER_URLS are both set: set \
                 TOKENER_REDIS_URL for one Redis, TOKENER_REDIS_CLUSTER_URLS for a cluster"
                    .into(),
            );
        }
        let redis_urls = [
            ("TOKENER_REDIS_URL", redis_url.as_slice()),
            ("TOKENER_REDIS_CLUSTER_URLS", redis_cluster_urls.as_slice()),
        ];
        for (name, urls) in redis_urls.into_iter().filter(|(_, urls)| !urls.is_empty()) {
            if urls.iter().any(|u| !u.starts_with("redis://")) {
                problems.push(format!(
                    "{name} must start with redis:// (TLS to Redis, rediss://, is not \
                     supported in this version)"
                ));
            } else if mongodb.is_none() {
                problems.push(format!(
                    "{name} is set without TOKENER_MONGODB_URI: Redis is a cache, not the \
                     record of issued tokens; configure MongoDB too"
                ));
            }
        }

        let mut ttl_var = |name: &str, default: Ttl| -> Option<Ttl> {
            match var(name) {
                None => Some(default),
                Some(text) => match text.trim().parse::<u64>().ok().map(Ttl::from_secs) {
                    Some(Ok(ttl)) => Some(ttl),
                    _ => {
                        problems.push(format!(
                            "{name} must be a whole number of seconds from 1 to {}",
                            Ttl::ABSOLUTE_MAX_SECONDS
                        ));
                        None
                    }
                },
            }
        };
        let default_ttl = ttl_var("TOKENER_DEFAULT_TTL_SECONDS", Ttl::DEFAULT);
        let max_ttl = ttl_var("TOKENER_MAX_TTL_SECONDS", Ttl::DEFAULT);
        let ttl = match (default_ttl, max_ttl) {
            (Some(d), Some(m)) => TtlPolicy::new(d, m)
                .map_err(|e| {
                    problems.push(format!(
                        "TOKENER_DEFAULT_TTL_SECONDS ({}) must not exceed TOKENER_MAX_TTL_SECONDS ({})",
                        e.default, e.max
                    ))
                })
                .ok(),
            _ => None,
        };

        let mut per_client = std::collections::BTreeMap::new();
        for item in list(&var("TOKENER_RATE_LIMITS").unwrap_or_default()) {
            let parsed = item.split_once('=').and_then(|(id, n)| {
                Some((
                    ClientId::parse(id).ok()?,
                    n.parse::<u64>().ok().filter(|n| *n > 0)?,
                ))
            });
            match parsed {
                Some((id, n)) => {
                    per_client.insert(id, n);
                }
                None => problems.push(format!(
                    "TOKENER_RATE_LIMITS: {item:?} is not client_id=requests_per_minute"
                )),
            }
        }
        let rate_limits = RateLimits {
            default_per_minute,
            per_client,
        };

        let redis_prefix = var("TOKENER_REDIS_PREFIX").unwrap_or_else(|| "tokener".into());
        if ClientId::parse(redis_prefix.as_str()).is_err() {
            problems.push(format!(
                "TOKENER_REDIS_PREFIX may hold {} only",
                ClientId::ALLOWED
            ));
        }
        let instance_name = var("TOKENER_INSTANCE_NAME");
        if let Some(name) = &instance_name {
            if ClientId::parse(name.as_str()).is_err() {
                problems.push(format!(
                    "TOKENER_INSTANCE_NAME may hold {} only, at most {} characters",
                    ClientId::ALLOWED,
                    ClientId::MAX_LEN
                ));
            }
        }

        let mut trusted_proxies = Vec::new();
        for item in var("TOKENER_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let parsed = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => problems.push(format!(
                    "TOKENER_TRUSTED_PROXIES: {item:?} is not an address or CIDR block"
                )),
            }
        }
        let tls = match (var("TOKENER_TLS_CERT_FILE"), var("TOKENER_TLS_KEY_FILE")) {
            (Some(cert), Some(key)) => Some(crate::tls::TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                problems.push("TOKENER_TLS_CERT_FILE and TOKENER_TLS_KEY_FILE go together".into());
                None
            }
        };
        let signing_key_file = var("TOKENER_SIGNING_KEY_FILE").map(PathBuf::from);
        let key_secret = var("TOKENER_KEY_ENCRYPTION_SECRET");
        let key_encryption = key_secret.as_ref().and_then(|secrets| {
            KeySealer::new(secrets.split(',').map(str::trim))
                .map_err(|e| problems.push(format!("TOKENER_KEY_ENCRYPTION_SECRET: {e}")))
                .ok()
        });
        if mongodb.is_some() && signing_key_file.is_none() && key_secret.is_none() {
            problems.push(
                "the MongoDB modes need signing keys that every instance shares and that survive \
                 restarts: set TOKENER_SIGNING_KEY_FILE (a key file, see `tokener keys generate`) \
                 or TOKENER_KEY_ENCRYPTION_SECRET (at least 32 characters; the keys are then kept \
                 in MongoDB, encrypted with it)"
                    .into(),
            );
        }
        let bootstrap = bootstrap_client(&var, &mut problems);

        let log_filter = var("TOKENER_LOG").unwrap_or_else(|| "info".into());
        let log_format = match var("TOKENER_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => {
                problems.push("TOKENER_LOG_FORMAT must be pretty or json".into());
                LogFormat::Pretty
            }
        };

        match (listen, ttl) {
            (Some(listen), Some(ttl)) if problems.is_empty() => Ok(Settings {
                listen,
                metrics_listen,
                tls,
                public_url,
                mongodb,
                redis_url,
                redis_prefix,
                redis_wait_replicas,
                redis_cluster_urls,
                redis_stream_partitions,
                instance_name,
                max_backlog,
                memory_max_tokens,
                ttl,
                signing_key_file,
                key_encryption,
                key_announce: Duration::from_secs(key_announce),
                bootstrap,
                log_filter,
                log_format,
                shutdown_timeout: Duration::from_secs(shutdown_seconds),
                rate_limits,
                auth_backoff,
                trusted_proxies,
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

/// A TOML file of `name = value` pairs, `name` being a setting's variable in lower case without
/// `TOKENER_` (`listen`, `mongodb_uri`, `default_ttl_seconds`...). Lists may be TOML arrays.
fn read_toml(path: &std::path::Path) -> Result<std::collections::HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))?;
    let mut out = std::collections::HashMap::new();
    for (key, value) in table {
        let name = format!("TOKENER_{}", key.to_ascii_uppercase());
        if !KNOWN.contains(&name.as_str()) {
            return Err(format!(
                "config file {}: unknown setting {key}",
                path.display()
            ));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        out.insert(name, text);
    }
    Ok(out)
}

/// Every setting the service reads.
pub const KNOWN: &[&str] = &[
    "TOKENER_LISTEN",
    "TOKENER_METRICS_LISTEN",
    "TOKENER_TLS_CERT_FILE",
    "TOKENER_TLS_KEY_FILE",
    "TOKENER_PUBLIC_URL",
    "TOKENER_MONGODB_URI",
    "TOKENER_MONGODB_DATABASE",
    "TOKENER_MONGODB_TIMEOUT_MS",
    "TOKENER_MONGODB_WRITE_CONCERN",
    "TOKENER_MONGODB_LISTING_READ_PREFERENCE",
    "TOKENER_RETENTION_SECONDS",
    "TOKENER_REDIS_URL",
    "TOKENER_REDIS_PREFIX",
    "TOKENER_REDIS_WAIT_REPLICAS",
    "TOKENER_REDIS_CLUSTER_URLS",
    "TOKENER_REDIS_STREAM_PARTITIONS",
    "TOKENER_INSTANCE_NAME",
    "TOKENER_MAX_BACKLOG",
    "TOKENER_MEMORY_MAX_TOKENS",
    "TOKENER_DEFAULT_TTL_SECONDS",
    "TOKENER_MAX_TTL_SECONDS",
    "TOKENER_SIGNING_KEY_FILE",
    "TOKENER_KEY_ENCRYPTION_SECRET",
    "TOKENER_KEY_ANNOUNCE_SECONDS",
    "TOKENER_BOOTSTRAP_CLIENT_ID",
    "TOKENER_BOOTSTRAP_CLIENT_SECRET",
    "TOKENER_BOOTSTRAP_CLIENT_SCOPES",
    "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES",
    "TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT",
    "TOKENER_LOG",
    "TOKENER_LOG_FORMAT",
    "TOKENER_SHUTDOWN_TIMEOUT_SECONDS",
    "TOKENER_RATE_LIMIT_PER_MINUTE",
    "TOKENER_RATE_LIMITS",
    "TOKENER_AUTH_FAILURES_PER_MINUTE",
    "TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE",
    "TOKENER_TRUSTED_PROXIES",
];

/// Splits a list given as commas and/or spaces.
fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ']).filter(|s| !s.is_empty())
}

fn bootstrap_client(
    var: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<BootstrapClient> {
    let id = var("TOKENER_BOOTSTRAP_CLIENT_ID");
    let secret = var("TOKENER_BOOTSTRAP_CLIENT_SECRET");
    let (id, secret) = match (id, secret) {
        (None, None) => return None,
        (Some(id), Some(secret)) => (id, secret),
        _ => {
            problems.push(
                "TOKENER_BOOTSTRAP_CLIENT_ID and TOKENER_BOOTSTRAP_CLIENT_SECRET go together"
                    .into(),
            );
            return None;
        }
    };
    let id = ClientId::parse(id)
        .map_err(|e| problems.push(format!("TOKENER_BOOTSTRAP_CLIENT_ID: {e}")))
        .ok();
    let secret = ClientSecret::parse(secret)
        .map_err(|e| problems.push(format!("TOKENER_BOOTSTRAP_CLIENT_SECRET: {e}")))
        .ok();
    let scopes_text = var("TOKENER_BOOTSTRAP_CLIENT_SCOPES").unwrap_or_default();
    let scopes = list(&scopes_text)
        .map(Scope::parse)
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| problems.push(format!("TOKENER_BOOTSTRAP_CLIENT_SCOPES: {e}")))
        .ok();
    let audiences_text = var("TOKENER_BOOTSTRAP_CLIENT_AUDIENCES").unwrap_or_default();
    let audiences = list(&audiences_text)
        .map(Audience::parse)
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| problems.push(format!("TOKENER_BOOTSTRAP_CLIENT_AUDIENCES: {e}")))
        .ok();
    let token_format = var("TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT")
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<TokenFormat>())
        .transpose()
        .map_err(|e| problems.push(format!("TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT: {e}")))
        .ok();
    Some(BootstrapClient {
        id: id?,
        secret: secret?,
        scopes: scopes?,
        audiences: audiences?,
        token_format: token_format?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
