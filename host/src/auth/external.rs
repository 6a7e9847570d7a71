//! Admin sign-in through a media server, as rules: which servers offer it (enabled, `admin_login`
//! on, a connector that can check passwords or link accounts), the password check of a server's
//! administrator with the same rate limits, lockout and single generic error as the local
//! password, and the account-link (PIN) flow that admits only the server's owner.
//!
//! A successful check maps to a local admin record (`<name>@server<id>`, no usable password) and
//! answers it; the caller goes on with [`super::sign_in::sign_in_step`] like after a password, so
//! sessions, TOTP, the audit log and revocation work as for local admins. Both skins call these
//! functions: the JSON API (`http::external_login`) and the sign-in page. Nothing here knows
//! axum or JSON bodies.

use super::sign_in::{invalid_credentials, rate_limited};
use super::{audit_anonymous, check_locked, record_failure};
use crate::crypto::random_token;
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, Result};
use crate::plugins::{CallError, LinkStatus, ServerContext};
use crate::servers::{self, admin_login_method};
use crate::state::AppState;
use serde_json::json;
use std::time::{Duration, Instant};

/// A server admins may sign in through.
#[derive(Debug, Clone)]
pub struct SignInServer {
    /// Server id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Connector id.
    pub kind: String,
    /// Human name of the connector, e.g. `Jellyfin`.
    pub kind_name: String,
    /// `password` (username and password of the server) or `oauth` (its account link).
    pub method: &'static str,
}

/// The servers admins may sign in through.
pub async fn servers(state: &AppState) -> Result<Vec<SignInServer>> {
    let rows = state.db().run(|c| Ok(db::servers::list(c)?)).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.admin_login && r.enabled)
        .filter_map(|r| {
            let manifest = state.plugins().manifest(&r.kind)?;
            let method = admin_login_method(&manifest)?;
            Some(SignInServer {
                id: r.id,
                name: r.name,
                kind: r.kind,
                kind_name: manifest.name,
                method,
            })
        })
        .collect())
}

/// The server (enabled, admin sign-in on, connector loaded with `method`) and its context.
async fn sign_in_server(
    state: &AppState,
    id: i64,
    method: &str,
) -> Result<(db::servers::ServerRow, ServerContext)> {
    let not_offered = || Error::new(ErrorCode::NotFound, "no such sign-in method");
    let row = state
        .db()
        .run(move |c| Ok(db::servers::get(c, id)?))
        .await?
        .filter(|r| r.admin_login && r.enabled)
        .ok_or_else(not_offered)?;
    let manifest = state
        .plugins()
        .manifest(&row.kind)
        .ok_or_else(not_offered)?;
    if admin_login_method(&manifest) != Some(method) {
        return Err(not_offered());
    }
    let ctx = servers::context_of(&state.security().crypto, &manifest, &row)?;
    Ok((row, ctx))
}

/// The local admin record of `external_id` on server `server_id`.
async fn local_admin(
    state: &AppState,
    server_id: i64,
    external_id: String,
    remote_name: String,
) -> Result<db::auth::Admin> {
    state
        .db()
        .write(move |tx| {
            Ok(db::auth::external_admin(
                tx,
                server_id,
                &external_id,
                &remote_name,
            )?)
        })
        .await
}

/// Check an administrator's username and password on server `id` (for connectors that can
/// check passwords, e.g. Jellyfin). Wrong credentials and accounts that do not administer the
/// server get the same `INVALID_CREDENTIALS`, counted toward the lockout.
pub async fn password_sign_in(
    state: &AppState,
    ip: Option<String>,
    id: i64,
    username: &str,
    password: String,
) -> Result<db::auth::Admin> {
    let security = state.security();
    security
        .login_ip
        .check(ip.as_deref().unwrap_or("unknown"))
        .map_err(rate_limited)?;
    let username = username.trim().to_owned();
    if username.is_empty() || username.len() > 128 || password.is_empty() || password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Per account and address, like the password sign-in (see `auth::lock_key`).
    let key = super::lock_key(&format!("server{id}:{username}"), ip.as_deref());
    security.login_account.check(&key).map_err(rate_limited)?;
    let lookup = key.clone();
    let failures = state
        .db()
        .run(move |c| Ok(db::auth::failures(c, &lookup)?))
        .await?;
    check_locked(&failures)?;
    let (row, ctx) = sign_in_server(state, id, "password").await?;

    let password = crate::plugins::SecretString::new(password);
    let result = state
        .plugins()
        .authenticate(&row.kind, &ctx, &username, &password)
        .await;
    let account = match result {
        Ok(a) if a.admin => Some(a),
        Ok(_) | Err(CallError::Connector { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let Some(account) = account else {
        let cfg = security.config();
        let name = key.clone();
        let locked = state
            .db()
            .write(move |tx| {
                let mut f = db::auth::failures(tx, &name)?;
                let locked = record_failure(&cfg, &mut f);
                db::auth::save_failures(tx, &name, &f)?;
                Ok(locked)
            })
            .await?;
        audit_anonymous(
            state.db(),
            format!("anonymous:{username}"),
            ip,
            "auth.login",
            Some(format!("server:{id}")),
            Outcome::Failure,
            Some(json!({ "method": "server_password", "locked": locked })),
        )
        .await?;
        return Err(invalid_credentials());
    };
    state
        .db()
        .write(move |tx| Ok(db::auth::clear_failures(tx, &key)?))
        .await?;
    local_admin(state, row.id, account.user_id, account.username).await
}

/// A started account link for admin sign-in.
#[derive(Debug, Clone)]
pub struct StartedLink {
    /// Sent back to [`poll_link`].
    pub challenge: String,
    /// Code to show.
    pub code: String,
    /// Where to approve the sign-in.
    pub auth_url: String,
    /// Seconds until it expires.
    pub expires_in: u32,
}

fn unavailable(e: &CallError) -> Error {
    tracing::warn!(error = %e, "admin sign-in link failed");
    Error::new(
        ErrorCode::ServerUnavailable,
        "signing in through this server is not available right now",
    )
}

/// Start signing in with the owner's account of server `id` (connectors that link accounts,
/// e.g. "Sign in with Plex").
pub async fn start_link(state: &AppState, ip: Option<String>, id: i64) -> Result<StartedLink> {
    state
        .security()
        .login_ip
        .check(ip.as_deref().unwrap_or("unknown"))
        .map_err(rate_limited)?;
    let (row, ctx) = sign_in_server(state, id, "oauth").await?;
    let started = state
        .plugins()
        .start_link(&row.kind, &ctx)
        .await
        .map_err(|e| unavailable(&e))?;
    let challenge = random_token(24);
    let ttl = Duration::from_secs(u64::from(started.expires_in.clamp(60, 1800)));
    state
        .security()
        .remember_link(&challenge, id, started.pin_id, Instant::now() + ttl);
    Ok(StartedLink {
        challenge,
        code: started.code,
        auth_url: started.auth_url,
        expires_in: started.expires_in,
    })
}

/// Where a sign-in link stands.
#[derive(Debug)]
pub enum LinkPoll {
    /// Not approved yet.
    Pending,
    /// Approved by the server's owner: their local admin record.
    Admin(db::auth::Admin),
}

/// Look at a started link: pending, or (once approved) the owner's admin record; any other
/// account is refused with `INVALID_CREDENTIALS`, an expired or unknown challenge too.
pub async fn poll_link(
    state: &AppState,
    ip: Option<String>,
    id: i64,
    challenge: &str,
) -> Result<LinkPoll> {
    let expired = || {
        Error::new(
            ErrorCode::InvalidCredentials,
            "the sign-in expired or was refused; start again",
        )
    };
    let pin = state.security().link(challenge, id).ok_or_else(expired)?;
    let (row, ctx) = sign_in_server(state, id, "oauth").await?;
    let account = match state
        .plugins()
        .poll_link(&row.kind, &ctx, &pin)
        .await
        .map_err(|e| unavailable(&e))?
    {
        LinkStatus::Pending => return Ok(LinkPoll::Pending),
        LinkStatus::Expired => {
            state.security().forget_link(challenge);
            return Err(expired());
        }
        LinkStatus::Linked(account) => account,
    };
    state.security().forget_link(challenge);
    // Only the account the connector lists as the server's administrator may sign in.
    let users = state
        .plugins()
        .list_users(&row.kind, &ctx)
        .await
        .map_err(|e| unavailable(&e))?;
    if !users.iter().any(|u| u.admin && u.id == account.id) {
        audit_anonymous(
            state.db(),
            format!("anonymous:{}", account.username),
            ip,
            "auth.login",
            Some(format!("server:{id}")),
            Outcome::Failure,
            Some(json!({ "method": "server_link", "reason": "not the server's administrator" })),
        )
        .await?;
        return Err(invalid_credentials());
    }
    Ok(LinkPoll::Admin(
        local_admin(state, row.id, account.id, account.username).await?,
    ))
}
