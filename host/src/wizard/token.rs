//! Signed wizard tokens: progress (which step is unlocked, since when) and completion.

use super::TOKEN_TTL_MS;
use crate::crypto::{Crypto, MacPurpose};
use crate::db::wizards::Wizard;
use crate::error::{Error, ErrorCode, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Longest token accepted (anything longer is refused before decoding).
const MAX_TOKEN_LEN: usize = 1024;

/// What a token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The steps before `step` are done; `step` may be sent.
    Progress,
    /// Every step is done.
    Complete,
}

/// The signed content of a wizard token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Progress or completion.
    pub kind: TokenKind,
    /// The invitation the wizard is walked through for.
    pub invitation: i64,
    /// The wizard.
    pub wizard: i64,
    /// The wizard's version when the token was issued.
    pub version: i64,
    /// Progress: the 0-based position of the step this token unlocks. Completion: the number
    /// of steps.
    pub step: i64,
    /// Server time of issue (ms since the epoch): when step `step` became available.
    pub issued_ms: i64,
    /// Server time of expiry (ms since the epoch).
    pub expires_ms: i64,
}

impl Claims {
    /// Claims issued now for `wizard` of `invitation`.
    pub fn new(
        kind: TokenKind,
        invitation: i64,
        wizard: &Wizard,
        step: i64,
        now_ms: i64,
    ) -> Claims {
        Claims {
            kind,
            invitation,
            wizard: wizard.id,
            version: wizard.version,
            step,
            issued_ms: now_ms,
            expires_ms: now_ms + TOKEN_TTL_MS,
        }
    }
}

/// Sign claims into a token.
pub fn sign(crypto: &Crypto, claims: &Claims) -> String {
    // Serialising plain integers and enums cannot fail.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let tag = crypto.mac(MacPurpose::WizardToken, payload.as_bytes());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Check a token's signature and expiry and return its claims. Every failure is the same
/// `WIZARD_TOKEN_INVALID`, so a forger learns nothing from the answer.
pub fn verify(crypto: &Crypto, token: &str, now_ms: i64) -> Result<Claims> {
    let invalid = || {
        Error::new(
            ErrorCode::WizardTokenInvalid,
            "the wizard token is not valid or has expired; start the wizard again",
        )
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid());
    }
    let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    if !crypto.verify_mac(MacPurpose::WizardToken, payload.as_bytes(), &tag) {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if claims.expires_ms <= now_ms {
        return Err(invalid());
    }
    Ok(claims)
}

/// Current server time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(super) fn mismatch(message: &str) -> Error {
    Error::new(ErrorCode::WizardTokenInvalid, message)
}

/// Check a token for one step of `wizard` on `invitation`: genuine, unexpired, for this
/// invitation, wizard and version, and unlocking exactly `position`.
pub fn check_step_token(
    crypto: &Crypto,
    token: &str,
    invitation: i64,
    wizard: &Wizard,
    position: i64,
    now_ms: i64,
) -> Result<Claims> {
    let claims = verify(crypto, token, now_ms)?;
    if claims.invitation != invitation || claims.wizard != wizard.id {
        return Err(mismatch(
            "the wizard token belongs to another invitation or wizard",
        ));
    }
    if claims.version != wizard.version {
        return Err(mismatch(
            "the wizard was changed since this token was issued; start it again",
        ));
    }
    if claims.kind != TokenKind::Progress || claims.step != position {
        let message = match claims.kind {
            TokenKind::Complete => "the wizard is already complete".to_owned(),
            TokenKind::Progress if claims.step < position => {
                format!("complete step {} first", claims.step + 1)
            }
            TokenKind::Progress => format!("step {} is already done", position + 1),
        };
        return Err(Error::new(ErrorCode::WizardStepOutOfOrder, message));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn wizard(version: i64) -> Wizard {
        Wizard {
            id: 7,
            name: "w".into(),
            description: None,
            enabled: true,
            version,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn code(r: Result<Claims>) -> ErrorCode {
        r.err().map_or(ErrorCode::Internal, |e| e.code())
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering_expiry_and_other_keys() {
        let c = Crypto::new(KEY);
        let now = 1_700_000_000_000;
        let claims = Claims::new(TokenKind::Progress, 3, &wizard(1), 0, now);
        let token = sign(&c, &claims);
        assert_eq!(verify(&c, &token, now + 1).unwrap(), claims);
        // Expired.
        assert_eq!(
            code(verify(&c, &token, now + TOKEN_TTL_MS)),
            ErrorCode::WizardTokenInvalid
        );
        // Another secret key.
        let other = Crypto::new("another-secret-key-of-sufficient-length");
        assert_eq!(
            code(verify(&other, &token, now)),
            ErrorCode::WizardTokenInvalid
        );
        // Changed claims with the old signature.
        let (_, tag) = token.split_once('.').unwrap();
        let forged_claims = Claims {
            step: 5,
            ..claims.clone()
        };
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap())
        );
        assert_eq!(
            code(verify(&c, &forged, now)),
            ErrorCode::WizardTokenInvalid
        );
        // Garbage of every shape.
        for bad in [
            "",
            ".",
            "abc",
            "a.b",
            &"x".repeat(5000),
            &format!("{token}x"),
        ] {
            assert_eq!(code(verify(&c, bad, now)), ErrorCode::WizardTokenInvalid);
        }
    }

    #[test]
    fn step_tokens_are_bound_to_invitation_wizard_version_and_position() {
        let c = Crypto::new(KEY);
        let now = 1_700_000_000_000;
        let w = wizard(2);
        let token = sign(&c, &Claims::new(TokenKind::Progress, 3, &w, 1, now));
        assert!(check_step_token(&c, &token, 3, &w, 1, now).is_ok());
        assert_eq!(
            code(check_step_token(&c, &token, 4, &w, 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &wizard(3), 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        let other_wizard = Wizard { id: 8, ..w.clone() };
        assert_eq!(
            code(check_step_token(&c, &token, 3, &other_wizard, 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &w, 2, now)),
            ErrorCode::WizardStepOutOfOrder
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &w, 0, now)),
            ErrorCode::WizardStepOutOfOrder
        );
        let done = sign(&c, &Claims::new(TokenKind::Complete, 3, &w, 2, now));
        assert_eq!(
            code(check_step_token(&c, &done, 3, &w, 2, now)),
            ErrorCode::WizardStepOutOfOrder
        );
    }
}
