//! `tokener guard`: the forward-auth sidecar for services in any language. It verifies tokens
//! offline (keys and revocations followed from Tokener by `tokener-verify`) and answers
//! `GET /auth` for NGINX `auth_request`, Traefik ForwardAuth and Envoy's HTTP ext_authz.

use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;
use tokener_verify::guard::{self, GuardConfig};

#[derive(Args)]
pub struct GuardArgs {
    /// Address to listen on (TOKENER_GUARD_LISTEN).
    #[arg(long, env = "TOKENER_GUARD_LISTEN", default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,
    /// Tokener's base URL (TOKENER_URL).
    #[arg(long, env = "TOKENER_URL")]
    pub tokener_url: String,
    /// How old the revocation state may grow while Tokener is unreachable before the guard
    /// answers 503 (TOKENER_GUARD_MAX_STALENESS_SECONDS).
    #[arg(
        long,
        env = "TOKENER_GUARD_MAX_STALENESS_SECONDS",
        default_value_t = 300
    )]
    pub max_staleness_seconds: u64,
    /// Past that, accept valid tokens anyway instead of answering 503.
    #[arg(long, env = "TOKENER_GUARD_FAIL_OPEN_WHEN_STALE")]
    pub fail_open_when_stale: bool,
    /// Verified tokens remembered by SHA-256 (revocation is still checked on every request).
    #[arg(long, default_value_t = 10_000)]
    pub cache_entries: usize,
    /// Log filter (TOKENER_LOG).
    #[arg(long, env = "TOKENER_LOG", default_value = "info")]
    pub log: String,
}

pub fn run(args: GuardArgs) -> anyhow::Result<()> {
    crate::telemetry::init(&args.log, crate::configuration::LogFormat::Pretty);
    let mut config = GuardConfig::new(args.listen, args.tokener_url);
    config.max_staleness = Duration::from_secs(args.max_staleness_seconds);
    config.fail_open_when_stale = args.fail_open_when_stale;
    config.cache_entries = args.cache_entries;
    actix_web::rt::System::new().block_on(guard::serve(config))?;
    Ok(())
}
