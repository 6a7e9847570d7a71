//! Admin usernames and passwords: validation rules and Argon2id hashing with the OWASP-recommended
//! parameters (m = 19 MiB, t = 2, p = 1). Hashing is CPU-heavy: callers run it on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password (bounds hashing cost).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Frequently used passwords of at least 12 characters, refused whatever their length. Checked
/// case-insensitively.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678910",
    "123456123456",
    "111111111111",
    "000000000000",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopasdfghjkl",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "q1w2e3r4t5y6",
    "zaq12wsxcde3",
    "password1234",
    "password12345",
    "password123456",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "password!234",
    "passwordpassword",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "administrator1",
    "admin1234567",
    "adminadmin12",
    "changeme1234",
    "changeme12345",
    "trustno1trustno1",
    "sunshine1234",
    "football1234",
    "baseball1234",
    "princess1234",
    "superman1234",
    "starwars1234",
    "dragon123456",
    "monkey123456",
    "master123456",
    "abcdefghijkl",
    "abcdef123456",
    "abc123abc123",
    "asdfghjkl123",
    "zxcvbnm12345",
    "aaaaaaaaaaaa",
    "mediaserver1",
    "jellyfin1234",
    "plexplexplex",
    "zondarr12345",
    "correcthorsebatterystaple",
];

/// Why a username or password was refused (safe to show; never contains the password).
pub type Rule = &'static str;

/// Usernames: 3–32 characters of letters, digits, `_`, `.`, `-`, starting with a letter or digit.
pub fn check_username(name: &str) -> Result<(), Rule> {
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err("must be 3 to 32 characters long");
    }
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err("must start with a letter or digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err("may contain only letters, digits, '_', '.' and '-'");
    }
    Ok(())
}

/// Passwords: 12–256 characters, not a common password, not the username.
pub fn check_password(password: &str, username: &str) -> Result<(), Rule> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_CHARS {
        return Err("must be at least 12 characters long");
    }
    if len > MAX_PASSWORD_CHARS {
        return Err("must be at most 256 characters long");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("is too common; choose another");
    }
    if lower == username.to_lowercase()
        || lower
            .chars()
            .collect::<std::collections::HashSet<_>>()
            .len()
            < 4
    {
        return Err("is too easy to guess; choose another");
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet, Argon2id: m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password into a PHC string.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

/// A PHC string no password matches (a random salt and a random digest) with exactly the
/// parameters of [`hash`], so that verifying against it costs what verifying against a real hash
/// costs. Built without running Argon2: computing a real hash here cost every start one Argon2
/// run (19 MiB, tens of milliseconds; docs/performance.md, "Cold start").
pub fn dummy_hash() -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let a = argon2();
    let params = a.params();
    let mut digest = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    rand::rng().fill_bytes(&mut digest);
    let output =
        argon2::password_hash::Output::new(&digest).map_err(|e| anyhow::anyhow!("digest: {e}"))?;
    Ok(format!(
        "${}$v={}$m={},t={},p={}${}${}",
        Algorithm::Argon2id.ident(),
        Version::V0x13 as u32,
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

/// Check a password against a PHC string; a malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_has_the_shape_and_cost_of_a_real_one_and_matches_nothing() {
        let dummy = dummy_hash().unwrap();
        let real = hash("correct-violet-kettle-42").unwrap();
        let (d, r) = (
            PasswordHash::new(&dummy).unwrap(),
            PasswordHash::new(&real).unwrap(),
        );
        assert_eq!(d.algorithm, r.algorithm);
        assert_eq!(d.version, r.version);
        assert_eq!(d.params, r.params);
        assert_eq!(d.hash.map(|h| h.len()), r.hash.map(|h| h.len()));
        assert_eq!(d.salt.map(|s| s.len()), r.salt.map(|s| s.len()));
        // Parsed and verified (Argon2 runs), never matching.
        assert!(!verify("correct-violet-kettle-42", &dummy));
        assert!(!verify("", &dummy));
        assert_ne!(dummy, dummy_hash().unwrap(), "random each time");
    }

    #[test]
    fn hash_and_verify() {
        let h = hash("a long enough passphrase").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("a long enough passphrase", &h));
        assert!(!verify("a long enough passphrasE", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn password_rules() {
        assert!(check_password("short", "alice").is_err());
        assert!(
            check_password("Password1234", "alice").is_err(),
            "common, case-insensitive"
        );
        assert!(check_password("aaaaaaaaaaaaaaaa", "alice").is_err());
        assert!(check_password("alicealice12", "alicealice12").is_err());
        assert!(check_password(&"x".repeat(300), "alice").is_err());
        assert!(check_password("violet-kettle-orbit", "alice").is_ok());
    }

    #[test]
    fn username_rules() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("a.b-c_9").is_ok());
        assert!(check_username("ab").is_err());
        assert!(check_username("_alice").is_err());
        assert!(check_username("al ice").is_err());
        assert!(check_username("ålice").is_err());
    }
}
