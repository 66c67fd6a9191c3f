//! A registered client (a service that may ask for tokens) and what it may be granted.

use super::{Audience, ClientId, ClientSecret, Scope, SecretHash, Timestamp, Ttl};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub secret_hash: SecretHash,
    /// Scopes this client may ask for; a request naming none gets all of them.
    pub allowed_scopes: BTreeSet<Scope>,
    /// Audiences this client may ask for; a request naming none gets all of them.
    pub allowed_audiences: BTreeSet<Audience>,
    /// A tighter TTL bound than the deployment's, if set.
    pub max_ttl: Option<Ttl>,
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
            allowed_scopes,
            allowed_audiences,
            max_ttl: None,
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}
