//! API keys and sessions as rules: create a key (name, scope, optional expiry; the admin's
//! step-up; an API key may not mint admin keys unless `security.api_keys_create_admin_keys`),
//! shown once and stored hashed; list; revoke (with the step-up). The admin's own sessions:
//! list, sign one out, sign out all others. Every change is audited and wakes long-lived
//! responses that depend on the revoked credential (the log stream).
//!
//! The JSON API (`http::api_keys`, `http::sessions`) and the account pages (`web::admin::account`)
//! call these; nothing here knows axum, JSON bodies or HTML.

use super::account::step_up;
use super::{Admin, Scope, Via, new_api_key};
use crate::db::{self, audit::Outcome, time};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use chrono::Utc;
use serde_json::json;

/// What a new key is to be.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// 1 to 64 characters (trimmed).
    pub name: String,
    /// `read` or `admin`.
    pub scope: String,
    /// Expiry (RFC 3339, in the future); `None` for none.
    pub expires_at: Option<String>,
    /// The admin's current password (the step-up).
    pub current_password: Option<String>,
}

/// A created key, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// Key id.
    pub id: i64,
    /// Public prefix, e.g. `zk_ab12cd34`.
    pub prefix: String,
    /// Name.
    pub name: String,
    /// Scope.
    pub scope: Scope,
    /// Expiry.
    pub expires_at: Option<String>,
    /// The full key for `Authorization: Bearer <key>`.
    pub key: String,
}

/// Create an API key. Field errors (`name`, `scope`, `expires_at`) first, then
/// `ADMIN_KEY_FROM_KEY` for an admin key asked by a key, then the step-up
/// (`STEP_UP_REQUIRED` on `current_password`).
pub async fn create(state: &AppState, admin: &Admin, new: NewKey) -> Result<CreatedKey> {
    let mut fields = Vec::new();
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        fields.push(FieldError::new("name", "must be 1 to 64 characters"));
    }
    let scope = Scope::parse(&new.scope);
    if scope.is_none() {
        fields.push(FieldError::new("scope", "must be `read` or `admin`"));
    }
    let expires_at = match new.expires_at.as_deref().map(time::parse) {
        None => None,
        Some(Some(t)) if t > Utc::now() => Some(time::fmt(t)),
        Some(Some(_)) => {
            fields.push(FieldError::new("expires_at", "must be in the future"));
            None
        }
        Some(None) => {
            fields.push(FieldError::new(
                "expires_at",
                "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
            ));
            None
        }
    };
    let Some(scope) = scope.filter(|_| fields.is_empty()) else {
        return Err(Error::invalid(fields));
    };
    if scope == Scope::Admin
        && matches!(admin.via, Via::ApiKey { .. })
        && !state.security().config().api_keys_create_admin_keys
    {
        return Err(Error::new(
            ErrorCode::AdminKeyFromKey,
            "an API key may not create admin-scope keys (security.api_keys_create_admin_keys is off)",
        ));
    }
    step_up(state, admin, "current_password", new.current_password).await?;
    let (prefix, full, hash) = new_api_key();
    let admin_id = admin.id;
    let (p, n, e) = (prefix.clone(), name.clone(), expires_at.clone());
    let id = state
        .db()
        .write(move |tx| {
            Ok(db::auth::insert_api_key(
                tx,
                &p,
                &hash,
                &n,
                scope.as_str(),
                admin_id,
                e.as_deref(),
            )?)
        })
        .await?;
    admin
        .audit(
            state.db(),
            "api_key.create",
            Some(format!("api-key:{prefix}")),
            Outcome::Success,
            Some(json!({ "name": name, "scope": scope.as_str() })),
        )
        .await?;
    Ok(CreatedKey {
        id,
        prefix,
        name,
        scope,
        expires_at,
        key: full,
    })
}

/// Every key, newest first, revoked ones included (never the secrets); and the total.
pub async fn list(
    state: &AppState,
    limit: i64,
    offset: i64,
) -> Result<(Vec<db::auth::ApiKey>, i64)> {
    state
        .db()
        .run(move |c| Ok(db::auth::list_api_keys(c, limit, offset)?))
        .await
}

/// One key; `NOT_FOUND` when there is none.
pub async fn get(state: &AppState, id: i64) -> Result<db::auth::ApiKey> {
    state
        .db()
        .run(move |c| Ok(db::auth::api_key_by_id(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("API key"))
}

/// Revoke a key, proven with the current password ([`step_up`]). `NOT_FOUND`, or `CONFLICT`
/// when it is already revoked.
pub async fn revoke(
    state: &AppState,
    admin: &Admin,
    id: i64,
    current_password: Option<String>,
) -> Result<()> {
    let key = get(state, id).await?;
    step_up(state, admin, "current_password", current_password).await?;
    let revoked = state
        .db()
        .write(move |tx| Ok(db::auth::revoke_api_key(tx, id)?))
        .await?;
    state.security().credentials_revoked();
    if !revoked {
        return Err(Error::new(
            ErrorCode::Conflict,
            "the API key is already revoked",
        ));
    }
    admin
        .audit(
            state.db(),
            "api_key.revoke",
            Some(format!("api-key:{}", key.prefix)),
            Outcome::Success,
            None,
        )
        .await
}

/// The admin's sessions (each with where and when it signed in).
pub async fn sessions(state: &AppState, admin: &Admin) -> Result<Vec<db::auth::Session>> {
    let id = admin.id;
    state
        .db()
        .run(move |c| Ok(db::auth::sessions_of(c, id)?))
        .await
}

/// Sign out one of the admin's sessions; `NOT_FOUND` when it is not theirs or already ended.
pub async fn revoke_session(state: &AppState, admin: &Admin, id: i64) -> Result<()> {
    let admin_id = admin.id;
    let found = state
        .db()
        .write(move |tx| Ok(db::auth::delete_session(tx, admin_id, id)?))
        .await?;
    if !found {
        return Err(Error::not_found("session"));
    }
    state.security().credentials_revoked();
    admin
        .audit(
            state.db(),
            "session.revoke",
            Some(format!("session:{id}")),
            Outcome::Success,
            None,
        )
        .await
}

/// Sign out every session of the admin but the current one (all of them with an API key);
/// answers how many.
pub async fn revoke_other_sessions(state: &AppState, admin: &Admin) -> Result<usize> {
    let (admin_id, keep) = (admin.id, admin.session_id());
    let n = state
        .db()
        .write(move |tx| Ok(db::auth::delete_other_sessions(tx, admin_id, keep)?))
        .await?;
    state.security().credentials_revoked();
    admin
        .audit(
            state.db(),
            "session.revoke_all",
            None,
            Outcome::Success,
            Some(json!({ "revoked": n })),
        )
        .await?;
    Ok(n)
}
