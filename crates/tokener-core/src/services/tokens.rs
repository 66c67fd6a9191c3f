//! `TokenService`: the business rules of issuing and verifying tokens, generic over the ports.

use super::client_reuse::REUSE_CLIENTS_FOR;
use super::revocations::{RevocationState, RevocationSync, FEED_SETTLE_MILLIS};
use crate::domain::{
    Audience, Client, ClientId, ClientRevocation, ClientSecret, Clock, FeedCursor, IssuedToken,
    Revocation, RevocationEntry, Scope, SecretHash, Timestamp, TokenClaims, TokenFormat, TokenId,
    TokenRecord, Ttl,
};
use crate::ports::{ClientRegistry, RevokeOutcome, StoreError, TokenStore};
use crate::token::{
    judge_claims, mint, mint_jwt, KeyRing, MintError, MintInput, VerificationCache, Verifier,
    VerifyError, VerifyOptions,
};
use arc_swap::ArcSwap;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The longest a JWT's issuance waits for the end of a client-wide revocation (which reaches
/// at most about 2 s past the moment it was made).
const MAX_ISSUE_WAIT_MILLIS: u64 = 3_000;

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
    /// The issuer the request reached (the `iss` of a JWT; Biscuits do not name one).
    pub issuer: String,
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

/// How old the revocation state may be before a verification refreshes it from the store
/// first (the background poll keeps it far younger; this bounds what an answer can miss).
pub const MAX_REVOCATION_STALENESS_MILLIS: u64 = 1_000;

/// A key ring and the verifier of its published keys, swapped together.
struct LoadedKeys {
    ring: Arc<KeyRing>,
    verifier: Verifier,
}

impl LoadedKeys {
    fn new(
        ring: Arc<KeyRing>,
        now: crate::domain::Timestamp,
        max_ttl: std::time::Duration,
    ) -> Self {
        Self {
            verifier: Verifier::new(ring.published_keys(now, max_ttl)),
            ring,
        }
    }
}

/// Issues and verifies tokens.
pub struct TokenService<S, C> {
    store: S,
    clients: C,
    /// Swapped whole when the ring changes (a key store's ring is reloaded on a timer).
    keys: ArcSwap<LoadedKeys>,
    clock: Arc<dyn Clock>,
    ttl: TtlPolicy,
    /// Compared against when the client does not exist, so an unknown id costs what a wrong
    /// secret costs.
    decoy: SecretHash,
    /// Every unexpired revocation, kept within a poll of the store: verification asks it, not
    /// the store.
    revocations: RevocationSync,
    /// Claims of tokens introspected before: resource servers ask about the same bearer for
    /// its whole life, and a hit skips the signature check.
    verified: VerificationCache,
}

/// Tokens whose verified claims introspection keeps (about 300 bytes each).
pub const INTROSPECTION_CACHE_ENTRIES: usize = 100_000;

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
            keys: ArcSwap::from_pointee(LoadedKeys::new(keys, clock.now(), ttl.max.as_duration())),
            clock,
            ttl,
            decoy: ClientSecret::generate().hash(),
            revocations: RevocationSync::new(Arc::new(RevocationState::new())),
            verified: VerificationCache::new(INTROSPECTION_CACHE_ENTRIES),
        }
    }

    /// The revocation state verification reads (shared with the feed routes).
    pub fn revocation_state(&self) -> &Arc<RevocationState> {
        self.revocations.state()
    }

    /// Brings the revocation state up to date with the store (the background poll calls this).
    pub async fn sync_revocations(&self) -> Result<usize, StoreError> {
        self.revocations.poll(&self.store, self.clock.now()).await
    }

    /// Refreshes the revocation state first if it is older than
    /// [`MAX_REVOCATION_STALENESS_MILLIS`] (the background poll has stalled, or never ran).
    async fn fresh_revocations(&self) -> Result<&RevocationState, StoreError> {
        let now = self.clock.now();
        let state = self.revocations.state();
        let fresh = state
            .synced_at()
            .is_some_and(|at| at.plus_millis(MAX_REVOCATION_STALENESS_MILLIS) >= now);
        if !fresh {
            self.revocations.poll(&self.store, now).await?;
        }
        Ok(state)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clients(&self) -> &C {
        &self.clients
    }

    /// The key ring signing and verifying now.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.load().ring.clone()
    }

    /// The id of `bearer`, if it is a token of ours with a valid signature (expired or not):
    /// what the audit trail names a revoked token by.
    pub fn token_id_of(&self, bearer: &str) -> Option<crate::domain::TokenId> {
        let parsed = self
            .keys
            .load()
            .verifier
            .parse(bearer, self.clock.now())
            .ok()?;
        Some(parsed.claims().token_id.clone())
    }

    /// Signs and verifies with `ring` from now on (a reloaded or changed key store ring).
    pub fn replace_keys(&self, ring: Arc<KeyRing>) {
        let loaded = LoadedKeys::new(ring, self.clock.now(), self.ttl.max.as_duration());
        let before = self.keys.swap(Arc::new(loaded));
        // A cached verdict holds only for the keys it was checked against (a key withdrawn,
        // or a ring replaced whole).
        if before.verifier.keys() != self.keys.load().verifier.keys() {
            self.verified.clear();
        }
    }

    pub fn ttl_policy(&self) -> TtlPolicy {
        self.ttl
    }

    /// The client with these credentials, if they are right and the client is enabled. A
    /// client with public keys authenticates with an assertion only.
    pub async fn authenticate(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
    ) -> Result<Client, IssueError> {
        match self.clients.get(id).await? {
            Some(client)
                if client.secret_hash.matches(secret)
                    && !client.disabled
                    && !client.uses_keys() =>
            {
                Ok(client)
            }
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
        let now = self.issue_time(client).await;
        let keys = self.keys.load();
        let key = keys.ring.signing_key(now);
        let input = MintInput {
            client_id: client.id.clone(),
            audiences,
            scopes,
            issued_at: now,
            expires_at: now.plus_secs(ttl.as_secs()),
        };
        let minted = match client.token_format {
            TokenFormat::Biscuit => mint(key, input)?,
            TokenFormat::Jwt => mint_jwt(key, input, &request.issuer)?,
        };
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

    /// When a token for `client` is issued. After a client-wide revocation that reaches past
    /// now (up to about 2 s: the rest of its second and the client-reuse window), a Biscuit is
    /// dated at its end, so the revocation does not cover it. A JWT states its `iat` to every
    /// JOSE verifier, and some refuse an `iat` in the future, so its issuance waits until
    /// then instead: a delay only right after a client-wide revocation of this client.
    async fn issue_time(&self, client: &Client) -> Timestamp {
        let state = self.revocations.state();
        let now = self.clock.now();
        let at = state.issue_time(&client.id, now);
        if client.token_format == TokenFormat::Jwt && at > now {
            let wait = at.unix_millis() - now.unix_millis();
            tokio::time::sleep(Duration::from_millis(wait.min(MAX_ISSUE_WAIT_MILLIS))).await;
            // Still dated at the end if the clock has not got there (a test's manual clock).
            return state.issue_time(&client.id, self.clock.now());
        }
        at
    }

    /// Revokes a token on behalf of the client it was issued to. A string that is not a token
    /// of ours (bad signature, unknown key, garbage) is ignored, as RFC 7009 §2.2 asks; so is an
    /// unknown id.
    pub async fn revoke(
        &self,
        caller: &ClientId,
        bearer: &str,
    ) -> Result<RevokeOutcome, RevokeError> {
        let Ok(parsed) = self.keys.load().verifier.parse(bearer, self.clock.now()) else {
            return Ok(RevokeOutcome::Unknown);
        };
        if &parsed.claims().client_id != caller {
            return Err(RevokeError::NotOwner);
        }
        let claims = parsed.claims();
        Ok(self
            .revoke_recorded(&claims.token_id, claims.expires_at)
            .await?)
    }

    /// Revokes a token by id (an administrator's action).
    pub async fn revoke_id(&self, id: &TokenId) -> Result<RevokeOutcome, StoreError> {
        match self.store.get(id).await? {
            Some(record) => self.revoke_recorded(id, record.claims.expires_at).await,
            // Maybe not in the permanent store yet (write-behind): the store knows where to look.
            None => {
                let at = self.clock.now();
                let _writing = self.revocations.state().writing(at);
                self.store.revoke(id, at).await
            }
        }
    }

    /// Revokes in the store, then here at once (other instances see it at their next poll).
    /// A token revoked before keeps its first revocation, which the poll brings.
    async fn revoke_recorded(
        &self,
        id: &TokenId,
        expires_at: crate::domain::Timestamp,
    ) -> Result<RevokeOutcome, StoreError> {
        let at = self.clock.now();
        let _writing = self.revocations.state().writing(at);
        let outcome = self.store.revoke(id, at).await?;
        if outcome == RevokeOutcome::Revoked {
            let entry = RevocationEntry::Token(Revocation {
                token_id: id.clone(),
                revoked_at: at,
                expires_at,
            });
            self.revocations.state().apply([entry], at);
        }
        Ok(outcome)
    }

    /// Revokes every token issued to `client` until now: on this instance at once, on the
    /// others at their next poll, and for offline verifiers through the feed. It also covers
    /// tokens that other instances may issue while they still reuse the client record from
    /// before the change ([`REUSE_CLIENTS_FOR`]).
    pub async fn revoke_client(&self, client: &ClientId) -> Result<ClientRevocation, StoreError> {
        let at = self.clock.now();
        let mut revocation = ClientRevocation::covering(
            client.clone(),
            at,
            REUSE_CLIENTS_FOR.as_secs(),
            self.ttl.max.as_secs(),
        );
        // Tokens issued since an earlier revocation that still reaches past now are dated at
        // its cut-off: this one must reach past that, or it would not cover them.
        if let Some(held) = self.revocations.state().client_revocation(client) {
            if held.issued_before >= revocation.issued_before {
                let extra = held.issued_before.unix() + 1 - revocation.issued_before.unix();
                revocation.issued_before = revocation.issued_before.plus_secs(extra);
                revocation.expires_at = revocation.expires_at.plus_secs(extra);
            }
        }
        let _writing = self.revocations.state().writing(revocation.revoked_at);
        self.store.revoke_client(&revocation).await?;
        self.revocations
            .state()
            .apply([RevocationEntry::Client(revocation.clone())], at);
        Ok(revocation)
    }

    /// The revocation feed after `after` (from the start if `None`), oldest first, at most
    /// `limit`: every unexpired revocation, token ids and client-wide entries alike. An entry
    /// is handed out once it is [`FEED_SETTLE_MILLIS`] older than the last sync with the store,
    /// so entries appear in cursor order and resuming from a cursor misses none.
    pub async fn revocation_feed(
        &self,
        after: Option<&FeedCursor>,
        limit: usize,
    ) -> Result<Vec<RevocationEntry>, StoreError> {
        let state = self.fresh_revocations().await?;
        Ok(state.entries_after(after, feed_watermark(state), limit))
    }

    /// Verifies a bearer token: signature, expiry, revocation (token ids and client-wide
    /// entries, from the revocation state), `options` and every block's checks. A token
    /// verified before is judged from its cached claims: everything but the signature again.
    pub async fn verify(
        &self,
        bearer: &str,
        options: &VerifyOptions,
    ) -> Result<TokenClaims, VerifyFailure> {
        let now = self.clock.now();
        let key = VerificationCache::key(bearer);
        if let Some(claims) = self.verified.get(&key) {
            let revoked = self.fresh_revocations().await?.is_revoked(&claims);
            judge_claims(&claims, options, revoked, now)?;
            return Ok(TokenClaims::clone(&claims));
        }
        let keys = self.keys.load_full();
        let parsed = keys.verifier.parse(bearer, now)?;
        let revoked = self.fresh_revocations().await?.is_revoked(parsed.claims());
        // Cached only once judged without the request's options: a token that lacks this
        // audience or scope is still a good token for the next question.
        let claims = parsed.judge(&VerifyOptions::default(), revoked)?;
        judge_claims(&claims, options, false, now)?;
        self.verified.insert(key, bearer, Arc::new(claims.clone()));
        if !Arc::ptr_eq(&keys, &*self.keys.load()) {
            // The keys changed while this token was checked: the clear may have run first.
            self.verified.remove(&key);
        }
        Ok(claims)
    }
}

/// The newest revocation time the feed may hand out: [`FEED_SETTLE_MILLIS`] before the state
/// was last synced, and before the oldest revocation this instance is still writing (its
/// write may land after a later-stamped one's, which the feed must not hand out first).
pub fn feed_watermark(state: &RevocationState) -> crate::domain::Timestamp {
    let settled = state
        .synced_at()
        .map_or(crate::domain::Timestamp::default(), |at| {
            at.minus_millis(FEED_SETTLE_MILLIS)
        });
    match state.oldest_writing() {
        Some(oldest) => settled.min(oldest.minus_millis(1)),
        None => settled,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn the_feed_waits_for_revocations_still_being_written() {
        let state = RevocationState::new();
        let t = Timestamp::from_unix_millis(1_800_000_000_000);
        state.mark_synced(t.plus_millis(1_000));
        let settled = t.plus_millis(1_000 - FEED_SETTLE_MILLIS);
        assert_eq!(feed_watermark(&state), settled);
        let first = state.writing(t);
        let second = state.writing(t);
        assert_eq!(
            feed_watermark(&state),
            t.minus_millis(1),
            "held below the write"
        );
        drop(first);
        assert_eq!(
            feed_watermark(&state),
            t.minus_millis(1),
            "until both are written"
        );
        drop(second);
        assert_eq!(feed_watermark(&state), settled);
    }
}
