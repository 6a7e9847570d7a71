//! Secrets at rest: authenticated encryption (XChaCha20-Poly1305) with keys derived from the
//! daemon's secret key by HKDF-SHA256, one key per purpose label, plus hashing helpers for
//! tokens.
//!
//! Ciphertext layout: `version (1) | key fingerprint (4) | nonce (24) | ciphertext + tag`. The
//! fingerprint says which secret key sealed a value, so a rotation interrupted half-way can be
//! detected and finished instead of leaving unreadable data. The purpose label and an optional
//! record binding are authenticated as associated data, so a ciphertext copied into another
//! column or row does not decrypt.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 24;

/// What a sealed value is for; each purpose has its own derived key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An admin's TOTP secret.
    TotpSecret,
    /// A media server's credentials (API key, token).
    ServerCredential,
    /// An invitee's linked account (with its token) during the join flow.
    LinkedAccount,
}

impl Purpose {
    /// Every purpose (used by key rotation).
    pub const ALL: &'static [Purpose] = &[
        Purpose::TotpSecret,
        Purpose::ServerCredential,
        Purpose::LinkedAccount,
    ];

    fn label(self) -> &'static str {
        match self {
            Purpose::TotpSecret => "zondarr/v1/totp-secret",
            Purpose::ServerCredential => "zondarr/v1/server-credential",
            Purpose::LinkedAccount => "zondarr/v1/linked-account",
        }
    }
}

/// What a message authentication code is for; each purpose has its own derived key, distinct
/// from every sealing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacPurpose {
    /// Signed onboarding-wizard progress and completion tokens.
    WizardToken,
    /// CSRF tokens of the join pages, bound to the visitor's CSRF cookie.
    JoinForm,
    /// The join pages' receipt of a redemption (what was created), carried in the result URL.
    JoinReceipt,
    /// The one-time password a redemption creates a credential account with (the proof that an
    /// account this redemption may have made is its own; `host/src/redemption/journal.rs`).
    RedemptionVerifier,
}

impl MacPurpose {
    fn label(self) -> &'static str {
        match self {
            MacPurpose::WizardToken => "zondarr/v1/wizard-token",
            MacPurpose::JoinForm => "zondarr/v1/join-form",
            MacPurpose::JoinReceipt => "zondarr/v1/join-receipt",
            MacPurpose::RedemptionVerifier => "zondarr/v1/redemption-verifier",
        }
    }
}

/// Why a value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Too short or an unknown version.
    #[error("the sealed value is malformed")]
    Malformed,
    /// Sealed with another secret key.
    #[error("the value was sealed with a different secret key")]
    WrongKey,
    /// Authentication failed: tampered, or moved to another purpose or record.
    #[error("the sealed value failed authentication")]
    Tampered,
}

/// Keys derived from one secret key.
#[derive(Clone)]
pub struct Crypto {
    master: Vec<u8>,
    fingerprint: [u8; 4],
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crypto(fingerprint {})", hex::encode(self.fingerprint))
    }
}

impl Crypto {
    /// Derive from the daemon's secret key.
    pub fn new(secret_key: &str) -> Crypto {
        let master = secret_key.as_bytes().to_vec();
        let mut fingerprint = [0u8; 4];
        let hk = Hkdf::<Sha256>::new(Some(b"zondarr"), &master);
        // 4 bytes is far below the HKDF output limit, so expand cannot fail.
        let _ = hk.expand(b"zondarr/v1/fingerprint", &mut fingerprint);
        Crypto {
            master,
            fingerprint,
        }
    }

    /// Short public identifier of the key (not secret).
    pub fn fingerprint(&self) -> String {
        hex::encode(self.fingerprint)
    }

    fn cipher(&self, purpose: Purpose) -> XChaCha20Poly1305 {
        let hk = Hkdf::<Sha256>::new(Some(b"zondarr"), &self.master);
        let mut key = [0u8; 32];
        let _ = hk.expand(purpose.label().as_bytes(), &mut key);
        XChaCha20Poly1305::new(&key.into())
    }

    fn mac_key(&self, purpose: MacPurpose) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"zondarr"), &self.master);
        let mut key = [0u8; 32];
        let _ = hk.expand(purpose.label().as_bytes(), &mut key);
        key
    }

    /// HMAC-SHA256 of `message` with the key of `purpose`.
    pub fn mac(&self, purpose: MacPurpose, message: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        // HMAC takes keys of any length, so building it cannot fail.
        let Ok(mut mac) = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key(purpose))
        else {
            return [0u8; 32];
        };
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `message` for `purpose` (constant time).
    pub fn verify_mac(&self, purpose: MacPurpose, message: &[u8], tag: &[u8]) -> bool {
        constant_time_eq(&self.mac(purpose, message), tag)
    }

    fn aad(purpose: Purpose, binding: &str) -> Vec<u8> {
        let mut aad = purpose.label().as_bytes().to_vec();
        aad.push(0);
        aad.extend_from_slice(binding.as_bytes());
        aad
    }

    /// Encrypt `plaintext` for `purpose`, bound to `binding` (e.g. the row id; "" for none).
    pub fn seal(&self, purpose: Purpose, binding: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let aad = Self::aad(purpose, binding);
        let sealed = self
            .cipher(purpose)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Encryption only fails for inputs beyond the AEAD's size limit (~256 GiB).
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt a value sealed by [`Crypto::seal`] with the same purpose and binding.
    pub fn open(
        &self,
        purpose: Purpose,
        binding: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER + 16 || sealed[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        if sealed[1..5] != self.fingerprint {
            return Err(CryptoError::WrongKey);
        }
        let aad = Self::aad(purpose, binding);
        self.cipher(purpose)
            .decrypt(
                XNonce::from_slice(&sealed[5..HEADER]),
                Payload {
                    msg: &sealed[HEADER..],
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    /// The fingerprint stored in a sealed value, if it has the right shape.
    pub fn fingerprint_of(sealed: &[u8]) -> Option<String> {
        (sealed.len() >= HEADER && sealed[0] == VERSION).then(|| hex::encode(&sealed[1..5]))
    }
}

/// SHA-256 of a token, for storing tokens that only need to be recognised (sessions, API keys,
/// backup codes). Tokens carry at least 128 bits of randomness, so a fast hash is enough.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A random token: `bytes` random bytes in URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Constant-time equality of two byte strings.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_bindings() {
        let c = Crypto::new(KEY);
        let sealed = c.seal(Purpose::TotpSecret, "admin:1", b"JBSWY3DPEHPK3PXP");
        assert!(
            !sealed.windows(8).any(|w| w == b"JBSWY3DP"),
            "plaintext must not appear"
        );
        assert_eq!(
            c.open(Purpose::TotpSecret, "admin:1", &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            c.open(Purpose::TotpSecret, "admin:2", &sealed),
            Err(CryptoError::Tampered)
        );
        assert_eq!(
            c.open(Purpose::ServerCredential, "admin:1", &sealed),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn wrong_key_and_tampering_are_detected() {
        let c = Crypto::new(KEY);
        let other = Crypto::new("another-secret-key-of-sufficient-length");
        let mut sealed = c.seal(Purpose::ServerCredential, "", b"token");
        assert_eq!(
            other.open(Purpose::ServerCredential, "", &sealed),
            Err(CryptoError::WrongKey)
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            c.open(Purpose::ServerCredential, "", &sealed),
            Err(CryptoError::Tampered)
        );
        assert_eq!(
            c.open(Purpose::ServerCredential, "", b"short"),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn macs_depend_on_key_purpose_and_message() {
        let c = Crypto::new(KEY);
        let tag = c.mac(MacPurpose::WizardToken, b"message");
        assert!(c.verify_mac(MacPurpose::WizardToken, b"message", &tag));
        assert!(!c.verify_mac(MacPurpose::WizardToken, b"messagE", &tag));
        assert!(!c.verify_mac(MacPurpose::WizardToken, b"message", &tag[..31]));
        let other = Crypto::new("another-secret-key-of-sufficient-length");
        assert!(!other.verify_mac(MacPurpose::WizardToken, b"message", &tag));
        // Not the sealing key of any purpose.
        assert_ne!(c.mac_key(MacPurpose::WizardToken), {
            let hk = Hkdf::<Sha256>::new(Some(b"zondarr"), KEY.as_bytes());
            let mut k = [0u8; 32];
            hk.expand(Purpose::LinkedAccount.label().as_bytes(), &mut k)
                .unwrap();
            k
        });
    }

    #[test]
    fn nonces_differ() {
        let c = Crypto::new(KEY);
        assert_ne!(
            c.seal(Purpose::TotpSecret, "", b"x"),
            c.seal(Purpose::TotpSecret, "", b"x")
        );
        assert_eq!(
            Crypto::fingerprint_of(&c.seal(Purpose::TotpSecret, "", b"x")),
            Some(c.fingerprint())
        );
    }
}
