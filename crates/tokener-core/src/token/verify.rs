//! Verification of Tokener tokens, Biscuit or JWT, online or offline: the one code path both
//! the service's introspection and embedding teams use.
//!
//! ```
//! use tokener_core::{KeyRing, Timestamp, Verifier, VerifyOptions};
//! use tokener_core::token::{mint, MintInput};
//!
//! let ring = KeyRing::generate();
//! let now = Timestamp::from_unix(1_800_000_000);
//! let minted = mint(ring.active(), MintInput {
//!     client_id: "billing".parse().unwrap(),
//!     audiences: ["orders".parse().unwrap()].into(),
//!     scopes: ["orders:read".parse().unwrap()].into(),
//!     issued_at: now,
//!     expires_at: now.plus_secs(3600),
//! }).unwrap();
//!
//! // A resource server only needs the public keys (from `GET /keys`).
//! let verifier = Verifier::new(ring.public_keys());
//! let options = VerifyOptions::default().audience("orders".parse().unwrap());
//! let claims = verifier.verify(&minted.bearer, now, &options).unwrap();
//! assert_eq!(claims.client_id.as_str(), "billing");
//! ```

use super::jwt::{is_jwt, verify_jwt};
use super::keys::PublicKeySet;
use super::mint::authority_id;
use crate::domain::{Audience, ClientId, KeyId, Scope, Timestamp, TokenClaims, TokenId};
use crate::services::RevocationState;
use biscuit_auth::builder::{date, fact, pred, rule, var, AuthorizerBuilder};
use biscuit_auth::error::{Format, Token as BiscuitError};
use biscuit_auth::{Authorizer, AuthorizerLimits, Biscuit};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

/// The longest bearer string accepted: far above any real token, far below a memory problem.
pub const MAX_BEARER_LEN: usize = 16 * 1024;

/// Why a token was not accepted. Deliberately coarse: details help attackers more than users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token is malformed")]
    Malformed,
    #[error("token was signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token has been revoked")]
    Revoked,
    #[error("token is not meant for this audience")]
    WrongAudience,
    #[error("token lacks a required scope")]
    MissingScope,
    #[error("token failed a check of one of its blocks")]
    CheckFailed,
}

/// What a verifier requires beyond a valid signature and a live token.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    audience: Option<Audience>,
    scopes: Vec<Scope>,
}

impl VerifyOptions {
    /// Require the token to name this audience.
    pub fn audience(mut self, audience: Audience) -> Self {
        self.audience = Some(audience);
        self
    }

    /// Require the token to grant this scope (may be called several times).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scopes.push(scope);
        self
    }
}

/// Checks tokens against a set of public keys and, optionally, a revocation set.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: PublicKeySet,
    revoked: HashSet<TokenId>,
}

impl Verifier {
    pub fn new(keys: PublicKeySet) -> Self {
        Self {
            keys,
            revoked: HashSet::new(),
        }
    }

    /// The keys whose signatures are accepted.
    pub fn keys(&self) -> &PublicKeySet {
        &self.keys
    }

    /// Token ids to reject (from `GET /revocations`).
    pub fn with_revoked(mut self, revoked: impl IntoIterator<Item = TokenId>) -> Self {
        self.revoked.extend(revoked);
        self
    }

    /// Verifies signature, expiry (at `now`), revocation, the checks of every block (including
    /// attenuation blocks appended by holders) and `options`; returns the authority claims.
    pub fn verify(
        &self,
        bearer: &str,
        now: Timestamp,
        options: &VerifyOptions,
    ) -> Result<TokenClaims, VerifyError> {
        self.verify_with(bearer, now, options, |id| self.revoked.contains(id))
    }

    /// As [`Verifier::verify`], with revocation decided by a [`RevocationState`]: token ids and
    /// client-wide entries (what `tokener-verify` and the server's introspection use).
    pub fn verify_against(
        &self,
        bearer: &str,
        now: Timestamp,
        options: &VerifyOptions,
        revocations: &RevocationState,
    ) -> Result<TokenClaims, VerifyError> {
        let parsed = self.parse(bearer, now)?;
        let revoked = revocations.is_revoked(&parsed.claims)
            || self.revoked.contains(&parsed.claims.token_id);
        parsed.judge(options, revoked)
    }

    /// As [`Verifier::verify`], with revocation decided by `is_revoked` (the service asks its
    /// store).
    pub fn verify_with(
        &self,
        bearer: &str,
        now: Timestamp,
        options: &VerifyOptions,
        is_revoked: impl FnOnce(&TokenId) -> bool,
    ) -> Result<TokenClaims, VerifyError> {
        let parsed = self.parse(bearer, now)?;
        let revoked = is_revoked(&parsed.claims.token_id);
        parsed.judge(options, revoked)
    }

    /// Checks the signature and reads the authority claims, without judging expiry, revocation
    /// or block checks (see [`ParsedToken::judge`], which judges them as of `now`).
    ///
    /// One authorizer serves both steps: building it decodes the token's blocks again, which
    /// costs about a tenth of a verification, so it is built once, with the time already in.
    pub fn parse(&self, bearer: &str, now: Timestamp) -> Result<ParsedToken, VerifyError> {
        if bearer.is_empty() || bearer.len() > MAX_BEARER_LEN {
            return Err(VerifyError::Malformed);
        }
        if is_jwt(bearer) {
            return Ok(ParsedToken {
                authorizer: None,
                claims: verify_jwt(&self.keys, bearer)?,
                now,
            });
        }
        let (token, key_id) = self.decode(bearer)?;
        let token_id = authority_id(&token).map_err(|_| VerifyError::Malformed)?;
        let mut authorizer = authorizer(&token, now.to_system_time())?;
        let claims = read_claims(&mut authorizer, token_id, key_id)?;
        Ok(ParsedToken {
            authorizer: Some(authorizer),
            claims,
            now,
        })
    }
}

impl Verifier {
    /// Decodes and checks the signature against the key the token names. A token that names
    /// none (some Biscuit libraries drop `root_key_id` when they attenuate) is tried against
    /// each published key; the ring is small, and only such tokens pay for it.
    fn decode(&self, bearer: &str) -> Result<(Biscuit, KeyId), VerifyError> {
        let named = std::cell::Cell::new(None);
        let found = Biscuit::from_base64(bearer, |id: Option<u32>| {
            named.set(id);
            id.and_then(|id| self.keys.get(KeyId(id)).copied())
                .ok_or(Format::UnknownPublicKey)
        });
        match (found, named.get()) {
            (Ok(token), Some(id)) => Ok((token, KeyId(id))),
            (Err(e), Some(_)) => Err(classify(e)),
            // No key id: try every key; a bad signature under all of them is a bad signature.
            (first, None) => {
                if let Err(e) = &first {
                    if !matches!(e, BiscuitError::Format(Format::UnknownPublicKey)) {
                        return Err(classify(e.clone()));
                    }
                }
                for (id, key) in self.keys.iter() {
                    if let Ok(token) = Biscuit::from_base64(bearer, *key) {
                        return Ok((token, id));
                    }
                }
                Err(VerifyError::BadSignature)
            }
        }
    }
}

/// A token whose signature is valid and whose claims were read, not yet judged.
pub struct ParsedToken {
    /// A Biscuit's blocks, whose checks are judged last; a JWT has none.
    authorizer: Option<Authorizer>,
    claims: TokenClaims,
    now: Timestamp,
}

impl ParsedToken {
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }

    /// Judges the token as of the time given to [`Verifier::parse`]: revocation (as decided by
    /// the caller), expiry, `options`, then every check of every block (attenuation blocks
    /// included).
    pub fn judge(
        mut self,
        options: &VerifyOptions,
        revoked: bool,
    ) -> Result<TokenClaims, VerifyError> {
        judge_claims(&self.claims, options, revoked, self.now)?;
        if let Some(authorizer) = &mut self.authorizer {
            authorizer.authorize().map_err(classify)?;
        }
        Ok(self.claims)
    }
}

/// Judges claims as of `now`: revocation (as decided by the caller), expiry, then `options`.
/// What [`ParsedToken::judge`] asks before the blocks' checks, and all a cache hit is asked
/// (a cached token has no block but the authority's, whose checks its claims already state).
pub fn judge_claims(
    claims: &TokenClaims,
    options: &VerifyOptions,
    revoked: bool,
    now: Timestamp,
) -> Result<(), VerifyError> {
    if revoked {
        return Err(VerifyError::Revoked);
    }
    if claims.expires_at < now {
        return Err(VerifyError::Expired);
    }
    if let Some(aud) = &options.audience {
        if !claims.audiences.contains(aud) {
            return Err(VerifyError::WrongAudience);
        }
    }
    if !options.scopes.iter().all(|s| claims.scopes.contains(s)) {
        return Err(VerifyError::MissingScope);
    }
    Ok(())
}

fn classify(e: BiscuitError) -> VerifyError {
    match e {
        BiscuitError::Format(Format::UnknownPublicKey) => VerifyError::UnknownKey,
        BiscuitError::Format(Format::Signature(_) | Format::SealedSignature) => {
            VerifyError::BadSignature
        }
        BiscuitError::FailedLogic(_) | BiscuitError::RunLimit(_) => VerifyError::CheckFailed,
        _ => VerifyError::Malformed,
    }
}

/// Limits on what the Datalog of a token (including attenuation blocks written by holders)
/// may cost us.
fn limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        // Generous on time: facts and iterations already bound the work an attenuation block
        // can cause, and a tight clock limit rejects valid tokens on an overloaded host.
        max_time: Duration::from_millis(50),
    }
}

fn authorizer(token: &Biscuit, now: SystemTime) -> Result<Authorizer, VerifyError> {
    AuthorizerBuilder::new()
        .set_limits(limits())
        .fact(fact("time", &[date(&now)]))
        .map_err(classify)?
        .policy("allow if client($c)")
        .map_err(classify)?
        .build(token)
        .map_err(classify)
}

/// Reads the authority block's facts. Queries see only authority and authorizer facts, so an
/// attenuation block cannot inject claims.
fn read_claims(
    authorizer: &mut Authorizer,
    token_id: TokenId,
    key_id: KeyId,
) -> Result<TokenClaims, VerifyError> {
    let one = |name: &str| rule("q", &[var("v")], &[pred(name, &[var("v")])]);
    let clients: Vec<(String,)> = authorizer.query(one("client")).map_err(classify)?;
    let audiences: Vec<(String,)> = authorizer.query(one("audience")).map_err(classify)?;
    let scopes: Vec<(String,)> = authorizer.query(one("scope")).map_err(classify)?;
    let issued: Vec<(SystemTime,)> = authorizer.query(one("issued_at")).map_err(classify)?;
    let expires: Vec<(SystemTime,)> = authorizer.query(one("expires_at")).map_err(classify)?;
    let single = |v: Vec<(SystemTime,)>| match v.as_slice() {
        [(t,)] => Ok(Timestamp::from_system_time(*t)),
        _ => Err(VerifyError::Malformed),
    };
    let client_id = match clients.as_slice() {
        [(c,)] => ClientId::parse(c.as_str()).map_err(|_| VerifyError::Malformed)?,
        _ => return Err(VerifyError::Malformed),
    };
    let audiences = audiences
        .into_iter()
        .map(|(a,)| Audience::parse(a))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|_| VerifyError::Malformed)?;
    let scopes = scopes
        .into_iter()
        .map(|(s,)| Scope::parse(s))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|_| VerifyError::Malformed)?;
    Ok(TokenClaims {
        token_id,
        client_id,
        audiences,
        scopes,
        issued_at: single(issued)?,
        expires_at: single(expires)?,
        key_id,
    })
}
