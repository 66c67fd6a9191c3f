//! Minting: the authority block of a Tokener token.
//!
//! ```text
//! client("billing");
//! audience("orders");              // zero or more
//! scope("orders:read");            // zero or more
//! issued_at(2026-11-24T12:00:00Z);
//! expires_at(2026-11-25T12:00:00Z);
//! check if time($t), $t <= 2026-11-25T12:00:00Z;
//! ```
//!
//! Facts are built as values rather than parsed from Datalog text: the inputs are already
//! validated newtypes, and skipping the parser keeps minting close to the cost of the signature.

use super::keys::SigningKey;
use crate::domain::{
    Audience, ClientId, Fingerprint, KeyId, Scope, Timestamp, TokenClaims, TokenId,
};
use biscuit_auth::builder::{
    check, date, fact, pred, string, var, Binary, CheckKind, Expression, Op,
};
use biscuit_auth::Biscuit;
use std::collections::BTreeSet;

/// What to put in a token.
#[derive(Debug, Clone)]
pub struct MintInput {
    pub client_id: ClientId,
    pub audiences: BTreeSet<Audience>,
    pub scopes: BTreeSet<Scope>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl MintInput {
    /// The input with its times in whole seconds: tokens of both formats carry whole seconds,
    /// and so does the record, so both read the same.
    pub(crate) fn in_whole_seconds(mut self) -> Self {
        self.issued_at = self.issued_at.whole_seconds();
        self.expires_at = self.expires_at.whole_seconds();
        self
    }
}

/// A freshly signed token: the bearer string and its claims.
pub struct Minted {
    pub bearer: String,
    pub claims: TokenClaims,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, thiserror::Error)]
#[error("could not mint a token: {0}")]
pub struct MintError(String);

impl Minted {
    /// The token `bearer` signed by key `key_id` for `input` (already in whole seconds).
    pub(crate) fn new(bearer: String, token_id: TokenId, input: MintInput, key_id: KeyId) -> Self {
        Self {
            fingerprint: Fingerprint::of(&bearer),
            bearer,
            claims: TokenClaims {
                token_id,
                client_id: input.client_id,
                audiences: input.audiences,
                scopes: input.scopes,
                issued_at: input.issued_at,
                expires_at: input.expires_at,
                key_id,
            },
        }
    }
}

impl MintError {
    pub(crate) fn new(reason: &str) -> Self {
        Self(reason.to_string())
    }
}

/// Signs a token for `input` with `key`.
pub fn mint(key: &SigningKey, input: MintInput) -> Result<Minted, MintError> {
    let err = |e: biscuit_auth::error::Token| MintError(e.to_string());
    let input = input.in_whole_seconds();
    let expires = date(&input.expires_at.to_system_time());
    let mut builder = Biscuit::builder()
        .root_key_id(key.id().0)
        .fact(fact("client", &[string(input.client_id.as_str())]))
        .map_err(err)?;
    for audience in &input.audiences {
        builder = builder
            .fact(fact("audience", &[string(audience.as_str())]))
            .map_err(err)?;
    }
    for scope in &input.scopes {
        builder = builder
            .fact(fact("scope", &[string(scope.as_str())]))
            .map_err(err)?;
    }
    let mut expiry = check(&[pred("time", &[var("t")])], CheckKind::One);
    expiry.queries[0].expressions.push(Expression {
        ops: vec![
            Op::Value(var("t")),
            Op::Value(expires.clone()),
            Op::Binary(Binary::LessOrEqual),
        ],
    });
    let token = builder
        .fact(fact(
            "issued_at",
            &[date(&input.issued_at.to_system_time())],
        ))
        .map_err(err)?
        .fact(fact("expires_at", &[expires]))
        .map_err(err)?
        .check(expiry)
        .map_err(err)?
        // The next block's key pair comes from the thread's ChaCha-based CSPRNG (seeded and
        // periodically reseeded from the OS) rather than `build`'s default `OsRng`, which costs
        // a `getrandom` system call per token.
        .build_with_rng(
            key.keypair(),
            biscuit_auth::datalog::SymbolTable::new(),
            &mut rand::thread_rng(),
        )
        .map_err(err)?;
    let token_id = authority_id(&token).map_err(|e| MintError(e.to_string()))?;
    let bearer = token.to_base64().map_err(err)?;
    Ok(Minted::new(bearer, token_id, input, key.id()))
}

/// The token id: hex of the authority block's revocation id. Shared by every token derived
/// from this one by attenuation, so revoking it revokes them all.
pub(crate) fn authority_id(token: &Biscuit) -> Result<TokenId, crate::domain::NameError> {
    let ids = token.revocation_identifiers();
    TokenId::from_revocation_id(ids.first().map(Vec::as_slice).unwrap_or_default())
}
