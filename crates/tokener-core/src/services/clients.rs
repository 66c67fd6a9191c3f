//! `ClientService`: registering clients and managing their secrets.

use crate::domain::{
    Audience, Client, ClientId, ClientKeys, ClientSecret, Clock, Scope, TokenFormat, Ttl,
};
use crate::ports::{ClientRegistry, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client {0} already exists")]
    AlreadyExists(ClientId),
    #[error("client {0} does not exist")]
    NotFound(ClientId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a client may be granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub scopes: BTreeSet<Scope>,
    pub audiences: BTreeSet<Audience>,
    pub max_ttl: Option<Ttl>,
    /// The kind of access token it receives.
    pub token_format: TokenFormat,
}

/// A change to a client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub scopes: Option<BTreeSet<Scope>>,
    pub audiences: Option<BTreeSet<Audience>>,
    /// `Some(None)` removes the client's own TTL bound.
    pub max_ttl: Option<Option<Ttl>>,
    pub disabled: Option<bool>,
    pub token_format: Option<TokenFormat>,
    /// New public keys: the client authenticates with `private_key_jwt` from now on (a secret
    /// it had stops working).
    pub jwks: Option<ClientKeys>,
}

pub struct ClientService<C> {
    clients: C,
    clock: Arc<dyn Clock>,
}

impl<C: ClientRegistry> ClientService<C> {
    pub fn new(clients: C, clock: Arc<dyn Clock>) -> Self {
        Self { clients, clock }
    }

    /// Registers a new client with a server-generated secret, returned here and nowhere else.
    pub async fn create(
        &self,
        id: ClientId,
        grants: Grants,
    ) -> Result<(Client, ClientSecret), ClientError> {
        if self.clients.get(&id).await?.is_some() {
            return Err(ClientError::AlreadyExists(id));
        }
        let secret = ClientSecret::generate();
        let client = self.build(id, &secret, grants);
        self.clients.upsert(&client).await?;
        Ok((client, secret))
    }

    /// Registers a new client that authenticates with `private_key_jwt` and these public keys.
    /// It has no usable secret: its hash is of one generated and dropped here.
    pub async fn create_with_keys(
        &self,
        id: ClientId,
        grants: Grants,
        keys: ClientKeys,
    ) -> Result<Client, ClientError> {
        if self.clients.get(&id).await?.is_some() {
            return Err(ClientError::AlreadyExists(id));
        }
        let mut client = self.build(id, &ClientSecret::generate(), grants);
        client.jwks = Some(keys);
        self.clients.upsert(&client).await?;
        Ok(client)
    }

    /// Makes the client exist with exactly this secret and these grants (the configured
    /// bootstrap client): created if missing, updated if different, enabled either way.
    pub async fn ensure(
        &self,
        id: ClientId,
        secret: &ClientSecret,
        grants: Grants,
    ) -> Result<Client, ClientError> {
        let wanted = self.build(id, secret, grants);
        match self.clients.get(&wanted.id).await? {
            Some(existing) if same_settings(&existing, &wanted) => Ok(existing),
            Some(existing) => {
                let updated = Client {
                    created_at: existing.created_at,
                    ..wanted
                };
                self.clients.upsert(&updated).await?;
                Ok(updated)
            }
            None => {
                self.clients.upsert(&wanted).await?;
                Ok(wanted)
            }
        }
    }

    pub async fn get(&self, id: &ClientId) -> Result<Client, ClientError> {
        self.clients
            .get(id)
            .await?
            .ok_or_else(|| ClientError::NotFound(id.clone()))
    }

    pub async fn list(&self) -> Result<Vec<Client>, ClientError> {
        Ok(self.clients.list().await?)
    }

    /// Changes what a client may be granted, or enables/disables it. Fields left `None` keep
    /// their value.
    pub async fn update(&self, id: &ClientId, change: ClientChange) -> Result<Client, ClientError> {
        let mut client = self.get(id).await?;
        if let Some(scopes) = change.scopes {
            client.allowed_scopes = scopes;
        }
        if let Some(audiences) = change.audiences {
            client.allowed_audiences = audiences;
        }
        if let Some(max_ttl) = change.max_ttl {
            client.max_ttl = max_ttl;
        }
        if let Some(disabled) = change.disabled {
            client.disabled = disabled;
        }
        if let Some(format) = change.token_format {
            client.token_format = format;
        }
        if let Some(keys) = change.jwks {
            client.jwks = Some(keys);
        }
        client.updated_at = self.clock.now();
        self.clients.upsert(&client).await?;
        Ok(client)
    }

    /// Replaces the client's secret with a fresh one, returned here and nowhere else. The old
    /// secret stops working at once; a client that used keys (`private_key_jwt`) drops them
    /// and authenticates with the secret from now on.
    pub async fn rotate_secret(
        &self,
        id: &ClientId,
    ) -> Result<(Client, ClientSecret), ClientError> {
        let mut client = self.get(id).await?;
        let secret = ClientSecret::generate();
        client.secret_hash = secret.hash();
        client.jwks = None;
        client.updated_at = self.clock.now();
        self.clients.upsert(&client).await?;
        Ok((client, secret))
    }

    fn build(&self, id: ClientId, secret: &ClientSecret, grants: Grants) -> Client {
        let mut client = Client::new(
            id,
            secret,
            grants.scopes,
            grants.audiences,
            self.clock.now(),
        );
        client.max_ttl = grants.max_ttl;
        client.token_format = grants.token_format;
        client
    }
}

fn same_settings(a: &Client, b: &Client) -> bool {
    a.secret_hash == b.secret_hash
        && a.allowed_scopes == b.allowed_scopes
        && a.allowed_audiences == b.allowed_audiences
        && a.max_ttl == b.max_ttl
        && a.token_format == b.token_format
        && a.disabled == b.disabled
        && a.jwks == b.jwks
}
