//! Private keys sealed at rest, for key stores (`TOKENER_KEY_ENCRYPTION_SECRET`).
//!
//! XChaCha20-Poly1305 under a key derived from the secret with HKDF-SHA256; a fresh random
//! 24-byte nonce per sealing, so a secret may seal any number of keys. The key id and public
//! key are the associated data: a sealed key moved onto another record, or a record whose
//! public key was changed, fails to open like a wrong secret does. Several secrets may be
//! given, so the secret itself can rotate: the first seals, any of them opens.

use super::{KeyError, SigningKey};
use crate::domain::KeyId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// The fewest characters a secret may have.
pub const MIN_SECRET_CHARS: usize = 32;

/// Marks the format of a sealed key, so a later one can be told apart.
const FORMAT: &str = "xchacha20poly1305.v1.";
/// Domain separation of the derived key: the same secret used elsewhere derives another key.
const HKDF_SALT: &[u8] = b"tokener/key-encryption/v1";
const HKDF_INFO: &[u8] = b"signing keys at rest";
const NONCE_LEN: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("no key encryption secret given")]
    NoSecret,
    #[error(
        "key encryption secret number {position} is too short: at least {MIN_SECRET_CHARS} \
         characters"
    )]
    ShortSecret { position: usize },
    #[error(
        "the private key of key {id} does not open with any key encryption secret given: the \
         secret is wrong, or the stored key was altered"
    )]
    DoesNotOpen { id: u32 },
}

/// Seals and opens private keys.
#[derive(Clone)]
pub struct KeySealer {
    /// One cipher per secret, in the order given.
    ciphers: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySealer({} secrets)", self.ciphers.len())
    }
}

impl KeySealer {
    /// From the secrets, first to seal with; each at least [`MIN_SECRET_CHARS`] characters.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Result<Self, SealError> {
        let mut ciphers = Vec::new();
        for (index, secret) in secrets.into_iter().enumerate() {
            if secret.chars().count() < MIN_SECRET_CHARS {
                return Err(SealError::ShortSecret {
                    position: index + 1,
                });
            }
            ciphers.push(cipher(secret.as_bytes()));
        }
        if ciphers.is_empty() {
            return Err(SealError::NoSecret);
        }
        Ok(Self { ciphers })
    }

    /// Under a random secret that lives in this process only (the embedded mode).
    pub fn ephemeral() -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(secret.as_mut());
        Self {
            ciphers: vec![cipher(secret.as_ref())],
        }
    }

    /// The private key of `key`, sealed under the first secret.
    pub fn seal(&self, key: &SigningKey) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let private = Zeroizing::new(key.private_prefixed());
        let aad = associated_data(key.id(), &key.public().to_string());
        let sealed = self.ciphers[0]
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: private.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            // Encryption fails only for messages of gigabytes.
            .expect("a private key is far below the cipher's message limit");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{FORMAT}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens the sealed private key of key `id`, published as `public` (`ed25519/<hex>`).
    /// Returns the key and the position of the secret that opened it (0: the first).
    pub fn open(
        &self,
        id: KeyId,
        public: &str,
        sealed: &str,
    ) -> Result<(SigningKey, usize), SealError> {
        let fail = || SealError::DoesNotOpen { id: id.0 };
        let bytes = sealed
            .strip_prefix(FORMAT)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(fail)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let aad = associated_data(id, public);
        for (position, cipher) in self.ciphers.iter().enumerate() {
            let Ok(private) = cipher.decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            ) else {
                continue;
            };
            let private = Zeroizing::new(private);
            let text = std::str::from_utf8(&private).map_err(|_| fail())?;
            let key = SigningKey::from_prefixed(id, text).map_err(|_: KeyError| fail())?;
            // The associated data already binds the public key; this also catches a record
            // sealed by a faulty writer.
            if key.public().to_string() != public {
                return Err(fail());
            }
            return Ok((key, position));
        }
        Err(fail())
    }
}

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(HKDF_SALT), secret)
        .expand(HKDF_INFO, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    XChaCha20Poly1305::new(key.as_ref().into())
}

fn associated_data(id: KeyId, public: &str) -> String {
    format!("tokener signing key {id} {public}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "an encryption secret of at least 32 chars";
    const OTHER: &str = "another encryption secret, 32 chars or more";

    #[test]
    fn a_sealed_key_opens_with_its_secret_only() {
        let key = SigningKey::generate(KeyId(3));
        let public = key.public().to_string();
        let sealed = KeySealer::new([SECRET]).unwrap().seal(&key);
        assert!(!sealed.contains(&key.private_prefixed()["ed25519-private/".len()..]));

        let (opened, position) = KeySealer::new([OTHER, SECRET])
            .unwrap()
            .open(KeyId(3), &public, &sealed)
            .unwrap();
        assert_eq!((opened.public(), position), (key.public(), 1));
        assert_eq!(
            KeySealer::new([OTHER])
                .unwrap()
                .open(KeyId(3), &public, &sealed)
                .unwrap_err(),
            SealError::DoesNotOpen { id: 3 }
        );
    }

    #[test]
    fn an_altered_record_does_not_open() {
        let sealer = KeySealer::new([SECRET]).unwrap();
        let key = SigningKey::generate(KeyId(3));
        let public = key.public().to_string();
        let sealed = sealer.seal(&key);
        // Moved onto another id, or given another public key.
        assert!(sealer.open(KeyId(4), &public, &sealed).is_err());
        let stranger = SigningKey::generate(KeyId(3)).public().to_string();
        assert!(sealer.open(KeyId(3), &stranger, &sealed).is_err());
        // One character of the ciphertext changed.
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 5;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert!(sealer.open(KeyId(3), &public, &flipped).is_err());
        assert!(sealer.open(KeyId(3), &public, "garbage").is_err());
        assert!(sealer.open(KeyId(3), &public, &sealed).is_ok());
    }

    #[test]
    fn short_or_missing_secrets_are_refused() {
        assert_eq!(
            KeySealer::new([SECRET, "short"]).unwrap_err(),
            SealError::ShortSecret { position: 2 }
        );
        assert_eq!(KeySealer::new([]).unwrap_err(), SealError::NoSecret);
    }
}
