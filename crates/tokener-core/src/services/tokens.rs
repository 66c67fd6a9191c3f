//! `TokenService`: the business rules of issuing and verifying tokens, generic over the ports.

use crate::domain::{
    Audience, Client, ClientId, ClientSecret, Clock, IssuedToken, Revocation, Scope, SecretHash,
    TokenClaims, TokenId, TokenRecord, Ttl,
};
use crate::ports::{ClientRegistry, RevocationCursor, RevokeOutcome, StoreError, TokenStore};
use crate::token::{mint, KeyRing, MintError, MintInput, Verifier, VerifyError, VerifyOptions};
use std::collections::BTreeSet;
use std::sync::Arc;

/// How long tokens live: the default when a request names none, and the most a request may
/// ask for (a client's own `max_ttl` may tighten it further).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlPolicy {
    default: Ttl,
    max: Ttl,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("default ttl ({default} s) exceeds the maximum ttl ({max} s)")]
pub struct TtlPolicyError {
    pub default: u64,
    pub max: u64,
}

impl TtlPolicy {
    pub fn new(default: Ttl, max: Ttl) -> Result<Self, TtlPolicyError> {
        if default > max {
            return Err(TtlPolicyError {
                default: default.as_secs(),
                max: max.as_secs(),
            });
        }
        Ok(Self { default, max })
    }

    pub fn default_ttl(&self) -> Ttl {
        self.default
    }

    pub fn max_ttl(&self) -> Ttl {
        self.max
    }
}

impl Default for TtlPolicy {
    /// 24 hours by default, and at most.
    fn default() -> Self {
        Self {
            default: Ttl::DEFAULT,
            max: Ttl::DEFAULT,
        }
    }
}

/// What a client asks for. `None` means "everything I am allowed" for scopes and audiences and
/// "the default" for the TTL.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    pub audiences: Option<BTreeSet<Audience>>,
    pub scopes: Option<BTreeSet<Scope>>,
    pub ttl: Option<Ttl>,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Unknown client, wrong secret or disabled client: one error, so callers cannot probe.
    #[error("invalid client credentials")]
    InvalidClient,
    #[error("scope {0} is not allowed for this client")]
    ScopeNotAllowed(Scope),
    #[error("audience {0} is not allowed for this client")]
    AudienceNotAllowed(Audience),
    #[error("ttl exceeds the maximum of {} seconds", max.as_secs())]
    TtlTooLong { max: Ttl },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mint(#[from] MintError),
}

/// Why a token was not accepted by [`TokenService::verify`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error(transparent)]
    Invalid(#[from] VerifyError),
    /// Revocation could not be checked: the answer is unknown, not "valid".
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a revocation request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// RFC 7009 §2.1: a client may only revoke its own tokens.
    #[error("the token was not issued to this client")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues and verifies tokens.
pub struct TokenService<S, C> {
    store: S,
    clients: C,
    keys: Arc<KeyRing>,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    ttl: TtlPolicy,
    /// Compared against when the client does not exist, so an unknown id costs what a wrong
    /// secret costs.
    decoy: SecretHash,
}

impl<S: TokenStore, C: ClientRegistry> TokenService<S, C> {
    pub fn new(
        store: S,
        clients: C,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        ttl: TtlPolicy,
    ) -> Self {
        Self {
            store,
            clients,
            verifier: Verifier::new(keys.public_keys()),
            keys,
            clock,
            ttl,
            decoy: ClientSecret::generate().hash(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clients(&self) -> &C {
        &self.clients
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn ttl_policy(&self) -> TtlPolicy {
        self.ttl
    }

    /// The client with these credentials, if they are right and the client is enabled.
    pub async fn authenticate(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
    ) -> Result<Client, IssueError> {
        match self.clients.get(id).await? {
            Some(client) if client.secret_hash.matches(secret) && !client.disabled => Ok(client),
            Some(_) => Err(IssueError::InvalidClient),
            None => {
                let _ = self.decoy.matches(secret);
                Err(IssueError::InvalidClient)
            }
        }
    }

    /// Authenticates the client, applies the grant rules, mints the token and records it.
    /// No token leaves this method unless its record was accepted by the store.
    pub async fn issue(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
        request: IssueRequest,
    ) -> Result<IssuedToken, IssueError> {
        let client = self.authenticate(id, secret).await?;
        self.issue_for(&client, request).await
    }

    /// Issues a token for an already authenticated client.
    pub async fn issue_for(
        &self,
        client: &Client,
        request: IssueRequest,
    ) -> Result<IssuedToken, IssueError> {
        let scopes =
            granted(request.scopes, &client.allowed_scopes).map_err(IssueError::ScopeNotAllowed)?;
        let audiences = granted(request.audiences, &client.allowed_audiences)
            .map_err(IssueError::AudienceNotAllowed)?;
        let max = client.max_ttl.map_or(self.ttl.max, |m| m.min(self.ttl.max));
        let ttl = match request.ttl {
            // A default above the client's own maximum is capped: the client did not ask for it.
            None => self.ttl.default.min(max),
            Some(ttl) if ttl > max => return Err(IssueError::TtlTooLong { max }),
            Some(ttl) => ttl,
        };
        let now = self.clock.now();
        let minted = mint(
            self.keys.active(),
            MintInput {
                client_id: client.id.clone(),
                audiences,
                scopes,
                issued_at: now,
                expires_at: now.plus_secs(ttl.as_secs()),
            },
        )?;
        let record = TokenRecord {
            claims: minted.claims,
            fingerprint: minted.fingerprint,
            revoked_at: None,
        };
        self.store.record(&record).await?;
        Ok(IssuedToken {
            bearer: minted.bearer,
            record,
        })
    }

    /// Revokes a token on behalf of the client it was issued to. A string that is not a token
    /// of ours (bad signature, unknown key, garbage) is ignored, as RFC 7009 §2.2 asks; so is an
    /// unknown id.
    pub async fn revoke(
        &self,
        caller: &ClientId,
        bearer: &str,
    ) -> Result<RevokeOutcome, RevokeError> {
        let Ok(parsed) = self.verifier.parse(bearer, self.clock.now()) else {
            return Ok(RevokeOutcome::Unknown);
        };
        if &parsed.claims().client_id != caller {
            return Err(RevokeError::NotOwner);
        }
        Ok(self
            .store
            .revoke(&parsed.claims().token_id, self.clock.now())
            .await?)
    }

    /// Revokes a token by id (an administrator's action).
    pub async fn revoke_id(&self, id: &TokenId) -> Result<RevokeOutcome, StoreError> {
        self.store.revoke(id, self.clock.now()).await
    }

    /// Revoked token ids after `after`, oldest first, for offline verifiers.
    pub async fn revocations(
        &self,
        after: Option<RevocationCursor>,
        limit: usize,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.store.revocations(after, limit).await
    }

    /// Verifies a bearer token: signature, expiry, revocation (asking the store), `options`
    /// and every block's checks.
    pub async fn verify(
        &self,
        bearer: &str,
        options: &VerifyOptions,
    ) -> Result<TokenClaims, VerifyFailure> {
        let parsed = self.verifier.parse(bearer, self.clock.now())?;
        let revoked = self.store.is_revoked(&parsed.claims().token_id).await?;
        Ok(parsed.judge(options, revoked)?)
    }
}

/// The requested set if every member is allowed, all allowed when nothing was requested.
fn granted<T: Ord + Clone>(
    requested: Option<BTreeSet<T>>,
    allowed: &BTreeSet<T>,
) -> Result<BTreeSet<T>, T> {
    match requested {
        None => Ok(allowed.clone()),
        Some(requested) => match requested.iter().find(|r| !allowed.contains(*r)) {
            Some(denied) => Err(denied.clone()),
            None => Ok(requested),
        },
    }
}
