//! Where the signing keys come from, chosen at start, and how a key store's ring reaches every
//! instance: a key file (the source of truth, changed by editing it), or a key store (MongoDB,
//! sealed with `TOKENER_KEY_ENCRYPTION_SECRET`; process memory in the embedded mode), changed
//! through the admin API and reloaded by every instance on a timer.

use crate::configuration::Settings;
use crate::state::AppState;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokener_core::token::KeySealer;
use tokener_core::{Clock, KeyManager, KeyManagerError, KeyRing, KeyStore};

/// How often an instance reloads a key store's ring: a key added or retired on another
/// instance applies here within this plus one MongoDB answer (bounded by its timeout, 5 s by
/// default), so within 10 s.
pub const KEY_RELOAD_EVERY: Duration = Duration::from_secs(5);

pub enum KeySource {
    /// `TOKENER_SIGNING_KEY_FILE`: the admin API does not change it.
    File(PathBuf),
    /// A key store; `shared` when other instances use it too (MongoDB).
    Store { manager: KeyManager, shared: bool },
}

impl KeySource {
    /// `file`, `mongodb` or `memory`, as the admin API reports it.
    pub fn name(&self) -> &'static str {
        match self {
            KeySource::File(_) => "file",
            KeySource::Store { shared: true, .. } => "mongodb",
            KeySource::Store { shared: false, .. } => "memory",
        }
    }
}

/// The ring to start with and where it comes from. The configuration has already refused a
/// MongoDB mode with neither a key file nor an encryption secret.
pub async fn load(
    settings: &Settings,
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(KeyRing, KeySource)> {
    if let Some(path) = &settings.signing_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("TOKENER_SIGNING_KEY_FILE: cannot read {}", path.display()))?;
        let ring = KeyRing::from_json(&text)
            .with_context(|| format!("TOKENER_SIGNING_KEY_FILE: {}", path.display()))?;
        if settings.key_encryption.is_some() {
            tracing::info!("TOKENER_SIGNING_KEY_FILE is set: the key file is the source of truth, TOKENER_KEY_ENCRYPTION_SECRET is not used");
        }
        tracing::info!(active_key = %ring.active().id(), "signing keys loaded from the key file");
        return Ok((ring, KeySource::File(path.clone())));
    }
    let shared = settings.mongodb.is_some();
    let sealer = match &settings.key_encryption {
        Some(sealer) => sealer.clone(),
        None => KeySealer::ephemeral(),
    };
    let manager = KeyManager::new(store, sealer, clock);
    let ring = manager
        .load_or_create()
        .await
        .map_err(|error| match error {
            KeyManagerError::Seal(e) => anyhow::anyhow!(
            "TOKENER_KEY_ENCRYPTION_SECRET: {e}; nothing in MongoDB was changed (give the secret \
             the keys were sealed with, or add it after a comma while the new one comes first)"
        ),
            e => anyhow::anyhow!("cannot load the signing keys from the key store: {e}"),
        })?;
    if shared {
        tracing::info!(active_key = %ring.active().id(), "signing keys loaded from MongoDB");
    } else {
        tracing::warn!(
            public_key = %ring.active().public(),
            "no TOKENER_SIGNING_KEY_FILE: generated a signing key for this process; tokens \
             will not verify after a restart"
        );
    }
    Ok((ring, KeySource::Store { manager, shared }))
}

/// Reloads the key store's ring into the token service until the app is gone, so keys changed
/// on another instance apply here, and keys whose tokens have all expired leave the verifier.
/// A failure keeps the ring in use and is logged once per outage.
pub fn spawn_reload(state: Weak<AppState>) {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(KEY_RELOAD_EVERY).await;
            let Some(state) = state.upgrade() else { return };
            match reload(&state).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("signing keys reloaded from the key store again");
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "cannot reload the signing keys; the ones loaded before stay in use");
                }
                Err(_) => {}
            }
        }
    });
}

/// Loads the key store's ring and signs and verifies with it from now on (nothing to do for a
/// key file).
pub async fn reload(state: &AppState) -> Result<(), KeyManagerError> {
    if let KeySource::Store { manager, .. } = &state.keys {
        let ring = manager.load().await?;
        state.tokens.replace_keys(Arc::new(ring));
    }
    Ok(())
}
