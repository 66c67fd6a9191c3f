//! A registered client (a service that may ask for tokens) and what it may be granted.

use super::{
    Audience, ClientId, ClientKeys, ClientSecret, Scope, SecretHash, Timestamp, TokenFormat, Ttl,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    /// A client with `jwks` has a hash too, of a random secret nobody was shown; the secret
    /// is never compared for it (see [`Client::uses_keys`]).
    pub secret_hash: SecretHash,
    /// Public keys of `private_key_jwt`: when set, the client authenticates with a signed
    /// assertion only, never with a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<ClientKeys>,
    /// Scopes this client may ask for; a request naming none gets all of them.
    pub allowed_scopes: BTreeSet<Scope>,
    /// Audiences this client may ask for; a request naming none gets all of them.
    pub allowed_audiences: BTreeSet<Audience>,
    /// A tighter TTL bound than the deployment's, if set.
    pub max_ttl: Option<Ttl>,
    /// The kind of access token it receives (records written before formats existed hold
    /// none: Biscuit).
    #[serde(default, skip_serializing_if = "TokenFormat::is_default")]
    pub token_format: TokenFormat,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Client {
    /// A new, enabled client whose secret hashes to that of `secret`.
    pub fn new(
        id: ClientId,
        secret: &ClientSecret,
        allowed_scopes: BTreeSet<Scope>,
        allowed_audiences: BTreeSet<Audience>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            secret_hash: secret.hash(),
            jwks: None,
            allowed_scopes,
            allowed_audiences,
            max_ttl: None,
            token_format: TokenFormat::Biscuit,
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the client authenticates with `private_key_jwt` (RFC 7523) instead of a secret.
    pub fn uses_keys(&self) -> bool {
        self.jwks.is_some()
    }

    /// The `token_endpoint_auth_method` (RFC 7591 §2) of the client.
    pub fn auth_method(&self) -> &'static str {
        if self.uses_keys() {
            "private_key_jwt"
        } else {
            "client_secret_basic"
        }
    }
}
