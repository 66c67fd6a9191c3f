//! `tokener keys generate` (a key file) and `tokener keys list|add|retire` (the admin API of a
//! service that keeps its keys in MongoDB).

use super::admin_api::AdminApi;
use clap::Subcommand;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new key file holding one freshly generated active key (the key file way; a
    /// service that keeps its keys in MongoDB uses list, add and retire instead).
    Generate {
        /// Where to write the key file (created with mode 0600; never overwritten).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// List the signing keys of a running service, with their status and times.
    List {
        #[command(flatten)]
        api: AdminApi,
    },
    /// Add a signing key: announced as next, signing from its activation time.
    Add {
        #[command(flatten)]
        api: AdminApi,
        /// When it starts signing, Unix seconds (default: after the service's announce period).
        #[arg(long)]
        activates_at: Option<u64>,
    },
    /// Retire a signing key (a next key never signs; a key that signed verifies its tokens
    /// until they expire).
    Retire {
        #[command(flatten)]
        api: AdminApi,
        key_id: u32,
    },
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { out } => generate(&out),
        KeysCommand::List { api } => {
            api.call(|http, base| http.get(format!("{base}/admin/keys")))
                .await
        }
        KeysCommand::Add { api, activates_at } => {
            api.call(|http, base| {
                let request = http.post(format!("{base}/admin/keys"));
                match activates_at {
                    Some(at) => request.json(&json!({ "activates_at": at })),
                    None => request,
                }
            })
            .await
        }
        KeysCommand::Retire { api, key_id } => {
            api.call(|http, base| http.post(format!("{base}/admin/keys/{key_id}/retire")))
                .await
        }
    }
}

fn generate(out: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let ring = tokener_core::KeyRing::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    file.write_all(ring.to_json().as_bytes())?;
    eprintln!(
        "wrote {} (key id {}, public key {})",
        out.display(),
        ring.active().id(),
        ring.active().public()
    );
    Ok(())
}
