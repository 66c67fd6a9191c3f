//! `tokener token inspect|verify`: offline, with the same verifier the service uses.

use anyhow::Context;
use biscuit_auth::UnverifiedBiscuit;
use clap::{Args, Subcommand};
use std::io::Read;
use tokener_core::token::parse_public_key;
use tokener_core::{
    feed, Clock, KeyId, PublicKeySet, RevocationState, SystemClock, Verifier, VerifyOptions,
};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print every block of a token, without verifying anything.
    Inspect {
        /// The token, or `-` to read it from standard input.
        token: String,
    },
    /// Verify a token offline: signature, expiry, every block's checks, audience and scopes.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The token, or `-` to read it from standard input.
    token: String,
    /// A public key, `ed25519/<hex>`, as `GET /keys` publishes it.
    #[arg(
        long,
        conflicts_with = "keys_url",
        required_unless_present = "keys_url"
    )]
    public_key: Option<String>,
    /// The id of `--public-key` (default 1).
    #[arg(long, default_value_t = 1)]
    key_id: u32,
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
            let token = UnverifiedBiscuit::from_base64(read_token(&token)?)
                .context("not a Biscuit token")?;
            println!("root key id: {:?}", token.root_key_id());
            for i in 0..token.block_count() {
                println!("--- block {i}\n{}", token.print_block_source(i)?);
            }
            Ok(())
        }
        TokenCommand::Verify(args) => verify(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let token = read_token(&args.token)?;
    let revocations = RevocationState::new();
    let verifier = match (&args.public_key, &args.keys_url) {
        (Some(key), _) => Verifier::new(PublicKeySet::new([(
            KeyId(args.key_id),
            parse_public_key(key)?,
        )])),
        (None, Some(url)) => fetch_verifier(url, &revocations).await?,
        (None, None) => anyhow::bail!("give --public-key or --keys-url"),
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

/// The keys of a running service, and its revocation feed (token and client-wide entries)
/// loaded into `revocations`.
async fn fetch_verifier(base: &str, revocations: &RevocationState) -> anyhow::Result<Verifier> {
    let base = base.trim_end_matches('/');
    let http = reqwest::Client::new();
    let keys: serde_json::Value = http
        .get(format!("{base}/keys"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut set = Vec::new();
    for key in keys["keys"].as_array().context("no keys in the answer")? {
        let id = key["id"]
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .context("key without id")?;
        let text = key["public_key"]
            .as_str()
            .context("key without public_key")?;
        set.push((KeyId(id), parse_public_key(text)?));
    }
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
    Ok(Verifier::new(PublicKeySet::new(set)))
}
