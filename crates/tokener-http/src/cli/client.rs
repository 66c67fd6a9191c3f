//! `tokener client create|list|disable|enable|token-format`: the admin API of a running service.

use super::admin_api::AdminApi;
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Args)]
pub struct ClientArgs {
    #[command(flatten)]
    api: AdminApi,
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
        /// The kind of access token it receives.
        #[arg(long, value_enum, default_value_t = Format::Biscuit)]
        token_format: Format,
    },
    /// Switch the format of the client's tokens from now on (tokens issued keep theirs).
    TokenFormat {
        client_id: String,
        #[arg(value_enum)]
        format: Format,
    },
    /// List clients.
    List,
    /// Disable a client: it can no longer get tokens.
    Disable { client_id: String },
    /// Enable a disabled client again.
    Enable { client_id: String },
}

/// `biscuit` (attenuable offline, Datalog checks) or `jwt` (RFC 9068, for JOSE verifiers).
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Biscuit,
    Jwt,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Self::Biscuit => tokener_core::TokenFormat::Biscuit.name(),
            Self::Jwt => tokener_core::TokenFormat::Jwt.name(),
        }
    }
}

pub async fn run(args: ClientArgs) -> anyhow::Result<()> {
    args.api
        .call(|http, base| match args.command {
            ClientCommand::Create {
                client_id,
                scope,
                audience,
                max_ttl_seconds,
                token_format,
            } => http.post(format!("{base}/admin/clients")).json(
                &json!({"client_id": client_id, "scopes": scope, "audiences": audience,
                    "max_ttl_seconds": max_ttl_seconds, "token_format": token_format.name()}),
            ),
            ClientCommand::TokenFormat { client_id, format } => http
                .patch(format!("{base}/admin/clients/{client_id}"))
                .json(&json!({"token_format": format.name()})),
            ClientCommand::List => http.get(format!("{base}/admin/clients")),
            ClientCommand::Disable { client_id } => http
                .patch(format!("{base}/admin/clients/{client_id}"))
                .json(&json!({"disabled": true})),
            ClientCommand::Enable { client_id } => http
                .patch(format!("{base}/admin/clients/{client_id}"))
                .json(&json!({"disabled": false})),
        })
        .await
}
