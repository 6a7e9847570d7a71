//! The signed-in admin's own account as rules: the step-up for sensitive changes (the current
//! password, or a fresh sign-in for an admin without one), password change (other sessions and
//! every API key revoked), TOTP enrolment (a pending secret confirmed by a first code, then
//! backup codes shown once), turning TOTP off and replacing the backup codes (each proven with
//! the password, and a code where it matters), every change audited.
//!
//! The JSON API (`http::auth`) calls these; nothing here knows axum or JSON bodies.

use super::sign_in::{
    consume_second_factor, count_failure, hash_blocking, load_admin, verify_blocking,
};
use super::{Admin, check_locked, password, totp};
use crate::crypto::Purpose;
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use chrono::Utc;
use serde_json::json;

/// How recent a sign-in must be to stand in for the password, for an admin who has none (signed
/// in through a media server).
pub const STEP_UP_FRESH_MINUTES: i64 = 5;

fn step_up_refused(field: &str, rule: &str, message: &str) -> Error {
    Error::Client {
        code: ErrorCode::StepUpRequired,
        message: message.to_owned(),
        fields: vec![FieldError::new(field, rule)],
        retry_after: None,
    }
}

/// Step-up for sensitive changes (TOTP, password, API keys): the admin's current password, sent
/// in the request as `field`. Wrong passwords count toward the lockout of this account and
/// address, like sign-in failures, so a stolen session or key cannot be used to guess it. An
/// admin without a Zondarr password (signed in through a media server) needs a session opened
/// within the last [`STEP_UP_FRESH_MINUTES`] minutes instead. `STEP_UP_REQUIRED` otherwise.
/// Returns the admin's row.
pub async fn step_up(
    state: &AppState,
    admin: &Admin,
    field: &'static str,
    given: Option<String>,
) -> Result<db::auth::Admin> {
    let row = load_admin(state, admin.id).await?;
    if !row.password_hash.starts_with("$argon2") {
        let (admin_id, session) = (admin.id, admin.session_id());
        let sessions = state
            .db()
            .run(move |c| Ok(db::auth::sessions_of(c, admin_id)?))
            .await?;
        let fresh = sessions
            .iter()
            .find(|s| Some(s.id) == session)
            .and_then(|s| db::time::parse(&s.created_at))
            .is_some_and(|at| Utc::now() - at < chrono::Duration::minutes(STEP_UP_FRESH_MINUTES));
        return if fresh {
            Ok(row)
        } else {
            Err(step_up_refused(
                field,
                "is not available for this account",
                "this change needs a fresh sign-in: sign in through the media server again and \
                 repeat it within 5 minutes",
            ))
        };
    }
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Err(step_up_refused(
            field,
            "is required",
            "this change needs the current password",
        ));
    };
    let lock = super::lock_key(&row.username, admin.ip.as_deref());
    let lookup = lock.clone();
    let failures = state
        .db()
        .run(move |c| Ok(db::auth::failures(c, &lookup)?))
        .await?;
    check_locked(&failures)?;
    if given.len() > 1024 || !verify_blocking(state, given, row.password_hash.clone()).await? {
        let locked = count_failure(state, lock).await?;
        tracing::warn!(
            username = %row.username,
            ip = admin.ip.as_deref().unwrap_or("unknown"),
            locked,
            "step-up failed: wrong current password"
        );
        admin
            .audit(
                state.db(),
                "auth.step_up",
                Some(format!("admin:{}", row.id)),
                Outcome::Failure,
                Some(json!({ "locked": locked })),
            )
            .await?;
        return Err(step_up_refused(
            field,
            "is wrong",
            "the current password is wrong",
        ));
    }
    Ok(row)
}

/// What a password change revoked.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChanged {
    /// Other sessions of the admin that were signed out.
    pub sessions_revoked: usize,
    /// API keys of the admin that were revoked (all of them).
    pub api_keys_revoked: usize,
}

/// Change the admin's password, proven with the current one ([`step_up`]). Every other session
/// of theirs ends and all their API keys are revoked (the one making the request too): they were
/// issued under the old password.
pub async fn change_password(
    state: &AppState,
    admin: &Admin,
    current: Option<String>,
    new: String,
) -> Result<PasswordChanged> {
    let row = step_up(state, admin, "current_password", current).await?;
    if let Err(rule) = password::check_password(&new, &row.username) {
        return Err(Error::invalid(vec![FieldError::new("new_password", rule)]));
    }
    let hash = hash_blocking(state, new).await?;
    let (admin_id, keep) = (admin.id, admin.session_id());
    let (revoked, keys) = state
        .db()
        .write(move |tx| {
            db::auth::set_password(tx, admin_id, &hash)?;
            Ok((
                db::auth::delete_other_sessions(tx, admin_id, keep)?,
                db::auth::revoke_api_keys_of(tx, admin_id)?,
            ))
        })
        .await?;
    state.security().credentials_revoked();
    admin
        .audit(
            state.db(),
            "auth.password_change",
            Some(format!("admin:{admin_id}")),
            Outcome::Success,
            Some(json!({ "sessions_revoked": revoked, "api_keys_revoked": keys })),
        )
        .await?;
    Ok(PasswordChanged {
        sessions_revoked: revoked,
        api_keys_revoked: keys,
    })
}

/// A new TOTP secret to enrol.
#[derive(Debug, Clone)]
pub struct NewTotp {
    /// The secret, base32.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// Its QR code as SVG.
    pub qr_svg: String,
}

/// Start enabling TOTP, proven with the current password ([`step_up`]): a pending secret,
/// effective with [`totp_confirm`]. `CONFLICT` when TOTP is already on.
pub async fn totp_setup(
    state: &AppState,
    admin: &Admin,
    current_password: Option<String>,
) -> Result<NewTotp> {
    let row = step_up(state, admin, "current_password", current_password).await?;
    if row.totp_secret.is_some() {
        return Err(Error::new(
            ErrorCode::Conflict,
            "TOTP is already enabled; disable it first",
        ));
    }
    let secret = totp::new_secret();
    let sealed =
        state
            .security()
            .crypto
            .seal(Purpose::TotpSecret, &format!("admin:{}", admin.id), &secret);
    let id = admin.id;
    state
        .db()
        .write(move |tx| Ok(db::auth::set_totp_pending(tx, id, Some(&sealed))?))
        .await?;
    let uri = totp::otpauth_uri(&secret, &row.username).map_err(Error::Internal)?;
    let svg = totp::qr_svg(&uri).map_err(Error::Internal)?;
    admin
        .audit(
            state.db(),
            "auth.totp_setup",
            Some(format!("admin:{id}")),
            Outcome::Success,
            None,
        )
        .await?;
    Ok(NewTotp {
        secret: totp::base32(&secret),
        otpauth_uri: uri,
        qr_svg: svg,
    })
}

/// The pending enrolment again (its QR code), for a page that shows it once more after a wrong
/// first code. Only when `secret` (base32, as that page had it) is the pending secret, so it
/// reveals nothing the caller did not hold already; `None` otherwise.
pub async fn pending_totp(
    state: &AppState,
    admin: &Admin,
    secret: &str,
) -> Result<Option<NewTotp>> {
    let row = load_admin(state, admin.id).await?;
    let Some(sealed) = row.totp_pending else {
        return Ok(None);
    };
    let Ok(pending) =
        state
            .security()
            .crypto
            .open(Purpose::TotpSecret, &format!("admin:{}", admin.id), &sealed)
    else {
        return Ok(None);
    };
    let encoded = totp::base32(&pending);
    let given: String = secret
        .split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase();
    if !crate::crypto::constant_time_eq(given.as_bytes(), encoded.as_bytes()) {
        return Ok(None);
    }
    let uri = totp::otpauth_uri(&pending, &row.username).map_err(Error::Internal)?;
    let svg = totp::qr_svg(&uri).map_err(Error::Internal)?;
    Ok(Some(NewTotp {
        secret: encoded,
        otpauth_uri: uri,
        qr_svg: svg,
    }))
}

/// Confirm the pending TOTP secret with a first code: TOTP is on, and the backup codes are
/// answered (to show once).
pub async fn totp_confirm(state: &AppState, admin: &Admin, code: &str) -> Result<Vec<String>> {
    let row = load_admin(state, admin.id).await?;
    let binding = format!("admin:{}", admin.id);
    let sealed = row.totp_pending.ok_or_else(|| {
        Error::new(
            ErrorCode::Conflict,
            "start with POST /api/v1/auth/totp/setup",
        )
    })?;
    let secret = state
        .security()
        .crypto
        .open(Purpose::TotpSecret, &binding, &sealed)
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!("cannot open the pending TOTP secret: {e}"))
        })?;
    let now = Utc::now().timestamp().max(0) as u64;
    let Some(step) = totp::verify(&secret, code, now, None) else {
        admin
            .audit(
                state.db(),
                "auth.totp_enable",
                Some(binding),
                Outcome::Failure,
                None,
            )
            .await?;
        return Err(Error::invalid(vec![FieldError::new(
            "code",
            "does not match; check the device clock and try the next code",
        )]));
    };
    let codes = totp::new_backup_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|(_, h)| h.clone()).collect();
    let id = admin.id;
    state
        .db()
        .write(move |tx| {
            db::auth::enable_totp(tx, id, &sealed, step)?;
            db::auth::replace_backup_codes(tx, id, &hashes)?;
            Ok(())
        })
        .await?;
    admin
        .audit(
            state.db(),
            "auth.totp_enable",
            Some(binding),
            Outcome::Success,
            None,
        )
        .await?;
    Ok(codes.into_iter().map(|(c, _)| c).collect())
}

/// Turn TOTP off, proven with the password and a current code or an unused backup code.
pub async fn totp_disable(
    state: &AppState,
    admin: &Admin,
    password: Option<String>,
    code: &str,
) -> Result<()> {
    let row = load_admin(state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    let row = step_up(state, admin, "password", password).await?;
    let target = Some(format!("admin:{}", admin.id));
    if let Err(e) = consume_second_factor(state, &row, code).await {
        admin
            .audit(
                state.db(),
                "auth.totp_disable",
                target,
                Outcome::Failure,
                None,
            )
            .await?;
        return Err(e);
    }
    let id = admin.id;
    state
        .db()
        .write(move |tx| Ok(db::auth::disable_totp(tx, id)?))
        .await?;
    admin
        .audit(
            state.db(),
            "auth.totp_disable",
            target,
            Outcome::Success,
            None,
        )
        .await?;
    Ok(())
}

/// Replace the backup codes (proven with the password); answers the new ones, to show once.
pub async fn replace_backup_codes(
    state: &AppState,
    admin: &Admin,
    password: Option<String>,
) -> Result<Vec<String>> {
    let row = load_admin(state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    step_up(state, admin, "password", password).await?;
    let codes = totp::new_backup_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|(_, h)| h.clone()).collect();
    let id = admin.id;
    state
        .db()
        .write(move |tx| Ok(db::auth::replace_backup_codes(tx, id, &hashes)?))
        .await?;
    admin
        .audit(
            state.db(),
            "auth.backup_codes_regenerate",
            Some(format!("admin:{id}")),
            Outcome::Success,
            None,
        )
        .await?;
    Ok(codes.into_iter().map(|(c, _)| c).collect())
}
