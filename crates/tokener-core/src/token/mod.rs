//! Access tokens, Biscuit or JWT: keys, minting, verification.

mod cache;
pub mod jwt;
mod keys;
mod mint;
mod verify;

pub use cache::{CacheKey, VerificationCache};
pub use jwt::{mint_jwt, Jwk, JwtPublicKey};
pub use keys::sealing::{KeySealer, SealError, MIN_SECRET_CHARS};
pub use keys::{
    parse_public_key, KeyError, KeyLifecycle, KeyRing, KeyStatus, PublicKeySet, SigningKey,
};
pub use mint::{mint, MintError, MintInput, Minted};
pub use verify::{judge_claims, ParsedToken, Verifier, VerifyError, VerifyOptions, MAX_BEARER_LEN};
