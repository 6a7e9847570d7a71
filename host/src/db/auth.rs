//! Repository functions for admins, sessions, login challenges, backup codes, API keys and login
//! failures. Plain sync functions over `&Connection`; callers decide the transaction.

use super::time;
use crate::db::Cached;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// An admin account.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Row id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Sealed TOTP secret when TOTP is enabled.
    pub totp_secret: Option<Vec<u8>>,
    /// Sealed secret awaiting confirmation.
    pub totp_pending: Option<Vec<u8>>,
    /// Last accepted TOTP step.
    pub totp_last_step: Option<i64>,
    /// Creation time.
    pub created_at: String,
}

const ADMIN_COLS: &str =
    "id, username, password_hash, totp_secret, totp_pending, totp_last_step, created_at";

fn admin_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Admin> {
    Ok(Admin {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        totp_secret: r.get(3)?,
        totp_pending: r.get(4)?,
        totp_last_step: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// How many admins exist.
pub fn count_admins(c: &Connection) -> rusqlite::Result<i64> {
    c.row("SELECT count(*) FROM admins", [], |r| r.get(0))
}

/// Create an admin; fails on a duplicate username (case-insensitive).
pub fn insert_admin(c: &Connection, username: &str, password_hash: &str) -> rusqlite::Result<i64> {
    let now = time::now();
    c.exec(
        "INSERT INTO admins (username, password_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![username, password_hash, now],
    )?;
    Ok(c.last_insert_rowid())
}

/// The local admin record of an account on a media server (admin sign-in through that server),
/// created on first use. It has no usable password: only the server can vouch for it.
pub fn external_admin(
    c: &Connection,
    server_id: i64,
    external_user_id: &str,
    remote_username: &str,
) -> rusqlite::Result<Admin> {
    let found: Option<i64> = c
        .row(
            "SELECT id FROM admins WHERE external_server_id = ?1 AND external_user_id = ?2",
            params![server_id, external_user_id],
            |r| r.get(0),
        )
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            let mut name = format!("{remote_username}@server{server_id}");
            if admin_by_username(c, &name)?.is_some() {
                name = format!("{remote_username}@server{server_id}#{external_user_id}");
            }
            let now = time::now();
            // "!" is not a PHC string, so no password ever verifies against it.
            c.exec(
                "INSERT INTO admins (username, password_hash, external_server_id, external_user_id, created_at, updated_at)
                 VALUES (?1, '!', ?2, ?3, ?4, ?4)",
                params![name, server_id, external_user_id, now],
            )?;
            c.last_insert_rowid()
        }
    };
    admin_by_id(c, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// Find by username (case-insensitive).
pub fn admin_by_username(c: &Connection, username: &str) -> rusqlite::Result<Option<Admin>> {
    c.row(
        &format!("SELECT {ADMIN_COLS} FROM admins WHERE username = ?1"),
        [username],
        admin_row,
    )
    .optional()
}

/// Find by id.
pub fn admin_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Admin>> {
    c.row(
        &format!("SELECT {ADMIN_COLS} FROM admins WHERE id = ?1"),
        [id],
        admin_row,
    )
    .optional()
}

/// Replace the password hash.
pub fn set_password(c: &Connection, id: i64, password_hash: &str) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, password_hash, time::now()],
    )
}

/// Store (or clear) the sealed secret awaiting confirmation.
pub fn set_totp_pending(c: &Connection, id: i64, sealed: Option<&[u8]>) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET totp_pending = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, sealed, time::now()],
    )
}

/// Enable TOTP with a confirmed secret; `step` is the step of the confirming code.
pub fn enable_totp(c: &Connection, id: i64, sealed: &[u8], step: i64) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET totp_secret = ?2, totp_pending = NULL, totp_last_step = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, sealed, step, time::now()],
    )
}

/// Disable TOTP and drop the backup codes.
pub fn disable_totp(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE admins SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, time::now()],
    )?;
    c.exec("DELETE FROM totp_backup_codes WHERE admin_id = ?1", [id])?;
    Ok(())
}

/// Record the step of an accepted code, only if it is newer than the stored one. Returns false
/// when another request already used this step (the replay guard under concurrency).
pub fn advance_totp_step(c: &Connection, id: i64, step: i64) -> rusqlite::Result<bool> {
    let n = c.exec(
        "UPDATE admins SET totp_last_step = ?2 WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
        params![id, step],
    )?;
    Ok(n == 1)
}

/// Replace the backup codes.
pub fn replace_backup_codes(
    c: &Connection,
    admin_id: i64,
    hashes: &[Vec<u8>],
) -> rusqlite::Result<()> {
    c.exec(
        "DELETE FROM totp_backup_codes WHERE admin_id = ?1",
        [admin_id],
    )?;
    let mut stmt =
        c.prepare_cached("INSERT INTO totp_backup_codes (admin_id, code_hash) VALUES (?1, ?2)")?;
    for h in hashes {
        stmt.execute(params![admin_id, h])?;
    }
    Ok(())
}

/// Mark an unused backup code used; false if no unused code matches.
pub fn use_backup_code(c: &Connection, admin_id: i64, hash: &[u8]) -> rusqlite::Result<bool> {
    let n = c.exec(
        "UPDATE totp_backup_codes SET used_at = ?3
         WHERE id = (SELECT id FROM totp_backup_codes WHERE admin_id = ?1 AND code_hash = ?2 AND used_at IS NULL LIMIT 1)",
        params![admin_id, hash, time::now()],
    )?;
    Ok(n == 1)
}

/// Unused backup codes left.
pub fn backup_codes_left(c: &Connection, admin_id: i64) -> rusqlite::Result<i64> {
    c.row(
        "SELECT count(*) FROM totp_backup_codes WHERE admin_id = ?1 AND used_at IS NULL",
        [admin_id],
        |r| r.get(0),
    )
}

/// A session row.
#[derive(Debug, Clone)]
pub struct Session {
    /// Row id (public handle for listing and revoking).
    pub id: i64,
    /// Owner.
    pub admin_id: i64,
    /// Synchronizer token for forms.
    pub csrf_token: String,
    /// Creation time.
    pub created_at: String,
    /// Last request.
    pub last_seen_at: String,
    /// Absolute expiry.
    pub expires_at: String,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

const SESSION_COLS: &str =
    "id, admin_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        admin_id: r.get(1)?,
        csrf_token: r.get(2)?,
        created_at: r.get(3)?,
        last_seen_at: r.get(4)?,
        expires_at: r.get(5)?,
        ip: r.get(6)?,
        user_agent: r.get(7)?,
    })
}

/// Create a session.
pub fn insert_session(
    c: &Connection,
    token_hash: &[u8],
    admin_id: i64,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> rusqlite::Result<i64> {
    let now = time::now();
    c.exec(
        "INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
        params![token_hash, admin_id, csrf_token, now, time::fmt(expires_at), ip, user_agent],
    )?;
    Ok(c.last_insert_rowid())
}

/// Find a session by token hash.
pub fn session_by_hash(c: &Connection, token_hash: &[u8]) -> rusqlite::Result<Option<Session>> {
    c.row(
        &format!("SELECT {SESSION_COLS} FROM admin_sessions WHERE token_hash = ?1"),
        [token_hash],
        session_row,
    )
    .optional()
}

/// Record activity.
pub fn touch_session(c: &Connection, id: i64) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admin_sessions SET last_seen_at = ?2 WHERE id = ?1",
        params![id, time::now()],
    )
}

/// Sessions of an admin, newest first.
pub fn sessions_of(c: &Connection, admin_id: i64) -> rusqlite::Result<Vec<Session>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM admin_sessions WHERE admin_id = ?1 ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([admin_id], session_row)?;
    rows.collect()
}

/// Delete one session of an admin; returns whether it existed.
pub fn delete_session(c: &Connection, admin_id: i64, id: i64) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "DELETE FROM admin_sessions WHERE id = ?1 AND admin_id = ?2",
        params![id, admin_id],
    )? == 1)
}

/// Delete every session of an admin except `keep`; returns how many.
pub fn delete_other_sessions(
    c: &Connection,
    admin_id: i64,
    keep: Option<i64>,
) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM admin_sessions WHERE admin_id = ?1 AND id IS NOT ?2",
        params![admin_id, keep],
    )
}

/// Remove expired sessions, challenges and stale login failures.
pub fn delete_expired(c: &Connection, idle_cutoff: DateTime<Utc>) -> rusqlite::Result<usize> {
    let now = time::now();
    let mut n = c.exec(
        "DELETE FROM admin_sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2",
        params![now, time::fmt(idle_cutoff)],
    )?;
    n += c.exec(
        "DELETE FROM login_challenges WHERE expires_at <= ?1",
        [&now],
    )?;
    Ok(n)
}

/// Store a second-factor challenge.
pub fn insert_challenge(
    c: &Connection,
    token_hash: &[u8],
    admin_id: i64,
    expires_at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO login_challenges (token_hash, admin_id, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, admin_id, time::fmt(expires_at)],
    )?;
    Ok(())
}

/// The admin of a live challenge, counting the attempt; `None` when unknown, expired or used up
/// (five attempts per challenge).
pub fn challenge_attempt(c: &Connection, token_hash: &[u8]) -> rusqlite::Result<Option<i64>> {
    let row: Option<(i64, String, i64)> = c
        .row(
            "SELECT admin_id, expires_at, attempts FROM login_challenges WHERE token_hash = ?1",
            [token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((admin_id, expires_at, attempts)) = row else {
        return Ok(None);
    };
    if expires_at <= time::now() || attempts >= 5 {
        c.exec(
            "DELETE FROM login_challenges WHERE token_hash = ?1",
            [token_hash],
        )?;
        return Ok(None);
    }
    c.exec(
        "UPDATE login_challenges SET attempts = attempts + 1 WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(Some(admin_id))
}

/// Consume a challenge after success.
pub fn delete_challenge(c: &Connection, token_hash: &[u8]) -> rusqlite::Result<()> {
    c.exec(
        "DELETE FROM login_challenges WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

/// An API key row (never the secret).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// Public prefix, e.g. `zk_ab12cd34`.
    pub prefix: String,
    /// Name given at creation.
    pub name: String,
    /// `read` or `admin`.
    pub scope: String,
    /// Owner.
    #[serde(skip)]
    pub admin_id: i64,
    /// Creation time.
    pub created_at: String,
    /// Expiry, if any.
    pub expires_at: Option<String>,
    /// Last use.
    pub last_used_at: Option<String>,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// Hash of the secret part.
    #[serde(skip)]
    pub secret_hash: Vec<u8>,
}

const KEY_COLS: &str = "id, prefix, name, scope, admin_id, created_at, expires_at, last_used_at, revoked_at, secret_hash";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        prefix: r.get(1)?,
        name: r.get(2)?,
        scope: r.get(3)?,
        admin_id: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        last_used_at: r.get(7)?,
        revoked_at: r.get(8)?,
        secret_hash: r.get(9)?,
    })
}

/// Create an API key.
pub fn insert_api_key(
    c: &Connection,
    prefix: &str,
    secret_hash: &[u8],
    name: &str,
    scope: &str,
    admin_id: i64,
    expires_at: Option<&str>,
) -> rusqlite::Result<i64> {
    c.exec(
        "INSERT INTO api_keys (prefix, secret_hash, name, scope, admin_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            prefix,
            secret_hash,
            name,
            scope,
            admin_id,
            time::now(),
            expires_at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Find a key by its public prefix.
pub fn api_key_by_prefix(c: &Connection, prefix: &str) -> rusqlite::Result<Option<ApiKey>> {
    c.row(
        &format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = ?1"),
        [prefix],
        key_row,
    )
    .optional()
}

/// Find a key by id.
pub fn api_key_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<ApiKey>> {
    c.row(
        &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1"),
        [id],
        key_row,
    )
    .optional()
}

/// Keys, newest first, paginated; with the total.
pub fn list_api_keys(
    c: &Connection,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<ApiKey>, i64)> {
    let total = c.row("SELECT count(*) FROM api_keys", [], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {KEY_COLS} FROM api_keys ORDER BY id DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map([limit, offset], key_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// Revoke a key; false if unknown or already revoked.
pub fn revoke_api_key(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, time::now()],
    )? == 1)
}

/// Revoke every key of an admin that is not revoked yet; returns how many.
pub fn revoke_api_keys_of(c: &Connection, admin_id: i64) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE api_keys SET revoked_at = ?2 WHERE admin_id = ?1 AND revoked_at IS NULL",
        params![admin_id, time::now()],
    )
}

/// End every session and revoke every API key of the admins who sign in through server
/// `server_id` (its admin sign-in was turned off, or the server was switched off); returns the
/// numbers of sessions and keys.
pub fn revoke_external_admins(c: &Connection, server_id: i64) -> rusqlite::Result<(usize, usize)> {
    let sessions = c.exec(
        "DELETE FROM admin_sessions WHERE admin_id IN
            (SELECT id FROM admins WHERE external_server_id = ?1)",
        [server_id],
    )?;
    let keys = c.exec(
        "UPDATE api_keys SET revoked_at = ?2 WHERE revoked_at IS NULL AND admin_id IN
            (SELECT id FROM admins WHERE external_server_id = ?1)",
        params![server_id, time::now()],
    )?;
    Ok((sessions, keys))
}

/// Record use.
pub fn touch_api_key(c: &Connection, id: i64) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
        params![id, time::now()],
    )
}

/// Lock state of a lock key (a username and a client address, see `auth::lock_key`).
#[derive(Debug, Clone, Default)]
pub struct Failures {
    /// Consecutive failures since the last success or lockout.
    pub failures: i64,
    /// Lockouts so far (drives the doubling).
    pub lockouts: i64,
    /// Locked until this time.
    pub locked_until: Option<String>,
    /// When the last failure was recorded (failures decay after a quiet period).
    pub last_failure_at: Option<String>,
}

/// Current failure state.
pub fn failures(c: &Connection, username: &str) -> rusqlite::Result<Failures> {
    Ok(c.row(
        "SELECT failures, lockouts, locked_until, last_failure_at FROM login_failures WHERE username = ?1",
        [username],
        |r| {
            Ok(Failures {
                failures: r.get(0)?,
                lockouts: r.get(1)?,
                locked_until: r.get(2)?,
                last_failure_at: r.get(3)?,
            })
        },
    )
    .optional()?
    .unwrap_or_default())
}

/// Store failure state.
pub fn save_failures(c: &Connection, username: &str, f: &Failures) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO login_failures (username, failures, lockouts, locked_until, last_failure_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(username) DO UPDATE SET failures = ?2, lockouts = ?3, locked_until = ?4, last_failure_at = ?5",
        params![username, f.failures, f.lockouts, f.locked_until, time::now()],
    )?;
    Ok(())
}

/// Delete failure records that are neither locked nor recent (last failure before `before`).
pub fn prune_failures(c: &Connection, before: &str) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM login_failures
         WHERE (locked_until IS NULL OR locked_until <= ?2)
           AND (last_failure_at IS NULL OR last_failure_at < ?1)",
        params![before, time::now()],
    )
}

/// Forget failures after a successful login.
pub fn clear_failures(c: &Connection, username: &str) -> rusqlite::Result<()> {
    c.exec("DELETE FROM login_failures WHERE username = ?1", [username])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17 item 19: failed sign-in records do not pile up; locked or recent ones stay.
    #[test]
    fn failed_sign_ins_are_pruned_unless_locked_or_recent() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        let past = time::fmt(Utc::now() - chrono::Duration::days(2));
        let future = time::fmt(Utc::now() + chrono::Duration::hours(1));
        for key in ["old", "recent", "locked"] {
            save_failures(&c, key, &Failures::default()).unwrap();
        }
        c.exec(
            "UPDATE login_failures SET last_failure_at = ?1 WHERE username IN ('old', 'locked')",
            [&past],
        )
        .unwrap();
        c.exec(
            "UPDATE login_failures SET locked_until = ?1 WHERE username = 'locked'",
            [&future],
        )
        .unwrap();
        let before = time::fmt(Utc::now() - chrono::Duration::days(1));
        assert_eq!(prune_failures(&c, &before).unwrap(), 1);
        let left: Vec<String> = c
            .prepare("SELECT username FROM login_failures ORDER BY username")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(left, ["locked", "recent"]);
    }
}
