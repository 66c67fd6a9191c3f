//! The `tokener` command line: `serve` (the default) and the operator's tools.

pub mod admin_api;
pub mod client;
pub mod guard;
pub mod keys;
pub mod token;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "tokener",
    version,
    about = "The token service for a network of microservices"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service (the default), configured by TOKENER_* variables, a TOML file and flags.
    Serve(ServeArgs),
    /// Print the OpenAPI document as YAML.
    Openapi,
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Manage clients through the admin API of a running service.
    Client(client::ClientArgs),
    /// Run the forward-auth sidecar: verify tokens offline for a proxy (`GET /auth`).
    Guard(guard::GuardArgs),
    /// Look inside tokens and verify them offline.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
}

/// Settings given on the command line win over the TOML file, which wins over the environment.
#[derive(Args, Default)]
pub struct ServeArgs {
    /// A TOML file with the same settings as the TOKENER_* variables, in lower case without the
    /// prefix (e.g. `listen = "0.0.0.0:8080"`, `mongodb_uri = "mongodb://..."`).
    #[arg(long, short, env = "TOKENER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to bind (TOKENER_LISTEN).
    #[arg(long)]
    pub listen: Option<String>,
    /// MongoDB connection string (TOKENER_MONGODB_URI).
    #[arg(long)]
    pub mongodb_uri: Option<String>,
    /// Signing key file (TOKENER_SIGNING_KEY_FILE).
    #[arg(long)]
    pub signing_key_file: Option<PathBuf>,
    /// Log filter (TOKENER_LOG).
    #[arg(long)]
    pub log: Option<String>,
}

impl ServeArgs {
    /// The flags given, as settings names and values.
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(v) = &self.listen {
            out.push(("TOKENER_LISTEN", v.clone()));
        }
        if let Some(v) = &self.mongodb_uri {
            out.push(("TOKENER_MONGODB_URI", v.clone()));
        }
        if let Some(v) = &self.signing_key_file {
            out.push(("TOKENER_SIGNING_KEY_FILE", v.display().to_string()));
        }
        if let Some(v) = &self.log {
            out.push(("TOKENER_LOG", v.clone()));
        }
        out
    }
}
