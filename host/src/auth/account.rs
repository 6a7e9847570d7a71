//! The signed-in admin's own account as rules: password change (other sessions revoked), TOTP
//! enrolment (a pending secret confirmed by a first code, then backup codes shown once),
//! turning TOTP off and replacing the backup codes (each proven with the password, and a code
//! where it matters), every change audited.
//!
//! The JSON API (`http::auth`) calls these; nothing here knows axum or JSON bodies.

use super::sign_in::{check_current_password, consume_second_factor, hash_blocking, load_admin};
use super::{Admin, password, totp};
use crate::crypto::Purpose;
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use chrono::Utc;
use serde_json::json;

/// Change the admin's password (the current one proves it is them); every other session of
/// theirs ends. Answers how many sessions were revoked.
pub async fn change_password(
    state: &AppState,
    admin: &Admin,
    current: String,
    new: String,
) -> Result<usize> {
    let row = load_admin(state, admin.id).await?;
    check_current_password(state, &row, current).await?;
    if let Err(rule) = password::check_password(&new, &row.username) {
        return Err(Error::invalid(vec![FieldError::new("new_password", rule)]));
    }
    let hash = hash_blocking(state, new).await?;
    let (admin_id, keep) = (admin.id, admin.session_id());
    let revoked = state
        .db()
        .write(move |tx| {
            db::auth::set_password(tx, admin_id, &hash)?;
            Ok(db::auth::delete_other_sessions(tx, admin_id, keep)?)
        })
        .await?;
    admin
        .audit(
            state.db(),
            "auth.password_change",
            Some(format!("admin:{admin_id}")),
            Outcome::Success,
            Some(json!({ "sessions_revoked": revoked })),
        )
        .await?;
    Ok(revoked)
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

/// Start enabling TOTP: a pending secret, effective with [`totp_confirm`]. `CONFLICT` when
/// TOTP is already on.
pub async fn totp_setup(state: &AppState, admin: &Admin) -> Result<NewTotp> {
    let row = load_admin(state, admin.id).await?;
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
    password: String,
    code: &str,
) -> Result<()> {
    let row = load_admin(state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    check_current_password(state, &row, password).await?;
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
    password: String,
) -> Result<Vec<String>> {
    let row = load_admin(state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    check_current_password(state, &row, password).await?;
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
