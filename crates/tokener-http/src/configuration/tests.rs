//! What the settings accept, refuse and default to.
use super::*;
use std::collections::HashMap;

/// MongoDB and a key-encryption secret: the least a durable configuration needs.
const DURABLE: [(&str, &str); 2] = [
    ("TOKENER_MONGODB_URI", "mongodb://db/"),
    (
        "TOKENER_KEY_ENCRYPTION_SECRET",
        "0123456789abcdef0123456789abcdef",
    ),
];

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_are_the_embedded_mode() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert!(s.mongodb.is_none() && s.redis_url.is_none() && s.bootstrap.is_none());
    assert_eq!(s.ttl.default_ttl().as_secs(), 86_400);
    assert_eq!(s.ttl.max_ttl().as_secs(), 86_400);
    assert_eq!(s.log_format, LogFormat::Pretty);
    assert_eq!(s.memory_max_tokens, DEFAULT_MEMORY_MAX_TOKENS);
}

#[test]
fn the_memory_bound_is_a_positive_whole_number() {
    let s = settings(&[("TOKENER_MEMORY_MAX_TOKENS", "3")]).unwrap();
    assert_eq!(s.memory_max_tokens, 3);
    for bad in ["0", "-1", "many", "1.5"] {
        let err = settings(&[
            ("TOKENER_MEMORY_MAX_TOKENS", bad),
            ("TOKENER_LISTEN", "nowhere"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("TOKENER_MEMORY_MAX_TOKENS must be a whole number from 1 to"),
            "{bad}: {text}"
        );
        assert!(text.contains("TOKENER_LISTEN"), "reported with the others");
    }
}

#[test]
fn the_write_concern_is_read_and_an_unacknowledged_one_refused() {
    let defaults = settings(&DURABLE).unwrap();
    assert_eq!(
        defaults.mongodb.unwrap().write_concern,
        WriteConcernSetting::Auto
    );
    let majority = [
        &DURABLE[..],
        &[("TOKENER_MONGODB_WRITE_CONCERN", "majority")],
    ]
    .concat();
    assert_eq!(
        settings(&majority).unwrap().mongodb.unwrap().write_concern,
        WriteConcernSetting::Majority
    );
    let none = [&DURABLE[..], &[("TOKENER_MONGODB_WRITE_CONCERN", "0")]].concat();
    let text = settings(&none).unwrap_err().to_string();
    assert!(
        text.contains("TOKENER_MONGODB_WRITE_CONCERN must be auto, majority"),
        "{text}"
    );
}

#[test]
fn the_listing_read_preference_is_read_and_checked() {
    let mongo = |env: &[(&str, &str)]| settings(env).unwrap().mongodb.unwrap();
    assert_eq!(
        mongo(&DURABLE).listing_read_preference,
        ListingReadPreference::Primary
    );
    let secondary = [
        &DURABLE[..],
        &[(
            "TOKENER_MONGODB_LISTING_READ_PREFERENCE",
            "secondaryPreferred",
        )],
    ]
    .concat();
    assert_eq!(
        mongo(&secondary).listing_read_preference,
        ListingReadPreference::SecondaryPreferred
    );
    let bad = [
        &DURABLE[..],
        &[("TOKENER_MONGODB_LISTING_READ_PREFERENCE", "secondary")],
    ]
    .concat();
    let text = settings(&bad).unwrap_err().to_string();
    assert!(
        text.contains("TOKENER_MONGODB_LISTING_READ_PREFERENCE must be"),
        "{text}"
    );
}

#[test]
fn the_redis_replica_wait_is_read_and_bounded() {
    let write_behind = [
        ("TOKENER_MONGODB_URI", "mongodb://db/"),
        ("TOKENER_REDIS_URL", "redis://cache:6379/"),
        (
            "TOKENER_KEY_ENCRYPTION_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
    ];
    assert_eq!(settings(&write_behind).unwrap().redis_wait_replicas, 0);
    let one = [&write_behind[..], &[("TOKENER_REDIS_WAIT_REPLICAS", "1")]].concat();
    assert_eq!(settings(&one).unwrap().redis_wait_replicas, 1);
    let too_many = [&write_behind[..], &[("TOKENER_REDIS_WAIT_REPLICAS", "17")]].concat();
    let text = settings(&too_many).unwrap_err().to_string();
    assert!(
        text.contains("TOKENER_REDIS_WAIT_REPLICAS must be a whole number from 0 to 16"),
        "{text}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = settings(&[
        ("TOKENER_LISTEN", "nowhere"),
        ("TOKENER_MONGODB_URI", "http://x"),
        ("TOKENER_DEFAULT_TTL_SECONDS", "0"),
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "ops"),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", "short"),
    ])
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "TOKENER_LISTEN",
        "TOKENER_MONGODB_URI",
        "TOKENER_DEFAULT_TTL_SECONDS",
        "TOKENER_BOOTSTRAP_CLIENT_SECRET: client secret must be at least 32",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(!text.contains("short"), "the secret itself is never echoed");
}

#[test]
fn toml_file_and_flags_layer_over_the_environment() {
    let dir = std::env::temp_dir().join(format!("tokener-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokener.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9999\"\ndefault_ttl_seconds = 600\nbootstrap_client_id = \"ops\"\n\
         bootstrap_client_secret = \"0123456789abcdef0123456789abcdef\"\n\
         bootstrap_client_scopes = [\"a:read\", \"b:write\"]\n",
    )
    .unwrap();
    let s = Settings::load(Some(&path), &[("TOKENER_LISTEN", "127.0.0.1:7777".into())]).unwrap();
    assert_eq!(
        s.listen.to_string(),
        "127.0.0.1:7777",
        "a flag wins over the file"
    );
    assert_eq!(s.ttl.default_ttl().as_secs(), 600);
    assert_eq!(s.bootstrap.unwrap().scopes.len(), 2);
    std::fs::write(&path, "lisen = \"x\"\n").unwrap();
    let err = Settings::load(Some(&path), &[]).unwrap_err().to_string();
    assert!(err.contains("unknown setting lisen"), "{err}");
    let err = Settings::load(Some(&dir.join("missing.toml")), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.toml"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_variable_read_is_known() {
    let source = include_str!("mod.rs");
    let mut names: Vec<&str> = source
        .split('"')
        .filter(|s| s.starts_with("TOKENER_") && !s.ends_with('_'))
        .filter(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        assert!(KNOWN.contains(&name), "{name} is read but not in KNOWN");
    }
}

#[test]
fn redis_without_mongodb_refuses_to_start() {
    let err = settings(&[("TOKENER_REDIS_URL", "redis://127.0.0.1:6379")]).unwrap_err();
    assert!(err.to_string().contains("Redis is a cache"));
}

#[test]
fn a_redis_cluster_is_checked_like_one_redis_and_not_beside_it() {
    let cluster = (
        "TOKENER_REDIS_CLUSTER_URLS",
        "redis://a:7000,redis://b:7001",
    );
    let err = settings(&[cluster]).unwrap_err().to_string();
    assert!(
        err.contains("TOKENER_REDIS_CLUSTER_URLS is set without TOKENER_MONGODB_URI"),
        "{err}"
    );
    let tls = (
        "TOKENER_REDIS_CLUSTER_URLS",
        "redis://a:7000,rediss://b:7001",
    );
    let err = settings(&[DURABLE[0], tls]).unwrap_err().to_string();
    assert!(
        err.contains("TOKENER_REDIS_CLUSTER_URLS must start with redis://"),
        "{err}"
    );
    let both = [
        DURABLE[0],
        cluster,
        ("TOKENER_REDIS_URL", "redis://c:6379/"),
    ];
    let err = settings(&both).unwrap_err().to_string();
    assert!(err.contains("are both set"), "{err}");
    let ok = settings(&[DURABLE[0], DURABLE[1], cluster]).unwrap();
    assert_eq!(ok.redis_cluster_urls, ["redis://a:7000", "redis://b:7001"]);
    assert_eq!(ok.redis_stream_partitions, 16, "16 by default on a cluster");
}

#[test]
fn default_ttl_above_max_is_refused() {
    let err = settings(&[
        ("TOKENER_DEFAULT_TTL_SECONDS", "7200"),
        ("TOKENER_MAX_TTL_SECONDS", "3600"),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("must not exceed"));
}

#[test]
fn bootstrap_client_lists_accept_commas_and_spaces() {
    let s = settings(&[
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "ops"),
        ("TOKENER_BOOTSTRAP_CLIENT_SECRET", &"k".repeat(32)),
        ("TOKENER_BOOTSTRAP_CLIENT_SCOPES", "a:read, b:write c"),
    ])
    .unwrap();
    let b = s.bootstrap.unwrap();
    assert_eq!(b.scopes.len(), 3);
    assert!(b.audiences.is_empty());
    assert_eq!(b.token_format, TokenFormat::Biscuit);
}

#[test]
fn the_bootstrap_clients_token_format_is_read_and_checked() {
    let client = [
        ("TOKENER_BOOTSTRAP_CLIENT_ID", "ops"),
        (
            "TOKENER_BOOTSTRAP_CLIENT_SECRET",
            "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
        ),
    ];
    let with = |format: &'static str| {
        let mut vars = client.to_vec();
        vars.push(("TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT", format));
        settings(&vars)
    };
    assert_eq!(
        with("jwt").unwrap().bootstrap.unwrap().token_format,
        TokenFormat::Jwt
    );
    assert_eq!(
        with("biscuit").unwrap().bootstrap.unwrap().token_format,
        TokenFormat::Biscuit
    );
    let err = with("JWS").unwrap_err().to_string();
    assert!(
        err.contains(
            "TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT: token format must be `biscuit` or `jwt`"
        ),
        "{err}"
    );
}
