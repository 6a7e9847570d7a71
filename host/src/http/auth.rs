//! First-run setup, sign-in (password, then TOTP or a backup code), sign-out, the current admin,
//! password change and TOTP management.
//!
//! Every credential check answers the same error for an unknown user and a wrong password, after
//! the same Argon2 work, and is rate limited per client address and per username with a growing
//! lockout. Nothing secret reaches a response, a log line or the audit log.

use crate::auth::{
    Admin, ClientIp, audit_anonymous, check_locked, issue_session, password, record_failure, totp,
};
use crate::crypto::{Purpose, random_token, token_hash};
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::Json;
use crate::http::openapi::Errors;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Routes that work without a session (setup, sign-in).
pub fn public_routes() -> Routes {
    vec![
        routes!(setup_status, setup),
        routes!(login),
        routes!(login_totp),
    ]
}

/// Routes for a signed-in admin.
pub fn admin_routes() -> Routes {
    vec![
        routes!(logout),
        routes!(me),
        routes!(change_password),
        routes!(totp_setup),
        routes!(totp_confirm),
        routes!(totp_disable),
        routes!(totp_backup_codes),
    ]
}

/// Whether first-run setup is still to be done.
#[derive(Serialize, ToSchema)]
struct SetupStatus {
    /// `true` until `POST /api/v1/setup` succeeded.
    setup_required: bool,
}

/// Whether setup is required
///
/// A fresh daemon has no admin; until `POST /api/v1/setup` every admin endpoint answers
/// `SETUP_REQUIRED`.
#[utoipa::path(get, path = "/setup", tag = "setup", operation_id = "get_setup_status", responses((status = OK, body = SetupStatus)))]
async fn setup_status(State(state): State<AppState>) -> Result<Json<SetupStatus>> {
    let done = state.security().refresh_setup(state.db()).await?;
    Ok(Json(SetupStatus {
        setup_required: !done,
    }))
}

/// The first admin account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetupRequest {
    /// 3 to 32 characters: letters, digits, `_`, `.` and `-`, starting with a letter or digit.
    username: String,
    /// 12 to 256 characters, not the username, not a common password.
    password: String,
    /// Where users reach Zondarr, e.g. `https://media.example.org` (used in invitation links and
    /// the CSRF origin check); ignored when the configuration fixes it.
    public_url: Option<String>,
}

fn credential_fields(username: &str, password_value: &str) -> Vec<FieldError> {
    let mut fields = Vec::new();
    if let Err(rule) = password::check_username(username) {
        fields.push(FieldError::new("username", rule));
    }
    if let Err(rule) = password::check_password(password_value, username) {
        fields.push(FieldError::new("password", rule));
    }
    fields
}

async fn hash_blocking(state: &AppState, password_value: String) -> Result<String> {
    state
        .security()
        .hashing
        .run(move || password::hash(&password_value))
        .await?
        .map_err(Error::Internal)
}

async fn verify_blocking(state: &AppState, password_value: String, hash: String) -> Result<bool> {
    state
        .security()
        .hashing
        .run(move || password::verify(&password_value, &hash))
        .await
}

/// The signed-in admin, as answered by setup and sign-in.
#[derive(Serialize, ToSchema)]
pub(crate) struct AdminView {
    /// Admin id.
    id: i64,
    /// Username.
    username: String,
    /// Whether sign-in asks for a second factor.
    totp_enabled: bool,
    /// Send back as `x-csrf-token` on cookie-authenticated changes when no `Origin` is sent.
    csrf_token: String,
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

/// Complete first-run setup
///
/// Creates the admin account and signs it in (sets the session cookie). Works once.
#[utoipa::path(
    post,
    path = "/setup",
    tag = "setup",
    operation_id = "complete_setup",
    request_body = SetupRequest,
    responses(
        (status = CREATED, description = "The admin, signed in", body = AdminView,
            headers(("set-cookie" = String, description = "The session cookie"))),
        Errors<(code::SetupAlreadyDone, code::SetupHostRefused, code::ValidationFailed)>,
    )
)]
async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<SetupRequest>,
) -> Result<Response> {
    let (admin_id, session) = setup_admin(
        &state,
        ip,
        &headers,
        &req.username,
        req.password,
        req.public_url.as_deref(),
    )
    .await?;
    let body = Json(AdminView {
        id: admin_id,
        username: req.username,
        totp_enabled: false,
        csrf_token: session.csrf_token,
    });
    Ok(with_cookie(
        (StatusCode::CREATED, body).into_response(),
        &state.security().session_cookie(&session.token),
    ))
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
/// or the public URL's origin (a reverse proxy may rewrite `Host`).
pub(crate) fn check_setup_request(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{0}").trim().to_ascii_lowercase())
    else {
        return Ok(()); // not a browser (HTTP/1.0 without Host); nothing to rebind
    };
    let public = crate::auth::origin_of(&state.security().public_url());
    let public_authority = public.split_once("://").map_or("", |(_, a)| a);
    if host != public_authority && !local_host_name(host_name(&host)) {
        return Err(Error::new(
            ErrorCode::SetupHostRefused,
            "setup is accepted only at the daemon's own address (an IP address, localhost, a LAN \
             name or the public URL's host): open it there",
        ));
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
        if origin != public && origin.split_once("://").map(|(_, a)| a) != Some(host.as_str()) {
            return Err(Error::new(
                ErrorCode::SetupHostRefused,
                "setup from a page of another site refused",
            ));
        }
    }
    Ok(())
}

/// First-run setup without HTTP: check the request's host, the account and the public URL,
/// create the admin, store the URL, mark setup done and open a session. Both the JSON API and
/// the setup page call it.
pub(crate) async fn setup_admin(
    state: &AppState,
    ip: Option<String>,
    headers: &HeaderMap,
    username: &str,
    password_value: String,
    public_url: Option<&str>,
) -> Result<(i64, crate::auth::IssuedSession)> {
    let security = state.security();
    if security.setup_done() {
        return Err(Error::new(
            ErrorCode::SetupAlreadyDone,
            "setup was already done",
        ));
    }
    check_setup_request(state, headers)?;
    let user_agent = user_agent(headers);
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

/// Credentials for the first sign-in step.
#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    /// Username.
    username: String,
    /// Password.
    password: String,
}

/// Either signed in, or a second factor is needed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginResponse {
    /// Signed in (the session cookie is set).
    Done(SignedIn),
    /// TOTP is enabled: send the challenge with a code to `POST /api/v1/auth/totp`.
    SecondFactor(SecondFactorRequired),
}

/// Signed in; the session cookie is set.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignedIn {
    /// The admin.
    admin: AdminView,
}

/// The password was right; a second factor is required.
#[derive(Serialize, ToSchema)]
pub(crate) struct SecondFactorRequired {
    /// Always `true`.
    second_factor_required: bool,
    /// Send back to `POST /api/v1/auth/totp`.
    challenge: String,
    /// Seconds the challenge stays valid.
    expires_in: u64,
}

pub(crate) fn rate_limited(secs: u64) -> Error {
    Error::new(ErrorCode::RateLimited, "too many attempts; slow down").with_retry_after(secs)
}

pub(crate) fn invalid_credentials() -> Error {
    Error::new(ErrorCode::InvalidCredentials, "wrong username or password")
}

/// Refuse a sign-in posted from another site (login CSRF), when the browser says where from.
pub(crate) fn check_login_origin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    match headers.get("origin").and_then(|v| v.to_str().ok()) {
        Some(origin) if !origin.eq_ignore_ascii_case(&state.security().public_origin()) => Err(
            Error::new(ErrorCode::CsrfFailed, "sign-in from another site refused"),
        ),
        _ => Ok(()),
    }
}

/// Sign in with username and password
///
/// Without TOTP this signs in and sets the session cookie; with TOTP it answers a challenge for
/// `POST /api/v1/auth/totp`. Unknown users and wrong passwords get the same answer. Rate limited
/// per client address and username, with a growing lockout after repeated failures.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = OK, description = "Signed in, or a second factor is required", body = LoginResponse,
            headers(("set-cookie" = String, description = "The session cookie, when signed in"))),
        Errors<(code::SetupRequired, code::CsrfFailed, code::InvalidCredentials, code::AccountLocked, code::RateLimited)>,
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let admin = password_sign_in(&state, ip.clone(), &req.username, req.password).await?;
    complete_sign_in(&state, admin, ip, &headers, "password").await
}

/// The first sign-in step without HTTP: rate limits, lockout, the password check (the same work
/// for unknown users), failures counted and audited. Returns the admin whose password matched.
pub(crate) async fn password_sign_in(
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
    let lock = crate::auth::lock_key(&username, ip.as_deref());
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

/// Record a failed sign-in or second factor under `lock` (see [`crate::auth::lock_key`]);
/// returns whether it locked the key.
async fn count_failure(state: &AppState, lock: String) -> Result<bool> {
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
pub(crate) enum SignInStep {
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
        session: crate::auth::IssuedSession,
    },
}

/// The credentials were right: ask for the second factor when TOTP is on, else open the session.
pub(crate) async fn sign_in_step(
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

/// The JSON answer of a correct first factor (password or external sign-in).
pub(crate) async fn complete_sign_in(
    state: &AppState,
    admin: db::auth::Admin,
    ip: Option<String>,
    headers: &HeaderMap,
    method: &'static str,
) -> Result<Response> {
    match sign_in_step(state, admin, ip, user_agent(headers), method).await? {
        SignInStep::SecondFactor { challenge } => {
            Ok(Json(LoginResponse::SecondFactor(SecondFactorRequired {
                second_factor_required: true,
                challenge,
                expires_in: 300,
            }))
            .into_response())
        }
        SignInStep::Done { admin, session } => Ok(signed_in(state, admin, session)),
    }
}

async fn open_session(
    state: &AppState,
    admin: &db::auth::Admin,
    ip: Option<String>,
    user_agent: Option<String>,
    method: &'static str,
) -> Result<crate::auth::IssuedSession> {
    let lock = crate::auth::lock_key(&admin.username, ip.as_deref());
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

fn signed_in(
    state: &AppState,
    admin: db::auth::Admin,
    session: crate::auth::IssuedSession,
) -> Response {
    let body = LoginResponse::Done(SignedIn {
        admin: AdminView {
            id: admin.id,
            username: admin.username,
            totp_enabled: admin.totp_secret.is_some(),
            csrf_token: session.csrf_token,
        },
    });
    with_cookie(
        Json(body).into_response(),
        &state.security().session_cookie(&session.token),
    )
}

/// The second sign-in step.
#[derive(Deserialize, ToSchema)]
struct TotpLoginRequest {
    /// The challenge from `POST /api/v1/auth/login`.
    challenge: String,
    /// A 6-digit TOTP code or an unused backup code.
    code: String,
}

fn invalid_second_factor() -> Error {
    Error::new(
        ErrorCode::InvalidSecondFactor,
        "the code is wrong or was already used, or the sign-in expired",
    )
}

/// Check a TOTP code (or, when it looks like one, a backup code) for `admin`, consuming it.
async fn consume_second_factor(
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

/// Finish sign-in with a TOTP or backup code
#[utoipa::path(
    post,
    path = "/auth/totp",
    tag = "auth",
    operation_id = "login_second_factor",
    request_body = TotpLoginRequest,
    responses(
        (status = OK, description = "Signed in", body = SignedIn,
            headers(("set-cookie" = String, description = "The session cookie"))),
        Errors<(code::CsrfFailed, code::InvalidSecondFactor, code::RateLimited)>,
    )
)]
async fn login_totp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<TotpLoginRequest>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let (admin, session) =
        second_factor_sign_in(&state, ip, user_agent(&headers), &req.challenge, &req.code).await?;
    Ok(signed_in(&state, admin, session))
}

/// The second sign-in step without HTTP: rate limit, the challenge, the TOTP or backup code
/// (consumed), then the session.
pub(crate) async fn second_factor_sign_in(
    state: &AppState,
    ip: Option<String>,
    user_agent: Option<String>,
    challenge: &str,
    code: &str,
) -> Result<(db::auth::Admin, crate::auth::IssuedSession)> {
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
    let lock = crate::auth::lock_key(&admin.username, ip.as_deref());
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

/// Sign out
///
/// Ends the current session and clears the cookie (with an API key there is nothing to end).
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout",
    responses((status = NO_CONTENT, description = "Signed out", headers(("set-cookie" = String, description = "Clears the session cookie"))))
)]
async fn logout(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    sign_out(&state, &admin).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &state.security().clear_cookie(),
    ))
}

/// End the admin's session (nothing to end for an API key) and audit it.
pub(crate) async fn sign_out(state: &AppState, admin: &Admin) -> Result<()> {
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

async fn load_admin(state: &AppState, id: i64) -> Result<db::auth::Admin> {
    state
        .db()
        .run(move |c| Ok(db::auth::admin_by_id(c, id)?))
        .await?
        .ok_or_else(|| Error::new(ErrorCode::Unauthenticated, "the admin no longer exists"))
}

/// The signed-in admin and how this request authenticated.
#[derive(Serialize, ToSchema)]
struct Me {
    /// Admin id.
    id: i64,
    /// Username.
    username: String,
    /// When the account was created.
    created_at: String,
    /// Whether sign-in asks for a second factor.
    totp_enabled: bool,
    /// Unused backup codes.
    backup_codes_left: i64,
    /// How this request authenticated.
    auth: AuthVia,
}

/// A session cookie or an API key.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum AuthVia {
    /// The session cookie.
    Session {
        /// Session id.
        session_id: i64,
        /// Send as `x-csrf-token` on changes when no `Origin` header is sent.
        csrf_token: String,
    },
    /// An API key.
    ApiKey {
        /// API key id.
        api_key_id: i64,
        /// The key's public prefix.
        prefix: String,
        /// `read` or `admin`.
        scope: &'static str,
    },
}

/// The current admin
#[utoipa::path(get, path = "/auth/me", tag = "auth", operation_id = "get_current_admin", responses((status = OK, body = Me)))]
async fn me(State(state): State<AppState>, admin: Admin) -> Result<impl IntoResponse> {
    let row = load_admin(&state, admin.id).await?;
    let id = admin.id;
    let backup_codes_left = state
        .db()
        .run(move |c| Ok(db::auth::backup_codes_left(c, id)?))
        .await?;
    let auth = match &admin.via {
        crate::auth::Via::Session { id, csrf_token } => AuthVia::Session {
            session_id: *id,
            csrf_token: csrf_token.clone(),
        },
        crate::auth::Via::ApiKey { id, prefix, scope } => AuthVia::ApiKey {
            api_key_id: *id,
            prefix: prefix.clone(),
            scope: scope.as_str(),
        },
    };
    Ok(Json(Me {
        id: row.id,
        username: row.username,
        created_at: row.created_at,
        totp_enabled: row.totp_secret.is_some(),
        backup_codes_left,
        auth,
    }))
}

/// A password change.
#[derive(Deserialize, ToSchema)]
struct PasswordChange {
    /// The current password.
    #[serde(default)]
    current_password: Option<String>,
    /// The new password (12 to 256 characters, not the username, not a common password).
    new_password: String,
}

/// The password was changed.
#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    /// Other sessions of the admin that were signed out.
    sessions_revoked: usize,
    /// API keys of the admin that were revoked (all of them, the one making the request too).
    api_keys_revoked: usize,
}

/// How recent a sign-in must be to stand in for the password, for an admin who has none (signed
/// in through a media server).
pub(crate) const STEP_UP_FRESH_MINUTES: i64 = 5;

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
/// within the last [`STEP_UP_FRESH_MINUTES`] minutes instead. Returns the admin's row.
pub(crate) async fn step_up(
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
    let lock = crate::auth::lock_key(&row.username, admin.ip.as_deref());
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

/// Change the password
///
/// Needs the current password. Signs out every other session of the admin and revokes all of
/// the admin's API keys (the one making this request too): they were issued under the old
/// password.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    operation_id = "change_password",
    request_body = PasswordChange,
    responses((status = OK, body = PasswordChanged), Errors<(code::ValidationFailed, code::StepUpRequired, code::AccountLocked)>)
)]
async fn change_password(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<PasswordChange>,
) -> Result<impl IntoResponse> {
    let row = step_up(&state, &admin, "current_password", req.current_password).await?;
    if let Err(rule) = password::check_password(&req.new_password, &row.username) {
        return Err(Error::invalid(vec![FieldError::new("new_password", rule)]));
    }
    let hash = hash_blocking(&state, req.new_password).await?;
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
    Ok(Json(PasswordChanged {
        sessions_revoked: revoked,
        api_keys_revoked: keys,
    }))
}

/// A new TOTP secret to enrol in an authenticator app.
#[derive(Serialize, ToSchema)]
struct TotpSecret {
    /// The secret, base32.
    secret: String,
    /// The `otpauth://` URI (what the QR code encodes).
    otpauth_uri: String,
    /// The QR code as an SVG document.
    qr_svg: String,
}

/// Proof for a sensitive change.
#[derive(Deserialize, ToSchema)]
pub(crate) struct StepUp {
    /// The admin's current password (see `STEP_UP_REQUIRED`).
    #[serde(default)]
    pub(crate) current_password: Option<String>,
}

/// Start enabling TOTP
///
/// Needs the current password. Creates a pending secret; it takes effect with
/// `POST /api/v1/auth/totp/confirm`.
#[utoipa::path(
    post,
    path = "/auth/totp/setup",
    tag = "auth",
    operation_id = "start_totp_setup",
    request_body = StepUp,
    responses((status = OK, body = TotpSecret), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked)>)
)]
async fn totp_setup(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<StepUp>,
) -> Result<impl IntoResponse> {
    let row = step_up(&state, &admin, "current_password", req.current_password).await?;
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
    Ok(Json(TotpSecret {
        secret: totp::base32(&secret),
        otpauth_uri: uri,
        qr_svg: svg,
    }))
}

/// A TOTP code.
#[derive(Deserialize, ToSchema)]
struct CodeRequest {
    /// The current 6-digit code.
    code: String,
}

/// TOTP is enabled.
#[derive(Serialize, ToSchema)]
struct TotpEnabled {
    /// Always `true`.
    totp_enabled: bool,
    /// Single-use backup codes, shown this once.
    backup_codes: Vec<String>,
}

/// Confirm TOTP with a first code
///
/// Enables TOTP and answers the backup codes (shown once).
#[utoipa::path(
    post,
    path = "/auth/totp/confirm",
    tag = "auth",
    operation_id = "confirm_totp",
    request_body = CodeRequest,
    responses((status = OK, body = TotpEnabled), Errors<(code::Conflict, code::ValidationFailed)>)
)]
async fn totp_confirm(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<CodeRequest>,
) -> Result<impl IntoResponse> {
    let row = load_admin(&state, admin.id).await?;
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
    let Some(step) = totp::verify(&secret, &req.code, now, None) else {
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
    Ok(Json(TotpEnabled {
        totp_enabled: true,
        backup_codes: codes.into_iter().map(|(c, _)| c).collect(),
    }))
}

/// Proof to turn TOTP off.
#[derive(Deserialize, ToSchema)]
struct DisableRequest {
    /// The admin's password.
    #[serde(default)]
    password: Option<String>,
    /// A current TOTP code or an unused backup code.
    code: String,
}

/// TOTP is disabled.
#[derive(Serialize, ToSchema)]
struct TotpDisabled {
    /// Always `false`.
    totp_enabled: bool,
}

/// Disable TOTP
#[utoipa::path(
    post,
    path = "/auth/totp/disable",
    tag = "auth",
    operation_id = "disable_totp",
    request_body = DisableRequest,
    responses((status = OK, body = TotpDisabled), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked, code::InvalidSecondFactor)>)
)]
async fn totp_disable(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<DisableRequest>,
) -> Result<impl IntoResponse> {
    let row = load_admin(&state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    let row = step_up(&state, &admin, "password", req.password).await?;
    let target = Some(format!("admin:{}", admin.id));
    if let Err(e) = consume_second_factor(&state, &row, &req.code).await {
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
    Ok(Json(TotpDisabled {
        totp_enabled: false,
    }))
}

/// Proof to replace the backup codes.
#[derive(Deserialize, ToSchema)]
struct RegenerateRequest {
    /// The admin's password.
    #[serde(default)]
    password: Option<String>,
}

/// New backup codes.
#[derive(Serialize, ToSchema)]
struct BackupCodes {
    /// Single-use backup codes, shown this once; the old ones no longer work.
    backup_codes: Vec<String>,
}

/// Replace the backup codes
#[utoipa::path(
    post,
    path = "/auth/totp/backup-codes",
    tag = "auth",
    operation_id = "regenerate_backup_codes",
    request_body = RegenerateRequest,
    responses((status = OK, body = BackupCodes), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked)>)
)]
async fn totp_backup_codes(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<RegenerateRequest>,
) -> Result<impl IntoResponse> {
    let row = load_admin(&state, admin.id).await?;
    if row.totp_secret.is_none() {
        return Err(Error::new(ErrorCode::Conflict, "TOTP is not enabled"));
    }
    step_up(&state, &admin, "password", req.password).await?;
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
    Ok(Json(BackupCodes {
        backup_codes: codes.into_iter().map(|(c, _)| c).collect(),
    }))
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
