//! `tokener keys generate`.

use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new key file holding one freshly generated active key.
    Generate {
        /// Where to write the key file (created with mode 0600; never overwritten).
        #[arg(long, short)]
        out: PathBuf,
    },
}

pub fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { out } => generate(&out),
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
