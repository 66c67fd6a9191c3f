//! Biscuit tokens: keys, minting, verification.

mod keys;
mod mint;
mod verify;

pub use keys::{parse_public_key, KeyError, KeyRing, KeyStatus, PublicKeySet, SigningKey};
pub use mint::{mint, MintError, MintInput, Minted};
pub use verify::{ParsedToken, Verifier, VerifyError, VerifyOptions, MAX_BEARER_LEN};
