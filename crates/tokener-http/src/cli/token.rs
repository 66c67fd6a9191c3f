//! `tokener token inspect|verify`: offline, with the same verifier the service uses.

use anyhow::Context;
use biscuit_auth::UnverifiedBiscuit;
use clap::{Args, Subcommand};
use std::io::Read;
use tokener_core::token::{parse_public_key, Jwk};
use tokener_core::{
    feed, Clock, KeyId, PublicKeySet, RevocationState, SystemClock, Verifier, VerifyOptions,
};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print every block of a Biscuit, or the header and claims of a JWT, without verifying
    /// anything.
    Inspect {
        /// The token, or `-` to read it from standard input.
        token: String,
    },
    /// Verify a token offline, Biscuit or JWT: signature, expiry, every block's checks,
    /// audience and scopes.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The token, or `-` to read it from standard input.
    token: String,
    /// A public key, `ed25519/<hex>`, as `GET /keys` publishes it (verifies Biscuits).
    #[arg(
        long,
        conflicts_with = "keys_url",
        required_unless_present_any = ["keys_url", "jwk"]
    )]
    public_key: Option<String>,
    /// The id of `--public-key` (default 1).
    #[arg(long, default_value_t = 1)]
    key_id: u32,
    /// A JWK as `GET /jwks` publishes it, JSON (verifies JWTs; its `kid` is the key id).
    #[arg(long, conflicts_with = "keys_url")]
    jwk: Option<String>,
    /// Fetch the public keys (and revocations) from a running service, e.g. http://host:8080.
    #[arg(long)]
    keys_url: Option<String>,
    /// Require this audience.
    #[arg(long)]
    audience: Option<String>,
    /// Require this scope (repeatable).
    #[arg(long)]
    scope: Vec<String>,
}

fn read_token(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.trim().to_string());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text.trim().to_string())
}

pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Inspect { token } => {
            let token = read_token(&token)?;
            if tokener_core::token::jwt::is_jwt(&token) {
                return inspect_jwt(&token);
            }
            let token = UnverifiedBiscuit::from_base64(token).context("not a Biscuit token")?;
            println!("root key id: {:?}", token.root_key_id());
            for i in 0..token.block_count() {
                println!("--- block {i}\n{}", token.print_block_source(i)?);
            }
            Ok(())
        }
        TokenCommand::Verify(args) => verify(args).await,
    }
}

fn inspect_jwt(token: &str) -> anyhow::Result<()> {
    use base64::Engine;
    for (name, part) in ["header", "claims"].into_iter().zip(token.split('.')) {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .with_context(|| format!("the JWT's {name} is not base64url"))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("the JWT's {name} is not JSON"))?;
        println!("--- {name}\n{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let token = read_token(&args.token)?;
    let revocations = RevocationState::new();
    let verifier = match &args.keys_url {
        Some(url) => fetch_verifier(url, &revocations).await?,
        None => Verifier::new(given_keys(&args)?),
    };
    let mut options = VerifyOptions::default();
    if let Some(audience) = &args.audience {
        options = options.audience(audience.parse()?);
    }
    for scope in &args.scope {
        options = options.scope(scope.parse()?);
    }
    let claims = verifier
        .verify_against(&token, SystemClock.now(), &options, &revocations)
        .map_err(|e| anyhow::anyhow!("token rejected: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}

/// The keys of `--public-key` and `--jwk`.
fn given_keys(args: &VerifyArgs) -> anyhow::Result<PublicKeySet> {
    let biscuit = args
        .public_key
        .as_deref()
        .map(|key| anyhow::Ok((KeyId(args.key_id), parse_public_key(key)?)))
        .transpose()?;
    let jwt = args
        .jwk
        .as_deref()
        .map(|text| {
            let jwk: Jwk = serde_json::from_str(text).context("--jwk is not a JWK")?;
            let id = jwk.kid.parse().context("--jwk: kid is not a key id")?;
            let key = jwk
                .public_key()
                .context("--jwk is not an ES256 (P-256) key")?;
            anyhow::Ok((KeyId(id), key))
        })
        .transpose()?;
    Ok(PublicKeySet::new(biscuit).with_jwt_keys(jwt))
}

/// The keys of a running service, and its revocation feed (token and client-wide entries)
/// loaded into `revocations`.
async fn fetch_verifier(base: &str, revocations: &RevocationState) -> anyhow::Result<Verifier> {
    let base = base.trim_end_matches('/');
    let http = reqwest::Client::new();
    let body = http
        .get(format!("{base}/keys"))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let set = tokener_verify::remote::parse_keys_document(&body)
        .map_err(anyhow::Error::msg)?
        .context("the service lists no usable key")?;
    let mut since: Option<String> = None;
    loop {
        let mut request = http.get(format!("{base}/revocations"));
        if let Some(cursor) = &since {
            request = request.query(&[("since", cursor)]);
        }
        let page: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
        let items = page["revocations"].as_array().cloned().unwrap_or_default();
        let entries = items
            .iter()
            .map(|item| feed::decode(&item.to_string()).map(|(entry, _)| entry))
            .collect::<Result<Vec<_>, _>>()
            .context("the service sent a revocation entry this tool cannot read")?;
        revocations.apply(entries, SystemClock.now());
        let next = page["next"].as_str().map(str::to_string);
        if items.is_empty() || next == since {
            break;
        }
        since = next;
    }
    Ok(Verifier::new(set))
}
