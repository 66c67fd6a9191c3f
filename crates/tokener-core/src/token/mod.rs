//! Biscuit tokens: keys, minting, verification.

mod keys;
mod mint;
mod verify;

pub use keys::sealing::{KeySealer, SealError, MIN_SECRET_CHARS};
pub use keys::{
    parse_public_key, KeyError, KeyLifecycle, KeyRing, KeyStatus, PublicKeySet, SigningKey,
};
pub use mint::{mint, MintError, MintInput, Minted};
pub use verify::{ParsedToken, Verifier, VerifyError, VerifyOptions, MAX_BEARER_LEN};
