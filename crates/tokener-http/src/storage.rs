//! Chooses the adapters behind the ports from the configuration.

use crate::configuration::Settings;
use crate::state::Dependency;
use std::sync::Arc;
use tokener_core::adapters::{InMemoryClientRegistry, InMemoryTokenStore};
use tokener_core::{ClientRegistry, TokenStore};

/// The adapters the service runs on.
pub struct Storage {
    pub tokens: Arc<dyn TokenStore>,
    pub clients: Arc<dyn ClientRegistry>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// `in-memory` or `mongodb`, as shown on `GET /` and in the start-up log.
    pub mode: &'static str,
}

impl Storage {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.mongodb {
            None => {
                tracing::warn!(
                    "no TOKENER_MONGODB_URI: running on the embedded in-memory store; issued \
                     tokens and clients live in this process only and are lost when it stops"
                );
                Ok(Self {
                    tokens: Arc::new(InMemoryTokenStore::new()),
                    clients: Arc::new(InMemoryClientRegistry::new()),
                    dependencies: Vec::new(),
                    mode: "in-memory",
                })
            }
            Some(_) => anyhow::bail!("MongoDB storage is not wired yet"),
        }
    }
}
