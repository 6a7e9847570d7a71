//! Setup and sign-in as rules, without HTTP: first-run setup (the account and public URL
//! checks, the one-time admin creation), the password step (rate limits, lockout, the same
//! Argon2 work for unknown users, failures counted and audited), the second factor (TOTP or a
//! backup code, consumed once), sessions opened and ended.
//!
//! Both skins call these functions: the JSON API (`http::auth`, `http::external_login`) and the
//! admin pages (`web::admin::sign_in`). Nothing here knows axum, cookies or JSON bodies.

use super::{
    Admin, IssuedSession, audit_anonymous, check_locked, issue_session, password, record_failure,
    totp,
};
use crate::crypto::{Purpose, random_token, token_hash};
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use chrono::Utc;
use serde_json::json;

pub fn credential_fields(username: &str, password_value: &str) -> Vec<FieldError> {
    let mut fields = Vec::new();
    if let Err(rule) = password::check_username(username) {
        fields.push(FieldError::new("username", rule));
    }
    if let Err(rule) = password::check_password(password_value, username) {
        fields.push(FieldError::new("password", rule));
    }
    fields
}

pub async fn hash_blocking(state: &AppState, password_value: String) -> Result<String> {
    state
        .security()
        .hashing
        .run(move || password::hash(&password_value))
        .await?
        .map_err(Error::Internal)
}

pub async fn verify_blocking(
    state: &AppState,
    password_value: String,
    hash: String,
) -> Result<bool> {
    state
        .security()
        .hashing
        .run(move || password::verify(&password_value, &hash))
        .await
}

/// Where a request was made, as its `Host` and `Origin` headers say (a header that is not text
/// is given as `"\u{0}"`, which matches nothing).
#[derive(Debug, Clone, Default)]
pub struct RequestAddress {
    /// The `Host` header, when sent.
    pub host: Option<String>,
    /// The `Origin` header, when sent.
    pub origin: Option<String>,
}

/// Whether a host name can only be the daemon's own: an IP address, `localhost`, one label
/// (`nas`), or a name under a suffix nobody can register publicly.
fn local_host_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && (name.parse::<std::net::IpAddr>().is_ok()
            || !name.contains('.')
            || [".local", ".lan", ".home.arpa", ".internal", ".localhost"]
                .iter()
                .any(|suffix| name.ends_with(suffix)))
}

/// `host[:port]` without the port (an IPv6 literal without its brackets).
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    }
}

/// Setup is the one unauthenticated request that makes an admin, so it must be made at the
/// daemon's own address, not by a page elsewhere: a site whose name resolves to the daemon (DNS
/// rebinding) sends its own name as `Host`. The `Host` must be the public URL's host or a name
/// that can only be local ([`local_host_name`]); an `Origin`, when sent, must be that same host
/// or the public URL's origin (a reverse proxy may rewrite `Host`). `SETUP_HOST_REFUSED`
/// otherwise.
pub fn check_setup_request(state: &AppState, at: &RequestAddress) -> Result<()> {
    let Some(host) = at.host.as_deref().map(|h| h.trim().to_ascii_lowercase()) else {
        return Ok(()); // not a browser (HTTP/1.0 without Host); nothing to rebind
    };
    let public = super::origin_of(&state.security().public_url());
    let public_authority = public.split_once("://").map_or("", |(_, a)| a);
    if host != public_authority && !local_host_name(host_name(&host)) {
        return Err(Error::new(
            ErrorCode::SetupHostRefused,
            "setup is accepted only at the daemon's own address (an IP address, localhost, a LAN \
             name or the public URL's host): open it there",
        ));
    }
    if let Some(origin) = &at.origin {
        let origin = origin.to_ascii_lowercase();
        if origin != public && origin.split_once("://").map(|(_, a)| a) != Some(host.as_str()) {
            return Err(Error::new(
                ErrorCode::SetupHostRefused,
                "setup from a page of another site refused",
            ));
        }
    }
    Ok(())
}

/// First-run setup without HTTP: check where the request was made ([`check_setup_request`]),
/// the account and the public URL, create the admin, store the URL, mark setup done and open a
/// session. Both the JSON API and the setup page call it.
pub async fn setup_admin(
    state: &AppState,
    ip: Option<String>,
    user_agent: Option<String>,
    at: &RequestAddress,
    username: &str,
    password_value: String,
    public_url: Option<&str>,
) -> Result<(i64, IssuedSession)> {
    let security = state.security();
    if security.setup_done() {
        return Err(Error::new(
            ErrorCode::SetupAlreadyDone,
            "setup was already done",
        ));
    }
    check_setup_request(state, at)?;
    let mut fields = credential_fields(username, &password_value);
    let public_url =
        match public_url.map(|url| crate::config::Config::check_value("public_url", url)) {
            Some(Ok(url)) => Some(url),
            Some(Err(rule)) => {
                fields.push(FieldError::new("public_url", rule));
                None
            }
            None => None,
        };
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let hash = hash_blocking(state, password_value).await?;
    let username = username.to_owned();
    let url_to_store = public_url.clone().filter(|_| !security.public_url_locked());
    let audit_ip = ip.clone();
    let name = username.clone();
    // The single writer connection plus BEGIN IMMEDIATE makes "no admin yet → insert" atomic:
    // of concurrent setups exactly one sees zero admins.
    let admin_id = state
        .db()
        .write(move |tx| {
            if db::auth::count_admins(tx)? > 0 {
                return Err(Error::new(
                    ErrorCode::SetupAlreadyDone,
                    "setup was already done",
                ));
            }
            let id = db::auth::insert_admin(tx, &name, &hash)?;
            if let Some(url) = &url_to_store {
                db::settings::set(tx, "public_url", url)?;
            }
            db::meta::get_or_insert(tx, "setup_completed_at", db::time::now)?;
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: &format!("admin:{name}"),
                    ip: audit_ip.as_deref(),
                    action: "setup.complete",
                    target: Some(&format!("admin:{id}")),
                    outcome: Outcome::Success,
                    detail: url_to_store.as_ref().map(|u| json!({ "public_url": u })),
                },
            )?;
            Ok(id)
        })
        .await?;
    security.mark_setup_done();
    if let Some(url) = &public_url {
        // Through the live settings (a locked URL is left as configured), so later setting changes keep this URL.
        let next = state
            .live()
            .get()
            .with_app_values([("public_url", Some(url.as_str()))])
            .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
        crate::settings::apply(state, next);
    }
    tracing::info!(admin = %username, "first-run setup completed");
    let session = issue_session(state, admin_id, ip, user_agent).await?;
    Ok((admin_id, session))
}

pub fn rate_limited(secs: u64) -> Error {
    Error::new(ErrorCode::RateLimited, "too many attempts; slow down").with_retry_after(secs)
}

pub fn invalid_credentials() -> Error {
    Error::new(ErrorCode::InvalidCredentials, "wrong username or password")
}

/// The first sign-in step without HTTP: rate limits, lockout, the password check (the same work
/// for unknown users), failures counted and audited. Returns the admin whose password matched.
pub async fn password_sign_in(
    state: &AppState,
    ip: Option<String>,
    username: &str,
    password_value: String,
) -> Result<db::auth::Admin> {
    let security = state.security();
    if !security.refresh_setup(state.db()).await? {
        return Err(Error::new(
            ErrorCode::SetupRequired,
            "first-run setup is required",
        ));
    }
    let ip_key = ip.clone().unwrap_or_else(|| "unknown".into());
    security.login_ip.check(&ip_key).map_err(rate_limited)?;
    let username = username.trim().to_owned();
    if username.is_empty() || username.len() > 64 || password_value.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Per account *and* address: failures elsewhere never throttle or lock this client.
    let lock = super::lock_key(&username, ip.as_deref());
    security.login_account.check(&lock).map_err(rate_limited)?;

    let (lookup_name, lookup_lock) = (username.clone(), lock.clone());
    let (admin, failures) = state
        .db()
        .run(move |c| {
            Ok((
                db::auth::admin_by_username(c, &lookup_name)?,
                db::auth::failures(c, &lookup_lock)?,
            ))
        })
        .await?;
    if let Err(locked) = check_locked(&failures) {
        audit_anonymous(
            state.db(),
            format!("anonymous:{username}"),
            ip,
            "auth.login",
            None,
            Outcome::Failure,
            Some(json!({"reason": "locked"})),
        )
        .await?;
        return Err(locked);
    }
    // Unknown users cost the same Argon2 work as known ones.
    let hash = admin.as_ref().map_or_else(
        || security.dummy_hash().to_owned(),
        |a| a.password_hash.clone(),
    );
    let ok = verify_blocking(state, password_value, hash).await? && admin.is_some();
    let Some(admin) = admin.filter(|_| ok) else {
        let locked = count_failure(state, lock.clone()).await?;
        // One log line per failure, for the log stream and for tools like fail2ban.
        tracing::warn!(
            username = %username,
            ip = ip.as_deref().unwrap_or("unknown"),
            locked,
            "sign-in failed: wrong username or password"
        );
        let detail = json!({ "reason": "invalid_credentials", "locked": locked });
        audit_anonymous(
            state.db(),
            format!("anonymous:{username}"),
            ip.clone(),
            "auth.login",
            None,
            Outcome::Failure,
            Some(detail),
        )
        .await?;
        if locked {
            audit_anonymous(
                state.db(),
                "system".into(),
                ip,
                "auth.lockout",
                Some(format!("username:{username}")),
                Outcome::Success,
                None,
            )
            .await?;
        }
        return Err(invalid_credentials());
    };

    // The failures of this account and address are forgotten only once the sign-in is whole
    // (after the second factor, when there is one, in `open_session`), so a known password does
    // not reset the count of TOTP guesses.
    Ok(admin)
}

/// Record a failed sign-in or second factor under `lock` (see [`super::lock_key`]);
/// returns whether it locked the key.
pub async fn count_failure(state: &AppState, lock: String) -> Result<bool> {
    let cfg = state.security().config();
    state
        .db()
        .write(move |tx| {
            let mut f = db::auth::failures(tx, &lock)?;
            let locked = record_failure(&cfg, &mut f);
            db::auth::save_failures(tx, &lock, &f)?;
            Ok(locked)
        })
        .await
}

/// What follows a correct first factor.
pub enum SignInStep {
    /// TOTP is on: the challenge to send back with a code.
    SecondFactor {
        /// The challenge (valid five minutes).
        challenge: String,
    },
    /// Signed in.
    Done {
        /// The admin.
        admin: db::auth::Admin,
        /// The new session.
        session: IssuedSession,
    },
}

/// The credentials were right: ask for the second factor when TOTP is on, else open the session.
pub async fn sign_in_step(
    state: &AppState,
    admin: db::auth::Admin,
    ip: Option<String>,
    user_agent: Option<String>,
    method: &'static str,
) -> Result<SignInStep> {
    if admin.totp_secret.is_some() {
        let challenge = random_token(32);
        let hash = token_hash(&challenge);
        let admin_id = admin.id;
        let expires = Utc::now() + chrono::Duration::minutes(5);
        state
            .db()
            .write(move |tx| Ok(db::auth::insert_challenge(tx, &hash, admin_id, expires)?))
            .await?;
        audit_anonymous(
            state.db(),
            format!("admin:{}", admin.username),
            ip,
            "auth.login.first_factor",
            None,
            Outcome::Success,
            Some(json!({"second_factor": "required"})),
        )
        .await?;
        return Ok(SignInStep::SecondFactor { challenge });
    }
    let session = open_session(state, &admin, ip, user_agent, method).await?;
    Ok(SignInStep::Done { admin, session })
}

pub async fn open_session(
    state: &AppState,
    admin: &db::auth::Admin,
    ip: Option<String>,
    user_agent: Option<String>,
    method: &'static str,
) -> Result<IssuedSession> {
    let lock = super::lock_key(&admin.username, ip.as_deref());
    state
        .db()
        .write(move |tx| Ok(db::auth::clear_failures(tx, &lock)?))
        .await?;
    let session = issue_session(state, admin.id, ip.clone(), user_agent).await?;
    let session_id = session.id;
    audit_anonymous(
        state.db(),
        format!("admin:{}", admin.username),
        ip,
        "auth.login",
        Some(format!("session:{session_id}")),
        Outcome::Success,
        Some(json!({ "method": method })),
    )
    .await?;
    Ok(session)
}

pub fn invalid_second_factor() -> Error {
    Error::new(
        ErrorCode::InvalidSecondFactor,
        "the code is wrong or was already used, or the sign-in expired",
    )
}

/// Check a TOTP code (or, when it looks like one, a backup code) for `admin`, consuming it.
pub async fn consume_second_factor(
    state: &AppState,
    admin: &db::auth::Admin,
    code: &str,
) -> Result<&'static str> {
    let code = code.trim().to_owned();
    if code.len() > 64 {
        return Err(invalid_second_factor());
    }
    let admin_id = admin.id;
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let sealed = admin
            .totp_secret
            .clone()
            .ok_or_else(invalid_second_factor)?;
        let secret = state
            .security()
            .crypto
            .open(Purpose::TotpSecret, &format!("admin:{admin_id}"), &sealed)
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot open the TOTP secret: {e}")))?;
        let now = Utc::now().timestamp().max(0) as u64;
        let step = totp::verify(&secret, &code, now, admin.totp_last_step)
            .ok_or_else(invalid_second_factor)?;
        let fresh = state
            .db()
            .write(move |tx| Ok(db::auth::advance_totp_step(tx, admin_id, step)?))
            .await?;
        return if fresh {
            Ok("totp")
        } else {
            Err(invalid_second_factor())
        };
    }
    let hash = token_hash(&totp::normalize_backup_code(&code));
    let used = state
        .db()
        .write(move |tx| Ok(db::auth::use_backup_code(tx, admin_id, &hash)?))
        .await?;
    if used {
        Ok("backup_code")
    } else {
        Err(invalid_second_factor())
    }
}

/// The second sign-in step without HTTP: rate limit, the challenge, the TOTP or backup code
/// (consumed), then the session.
pub async fn second_factor_sign_in(
    state: &AppState,
    ip: Option<String>,
    user_agent: Option<String>,
    challenge: &str,
    code: &str,
) -> Result<(db::auth::Admin, IssuedSession)> {
    let ip_key = ip.clone().unwrap_or_else(|| "unknown".into());
    state
        .security()
        .login_ip
        .check(&ip_key)
        .map_err(rate_limited)?;
    let hash = token_hash(challenge);
    let admin = state
        .db()
        .write(move |tx| {
            let Some(admin_id) = db::auth::challenge_attempt(tx, &hash)? else {
                return Ok(None);
            };
            Ok(db::auth::admin_by_id(tx, admin_id)?)
        })
        .await?
        .ok_or_else(invalid_second_factor)?;
    // Second-factor guesses count toward the same lock as passwords (per account and address):
    // with the password known, six digits must not be guessable at the rate limit.
    let lock = super::lock_key(&admin.username, ip.as_deref());
    let lookup = lock.clone();
    let failures = state
        .db()
        .run(move |c| Ok(db::auth::failures(c, &lookup)?))
        .await?;
    check_locked(&failures)?;
    match consume_second_factor(state, &admin, code).await {
        Ok(method) => {
            let hash = token_hash(challenge);
            state
                .db()
                .write(move |tx| Ok(db::auth::delete_challenge(tx, &hash)?))
                .await?;
            let session = open_session(state, &admin, ip, user_agent, method).await?;
            Ok((admin, session))
        }
        Err(e) => {
            let locked = count_failure(state, lock).await?;
            tracing::warn!(
                username = %admin.username,
                ip = ip.as_deref().unwrap_or("unknown"),
                locked,
                "sign-in failed: wrong second factor"
            );
            audit_anonymous(
                state.db(),
                format!("admin:{}", admin.username),
                ip,
                "auth.totp",
                None,
                Outcome::Failure,
                Some(json!({ "locked": locked })),
            )
            .await?;
            Err(e)
        }
    }
}

/// End the admin's session (nothing to end for an API key) and audit it.
pub async fn sign_out(state: &AppState, admin: &Admin) -> Result<()> {
    if let Some(id) = admin.session_id() {
        let admin_id = admin.id;
        state
            .db()
            .write(move |tx| Ok(db::auth::delete_session(tx, admin_id, id)?))
            .await?;
        state.security().credentials_revoked();
    }
    admin
        .audit(
            state.db(),
            "auth.logout",
            admin.session_id().map(|id| format!("session:{id}")),
            Outcome::Success,
            None,
        )
        .await
}

pub async fn load_admin(state: &AppState, id: i64) -> Result<db::auth::Admin> {
    state
        .db()
        .run(move |c| Ok(db::auth::admin_by_id(c, id)?))
        .await?
        .ok_or_else(|| Error::new(ErrorCode::Unauthenticated, "the admin no longer exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_that_cannot_be_registered_count_as_local() {
        for local in [
            "127.0.0.1",
            "192.168.1.5",
            "::1",
            "localhost",
            "nas",
            "nas.local",
            "media.lan",
            "box.home.arpa",
        ] {
            assert!(local_host_name(local), "{local}");
        }
        for foreign in [
            "rebind.attacker.example",
            "nas.local.evil.com",
            "example.org",
            "",
        ] {
            assert!(!local_host_name(foreign), "{foreign}");
        }
        assert_eq!(host_name("nas.local:8000"), "nas.local");
        assert_eq!(host_name("[::1]:8000"), "::1");
        assert_eq!(host_name("example.org"), "example.org");
    }
}
