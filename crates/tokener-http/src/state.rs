//! What every handler shares.

use async_trait::async_trait;
use std::sync::Arc;
use tokener_core::{ClientRegistry, ClientService, StoreError, TokenService, TokenStore};

/// The token service over whichever adapters the configuration chose.
pub type Tokens = TokenService<Arc<dyn TokenStore>, Arc<dyn ClientRegistry>>;

/// Client administration over the same registry.
pub type Clients = ClientService<Arc<dyn ClientRegistry>>;

/// A dependency `/readyz` checks.
#[async_trait]
pub trait Dependency: Send + Sync {
    fn name(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;
}

pub struct AppState {
    pub tokens: Tokens,
    pub clients: Clients,
    pub dependencies: Vec<Arc<dyn Dependency>>,
    /// The issuer of the RFC 8414 metadata, if configured.
    pub public_url: Option<String>,
    /// How the service stores tokens, as reported by `GET /`.
    pub storage: &'static str,
}
