//! JWT access tokens (RFC 9068), for resource servers and gateways that verify JOSE natively.
//!
//! A JWT is signed with ES256 by a P-256 key that belongs to a ring key: derived from that
//! key's Ed25519 private key (HKDF-SHA256, domain-separated), so it shares the key's id, its
//! lifecycle (`next`, active, retired, withdrawn), its key file entry and its sealed record in
//! a key store. Rotation is one procedure for both formats, and no key file changes shape.
//!
//! ```text
//! header  {"alg":"ES256","typ":"at+jwt","kid":"1"}
//! claims  {"iss":"https://tokener.internal","sub":"billing","client_id":"billing",
//!          "aud":["orders"],"exp":1800003600,"iat":1800000000,
//!          "jti":"<the token id: 128 hex>","scope":"orders:read orders:write"}
//! ```
//!
//! The token id (`jti`) is random: a JWT has no revocation id of its own. Records, revocation,
//! the feed and introspection treat it as any token id.

mod claims;
mod key;
mod mint;
mod verify;

pub use key::{Jwk, JwtPublicKey, JwtSigningKey, JWT_ALGORITHM};
pub use mint::mint_jwt;
pub use verify::{is_jwt, verify_jwt};

/// The `typ` header of an access token JWT (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
