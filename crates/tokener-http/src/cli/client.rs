//! `tokener client create|list|disable|enable`: the admin API of a running service.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Args)]
pub struct ClientArgs {
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "TOKENER_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin token (a Tokener token with the tokener:admin scope).
    #[arg(long, env = "TOKENER_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints its secret (shown once).
    Create {
        client_id: String,
        /// An allowed scope (repeatable).
        #[arg(long)]
        scope: Vec<String>,
        /// An allowed audience (repeatable).
        #[arg(long)]
        audience: Vec<String>,
        /// The client's own TTL bound, in seconds.
        #[arg(long)]
        max_ttl_seconds: Option<u64>,
    },
    /// List clients.
    List,
    /// Disable a client: it can no longer get tokens.
    Disable { client_id: String },
    /// Enable a disabled client again.
    Enable { client_id: String },
}

pub async fn run(args: ClientArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let request = match args.command {
        ClientCommand::Create { client_id, scope, audience, max_ttl_seconds } => http
            .post(format!("{base}/admin/clients"))
            .json(&json!({"client_id": client_id, "scopes": scope, "audiences": audience, "max_ttl_seconds": max_ttl_seconds})),
        ClientCommand::List => http.get(format!("{base}/admin/clients")),
        ClientCommand::Disable { client_id } => http
            .patch(format!("{base}/admin/clients/{client_id}"))
            .json(&json!({"disabled": true})),
        ClientCommand::Enable { client_id } => http
            .patch(format!("{base}/admin/clients/{client_id}"))
            .json(&json!({"disabled": false})),
    };
    let response = request
        .bearer_auth(&args.token)
        .send()
        .await
        .context("cannot reach the service")?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("the service did not answer JSON")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    if !status.is_success() {
        anyhow::bail!("the service answered {status}");
    }
    Ok(())
}
