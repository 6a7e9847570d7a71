//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s) and single-use backup codes.
//!
//! A code is accepted for the current step and one step either side, and only when its step is
//! later than the last accepted one: a code cannot be replayed inside its window.

use crate::crypto::{constant_time_eq, token_hash};
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

/// Step length in seconds.
pub const STEP: u64 = 30;
/// Number of backup codes issued at a time.
pub const BACKUP_CODES: usize = 10;

/// A fresh random 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

fn totp(secret: &[u8], account: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some("Zondarr".into()),
        account.to_owned(),
    )
    .map_err(|e| anyhow::anyhow!("TOTP setup failed: {e}"))
}

/// The base32 form of a secret, for manual entry.
pub fn base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// The `otpauth://` URI authenticator apps scan.
pub fn otpauth_uri(secret: &[u8], account: &str) -> anyhow::Result<String> {
    Ok(totp(secret, account)?.get_url())
}

/// The URI as a QR code in SVG.
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| anyhow::anyhow!("QR: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// The code for a given Unix time (tests and the verifier).
pub fn code_at(secret: &[u8], unix: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "x")?.generate(unix))
}

/// If `code` is valid at `now` and newer than `last_step`, the step it belongs to.
pub fn verify(secret: &[u8], code: &str, now: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = (now / STEP) as i64;
    let mut matched = None;
    // Check every candidate (no early exit) so timing does not reveal which step matched.
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = code_at(secret, step as u64 * STEP).ok()?;
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    matched.filter(|step| last_step.is_none_or(|last| *step > last))
}

/// Ten new backup codes in the form `xxxxx-xxxxx` (lower-case letters and digits without
/// look-alikes), with their hashes for storage.
pub fn new_backup_codes() -> Vec<(String, Vec<u8>)> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..BACKUP_CODES)
        .map(|_| {
            let mut code = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    code.push('-');
                }
                code.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
            }
            let hash = token_hash(&normalize_backup_code(&code));
            (code, hash)
        })
        .collect()
}

/// Backup codes are compared without dashes, spaces or case.
pub fn normalize_backup_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 → 94287082 (8 digits);
        // with 6 digits the code is its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(code_at(secret, 1_111_111_109).unwrap(), "081804");
    }

    #[test]
    fn window_and_replay() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(step, (now / STEP) as i64);
        assert_eq!(
            verify(&secret, &code, now, Some(step)),
            None,
            "replay refused"
        );
        let prev = code_at(&secret, now - STEP).unwrap();
        assert!(
            verify(&secret, &prev, now, None).is_some(),
            "one step of skew accepted"
        );
        let old = code_at(&secret, now - 3 * STEP).unwrap();
        assert_eq!(verify(&secret, &old, now, None), None);
        assert_eq!(verify(&secret, "12345", now, None), None);
    }

    #[test]
    fn qr_and_uri() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/Zondarr:alice?"), "{uri}");
        assert!(uri.contains(&base32(&secret)));
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }

    #[test]
    fn backup_codes_are_distinct_and_normalised() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().map(|c| c.0.clone()).collect();
        assert_eq!(set.len(), 10);
        let (code, hash) = &codes[0];
        assert_eq!(
            token_hash(&normalize_backup_code(
                &code.to_uppercase().replace('-', " ")
            )),
            *hash
        );
    }
}
